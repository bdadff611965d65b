"""The settings that reach a Kubernetes cluster, shared by the adapters that talk to one (the
kubernetes deployer, the crossplane provisioner), and the rule of their name templates.

The cluster is reached one way, either
- `apiUrl` (https, with `caFile` for a private CA; http only on a loopback address, e.g.
  `kubectl proxy`) with `tokenEnv` or `tokenFile` (where the bearer token is read at each call),
  or
- a kubeconfig, read at each call: `kubeconfigFile` or `kubeconfigEnv`, and `context`
  (`providers/deployers/kubernetes_kubeconfig.py`). `apiUrl`, `tokenEnv`, `tokenFile` and
  `caFile` are refused beside a kubeconfig.

Secrets come only from the allow-list of `providers/deployers/secret_sources.py`, and `apiUrl`
follows the address rule of `providers/outbound/addresses.py` when saved (and, like the
kubeconfig's server, when connecting: `providers/deployers/kubernetes_client.py`).
"""

from __future__ import annotations

import string
from typing import Any, Final

from pydantic import Field, ValidationInfo, field_validator, model_validator

from providers.deployers.http_errors import origin
from providers.deployers.kubernetes_kubeconfig import check_server_url
from providers.deployers.settings import AdapterSettings, outbound_url, secret_env, secret_file

__all__ = ["ENV_NAME", "LABEL", "ClusterSettings", "check_template"]

LABEL: Final = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
"""A DNS label (RFC 1123), as namespaces and most Kubernetes names are."""
ENV_NAME: Final = r"^[A-Za-z_][A-Za-z0-9_]*$"
_NOT_WITH_A_KUBECONFIG: Final = (
    "not with kubeconfigFile or kubeconfigEnv: the kubeconfig gives the server and credentials"
)


class ClusterSettings(AdapterSettings):
    """How to reach the cluster; adapters add their own settings after these."""

    # The kubeconfig's settings come first: the others are checked against them.
    kubeconfig_file: str | None = Field(default=None, min_length=1, max_length=4096)
    kubeconfig_env: str | None = Field(default=None, pattern=ENV_NAME, max_length=200)
    context: str | None = Field(default=None, min_length=1, max_length=253)
    api_url: str | None = None
    token_file: str | None = Field(default=None, min_length=1, max_length=4096)
    token_env: str | None = Field(default=None, pattern=ENV_NAME, max_length=200)
    ca_file: str | None = Field(default=None, min_length=1, max_length=4096)

    @model_validator(mode="before")
    @classmethod
    def _absent_ones_checked(cls, data: Any) -> Any:
        """Have `apiUrl` and `tokenEnv` validated (and so named) when they are not given."""
        if isinstance(data, dict):
            return {"apiUrl": None, "tokenEnv": None, **data}
        return data

    @field_validator("kubeconfig_env")
    @classmethod
    def _one_kubeconfig(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and info.data.get("kubeconfig_file") is not None:
            raise ValueError("set kubeconfigFile or kubeconfigEnv, not both")
        return value

    @field_validator("context")
    @classmethod
    def _context_of_a_kubeconfig(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and _uses_kubeconfig(info) is False:
            raise ValueError("names a kubeconfig's context: set kubeconfigFile or kubeconfigEnv")
        if value is not None and not value.isprintable():
            raise ValueError("must be printable")
        return value

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        kubeconfig = _uses_kubeconfig(info)
        if value is None:
            if kubeconfig is False:
                raise ValueError(
                    "apiUrl (with tokenEnv or tokenFile) or a kubeconfig (kubeconfigFile or "
                    "kubeconfigEnv) is required"
                )
            return value
        if kubeconfig:
            raise ValueError(_NOT_WITH_A_KUBECONFIG)
        return outbound_url(check_server_url(value, credentials="use tokenEnv or tokenFile"), info)

    @field_validator("token_file", "ca_file")
    @classmethod
    def _not_with_a_kubeconfig(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and _uses_kubeconfig(info):
            raise ValueError(_NOT_WITH_A_KUBECONFIG)
        return value

    @field_validator("token_env")
    @classmethod
    def _one_token(cls, value: str | None, info: ValidationInfo) -> str | None:
        kubeconfig = _uses_kubeconfig(info)
        if kubeconfig or kubeconfig is None:
            if value is not None and kubeconfig:
                raise ValueError(_NOT_WITH_A_KUBECONFIG)
            return value
        if "token_file" not in info.data:
            return value  # tokenFile itself is at fault and reported
        has_file = info.data["token_file"] is not None
        if value is None and not has_file:
            raise ValueError("tokenEnv or tokenFile is required")
        if value is not None and has_file:
            raise ValueError("set tokenEnv or tokenFile, not both")
        return value

    # After the checks above: a setting out of place is told so first.
    @field_validator("kubeconfig_file", "token_file")
    @classmethod
    def _allowed_file(cls, value: str | None, info: ValidationInfo) -> str | None:
        return secret_file(value, info)

    @field_validator("kubeconfig_env", "token_env")
    @classmethod
    def _allowed_variable(cls, value: str | None, info: ValidationInfo) -> str | None:
        return secret_env(value, info)

    def destinations(self) -> tuple[tuple[str, str], ...]:
        """The kubeconfig's server is read (and checked) at each call."""
        return (("apiUrl", self.api_url),) if self.api_url is not None else ()

    def where(self) -> str:
        """How the cluster is reached, for an adapter's repr (no secret, no path of a URL)."""
        if self.api_url is not None:
            where = f"apiUrl={origin(self.api_url)!r}"
        elif self.kubeconfig_env is not None:
            where = f"kubeconfigEnv={self.kubeconfig_env!r}"
        else:
            where = f"kubeconfigFile={self.kubeconfig_file!r}"
        if self.context is not None:
            where += f", context={self.context!r}"
        return where


def check_template(value: str, *, allowed: set[str], required: set[str]) -> None:
    """`ValueError` unless `value` is a `str.format` template using only the `allowed`
    fields (plainly: no format spec, no conversion), each `required` one exactly once."""
    try:
        parts = list(string.Formatter().parse(value))
    except ValueError:
        raise ValueError("unbalanced braces") from None
    seen: list[str] = []
    for _, field, spec, conversion in parts:
        if field is None:
            continue
        if field not in allowed or spec or conversion:
            names = ", ".join("{" + name + "}" for name in sorted(allowed))
            raise ValueError(f"may only use {names}")
        seen.append(field)
    for name in sorted(required):
        if seen.count(name) != 1:
            raise ValueError(f"must use {{{name}}} exactly once")


def _uses_kubeconfig(info: ValidationInfo) -> bool | None:
    """Whether the settings reach the cluster through a kubeconfig; None when a kubeconfig
    setting is itself at fault (and reported)."""
    if "kubeconfig_file" not in info.data or "kubeconfig_env" not in info.data:
        return None
    return info.data["kubeconfig_file"] is not None or info.data["kubeconfig_env"] is not None
