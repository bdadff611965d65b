"""The kubernetes provider's way to a cluster through a kubeconfig, loaded by kubernetes-asyncio's
own `KubeConfigLoader`, and the rule every API server URL follows.

`kubeconfig_client()` reads the kubeconfig there and then, at each call (kubeconfigs rotate):
the file `kubeconfigFile`, or the YAML text held by the environment variable `kubeconfigEnv`,
both through the allow-list of `providers/deployers/secret_sources.py`.
It takes the context named by `context` (default: the kubeconfig's `current-context`), and from
it the cluster's `server`, `certificate-authority` or `certificate-authority-data`,
`tls-server-name` and `proxy-url`, and the user's `token` or `tokenFile`, or
`client-certificate(-data)` with `client-key(-data)`. Relative file names resolve against the
kubeconfig file's directory (for `kubeconfigEnv`: the working directory).

Refused, with a `ProviderError` naming the context: users with an `exec` plugin or an
`auth-provider` (gcp, oidc, ...), which run commands or call identity providers over the network
at each call and can hang or prompt; clusters with `insecure-skip-tls-verify`; and a `server`
that `apiUrl` would refuse (https, http only on a loopback address, no credentials; its address
is checked as it is connected to, `providers/deployers/kubernetes_client.py`).

Nothing read from the kubeconfig is kept beyond the call: `*-data` certificates and keys are
written to a private temporary directory only until the client's TLS context has read them.
No error carries the kubeconfig's contents: the loader's and YAML parser's messages may quote
them, so only their exception type is passed on.
"""

from __future__ import annotations

import base64
import binascii
import os
import ssl
import tempfile
from typing import Any, Protocol
from urllib.parse import urlsplit

import yaml
from kubernetes_asyncio.client import ApiClient, Configuration
from kubernetes_asyncio.config.kube_config import KubeConfigLoader

from domain.deployments.model import ProviderError
from providers.deployers.secret_sources import SecretSources
from providers.deployers.settings import is_loopback

__all__ = ["KubeconfigSettings", "check_server_url", "kubeconfig_client", "kubeconfig_source"]

_FILES = (
    ("cluster", "certificate-authority"),
    ("user", "client-certificate"),
    ("user", "client-key"),
)
"""The kubeconfig's `<name>` / `<name>-data` pairs, by the section that holds them."""


class KubeconfigSettings(Protocol):
    """What `kubeconfig_client()` needs of the adapter's settings."""

    @property
    def kubeconfig_file(self) -> str | None: ...
    @property
    def kubeconfig_env(self) -> str | None: ...
    @property
    def context(self) -> str | None: ...


def check_server_url(value: str, *, credentials: str) -> str:
    """`value` without a trailing slash, if it may be an API server's URL: https, or http on a
    loopback address (e.g. `kubectl proxy`); no user info, query or fragment. The `ValueError`s
    never repeat the URL; `credentials` says where credentials go instead."""
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError("must be an https URL")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ValueError("must be an https URL (http only on loopback, e.g. kubectl proxy)")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"must not carry credentials; {credentials}")
    if parts.query or parts.fragment:
        raise ValueError("must not have a query or a fragment")
    return value.rstrip("/")


def kubeconfig_source(settings: KubeconfigSettings) -> str:
    """The setting the kubeconfig comes from, as messages name it."""
    if settings.kubeconfig_env is not None:
        return f"kubeconfigEnv {settings.kubeconfig_env}"
    return f"kubeconfigFile {settings.kubeconfig_file}"


async def kubeconfig_client(settings: KubeconfigSettings, secrets: SecretSources) -> ApiClient:
    """One call's client, from the kubeconfig read now."""
    where = kubeconfig_source(settings)
    text, base_path = _read(settings, secrets, where)
    document = _parse(text, where)
    context, cluster, user = _selected(document, settings.context, where)
    _check(context, cluster, user, where)
    configuration = Configuration()
    with tempfile.TemporaryDirectory(prefix="paved-kubeconfig-") as directory:
        _write_data(context, {"cluster": cluster, "user": user}, directory, where)
        try:
            loader = KubeConfigLoader(
                document,
                active_context=context,
                config_base_path=base_path,
                temp_file_path=directory,
            )
            await loader.load_and_set(configuration)
        except Exception as error:  # the loader's messages may quote the kubeconfig
            raise _unusable(where, error) from None
        try:
            client = ApiClient(configuration)
        except (OSError, ssl.SSLError, ValueError) as error:
            raise ProviderError(
                f"kubernetes {where}: the certificates of context {_name(context)} cannot be "
                f"used ({type(error).__name__})"
            ) from None
    # The client's TLS context has read the certificate files, which are gone now.
    return client


def _read(settings: KubeconfigSettings, secrets: SecretSources, where: str) -> tuple[str, str]:
    """The kubeconfig's text, and the directory its relative file names start from."""
    if settings.kubeconfig_env is not None:
        try:
            text = secrets.read_env(settings.kubeconfig_env)
        except ValueError as refused:
            raise ProviderError(f"kubernetes {where}: {refused}") from None
        if not text.strip():
            raise ProviderError(
                f"kubernetes kubeconfig: environment variable {settings.kubeconfig_env} is not set"
            )
        return text, ""
    path = settings.kubeconfig_file or ""
    try:
        text = secrets.read_file(path)
    except (OSError, UnicodeDecodeError) as error:
        raise ProviderError(f"kubernetes {where} cannot be read ({type(error).__name__})") from None
    except ValueError as refused:
        raise ProviderError(f"kubernetes {where}: {refused}") from None
    return text, os.path.dirname(os.path.abspath(path))


def _parse(text: str, where: str) -> dict[str, Any]:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise ProviderError(
            f"kubernetes {where} cannot be used ({type(error).__name__}{line})"
        ) from None
    if not isinstance(document, dict):
        raise ProviderError(f"kubernetes {where} is not a kubeconfig")
    return document


def _selected(
    document: dict[str, Any], wanted: str | None, where: str
) -> tuple[str, dict[str, Any], dict[str, Any] | None]:
    """The context's name, its cluster and its user (none when it names none, as for the
    loader)."""
    context = wanted if wanted is not None else document.get("current-context")
    if not isinstance(context, str) or not context:
        raise ProviderError(
            f"kubernetes {where} has no current-context; name one in the context setting"
        )
    entry = _named(document, "contexts", context, where)
    if entry is None or not isinstance(entry.get("context"), dict):
        raise ProviderError(f"kubernetes {where} has no context {_name(context)}")
    names = entry["context"]
    cluster = _named(document, "clusters", names.get("cluster"), where)
    if cluster is None or not isinstance(cluster.get("cluster"), dict):
        raise ProviderError(
            f"kubernetes {where}: context {_name(context)} names no cluster of the kubeconfig"
        )
    user = _named(document, "users", names.get("user"), where) if names.get("user") else None
    found = user.get("user") if user is not None else None
    return context, cluster["cluster"], found if isinstance(found, dict) else None


def _named(document: dict[str, Any], key: str, name: object, where: str) -> dict[str, Any] | None:
    entries = document.get(key) or []
    if not isinstance(entries, list):
        raise ProviderError(f"kubernetes {where}: {key} is not a list")
    for entry in entries:
        if isinstance(entry, dict) and entry.get("name") == name:
            return entry
    return None


def _check(context: str, cluster: dict[str, Any], user: dict[str, Any] | None, where: str) -> None:
    of_context = f"kubernetes {where}: context {_name(context)}"
    server = cluster.get("server")
    if not isinstance(server, str) or not server:
        raise ProviderError(f"{of_context} has a cluster without a server")
    try:
        check_server_url(server, credentials="give them as the user of the context")
    except ValueError as error:
        raise ProviderError(f"{of_context}: the cluster's server {error}") from None
    if cluster.get("insecure-skip-tls-verify"):
        raise ProviderError(
            f"{of_context}: the cluster sets insecure-skip-tls-verify, which is refused; give "
            "its certificate-authority instead"
        )
    if user is not None and ("exec" in user or "auth-provider" in user):
        plugin = "an exec plugin" if "exec" in user else "an auth-provider"
        raise ProviderError(
            f"{of_context}: the user authenticates with {plugin}, which this provider does not "
            "run; give the user a token, tokenFile or client certificate"
        )


def _write_data(
    context: str, sections: dict[str, dict[str, Any] | None], directory: str, where: str
) -> None:
    """Each `<name>-data` of the context's cluster and user decoded into a file of `directory`
    (readable by this user only), named by `<name>` instead."""
    for section_name, name in _FILES:
        section = sections[section_name]
        if section is None or f"{name}-data" not in section:
            continue
        data = section.pop(f"{name}-data")
        try:
            content = base64.standard_b64decode(str(data or ""))
        except (binascii.Error, ValueError):
            raise ProviderError(
                f"kubernetes {where}: {name}-data of context {_name(context)} is not base64"
            ) from None
        if not content:
            continue
        path = os.path.join(directory, name)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
        section[name] = path


def _unusable(where: str, error: Exception) -> ProviderError:
    return ProviderError(f"kubernetes {where} cannot be used ({type(error).__name__})")


def _name(name: str) -> str:
    return repr(name if len(name) <= 100 else name[:99] + "…")
