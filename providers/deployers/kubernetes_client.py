"""The kubernetes provider's calls to the API server, through kubernetes-asyncio's `AppsV1Api`.

`connect()` builds one call's client from the settings: `apiUrl` as the host, the bearer token
read there and then (environment variable `tokenEnv`, or file `tokenFile`, rotated on disk,
both through the allow-list of `providers/deployers/secret_sources.py`), `caFile` as the CA
bundle; or else the kubeconfig read there and then
(`providers/deployers/kubernetes_kubeconfig.py`). The client, and so the token, lives only as
long as the call. Its connections follow the address rule of `providers/outbound/addresses.py`:
a literal address (of the server or a proxy) is checked before connecting, and names are
resolved by a resolver that checks every address, the one aiohttp connects with. A refusal is
told by its status only (kubernetes-asyncio's own `ApiException` text, which carries the
answer's headers and body, is never passed on, nor the body). GETs are retried as
`providers/deployers/retries.py` says; a PATCH is tried once.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Protocol, TypeVar

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from kubernetes_asyncio.client import (
    ApiClient,
    ApiException,
    AppsV1Api,
    Configuration,
    V1Deployment,
    V1ReplicaSet,
)

from domain.deployments.model import ProviderError
from providers.deployers.http_errors import http_status
from providers.deployers.kubernetes_kubeconfig import KubeconfigSettings, kubeconfig_client
from providers.deployers.retries import (
    Backoff,
    TransientFailure,
    call_with_retries,
    status_failure,
)
from providers.deployers.secret_sources import SecretSources
from providers.deployers.settings import ProviderPolicy
from providers.outbound.addresses import AddressRule, RefusedAddress

T = TypeVar("T")
Patch = dict[str, Any] | list[dict[str, Any]]
"""A strategic merge patch (an object) or a JSON patch (a list of operations)."""


class ClusterConnection(KubeconfigSettings, Protocol):
    """What `connected()` needs of the adapter's settings: a kubeconfig's, or these."""

    @property
    def api_url(self) -> str | None: ...
    @property
    def token_env(self) -> str | None: ...
    @property
    def token_file(self) -> str | None: ...
    @property
    def ca_file(self) -> str | None: ...


class Connection(ClusterConnection, Protocol):
    """What `connect()` needs of the adapter's settings."""

    @property
    def namespace(self) -> str: ...
    @property
    def timeout_seconds(self) -> float: ...


class NotFound(ProviderError):
    """The API server answered 404."""


@asynccontextmanager
async def connect(
    settings: Connection, policy: ProviderPolicy, backoff: Backoff
) -> AsyncIterator[KubernetesApi]:
    """One call's client for Deployments and ReplicaSets."""
    async with connected(settings, policy) as client:
        yield KubernetesApi(client, settings, backoff)


@asynccontextmanager
async def connected(
    settings: ClusterConnection, policy: ProviderPolicy
) -> AsyncIterator[ApiClient]:
    """One call's kubernetes-asyncio client, through `apiUrl` and its token or else through the
    kubeconfig, connecting only where the policy's address rule allows; closed afterwards."""
    if settings.api_url is None:
        client = await kubeconfig_client(settings, policy.secrets)
    else:
        client = _api_url_client(settings, settings.api_url, policy.secrets)
    try:
        _check_addresses(client, policy.addresses)
        yield client
    finally:
        await client.close()


def _check_addresses(client: ApiClient, rule: AddressRule) -> None:
    """Have the client connect only where `rule` allows: literal addresses now, names as
    they are resolved (aiohttp skips the resolver for literal addresses)."""
    configuration = client.configuration
    for url in (configuration.host, configuration.proxy):
        if url:
            try:
                rule.check_url(url)
            except RefusedAddress as refused:
                raise ProviderError(f"kubernetes: not connecting: {refused}") from None
    connector = client.rest_client.pool_manager.connector
    if not isinstance(connector, aiohttp.TCPConnector) or not hasattr(connector, "_resolver"):
        raise ProviderError("kubernetes: the client's connections cannot be checked")
    # kubernetes-asyncio builds its TCPConnector itself, and aiohttp takes a resolver only in
    # the connector's constructor: set it on the connector, before any connection.
    connector._resolver = _CheckedResolver(rule)


class _CheckedResolver(AbstractResolver):
    """Resolves as the event loop does; every address is checked by the rule."""

    def __init__(self, rule: AddressRule) -> None:
        self._rule = rule

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = await self._rule.addresses(host, port, family)
        return [
            ResolveResult(
                hostname=host,
                host=str(address),
                port=port,
                family=socket.AF_INET if address.version == 4 else socket.AF_INET6,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in addresses
        ]

    async def close(self) -> None:
        return None


def _api_url_client(settings: ClusterConnection, api_url: str, secrets: SecretSources) -> ApiClient:
    token = read_token(settings, secrets)
    configuration = Configuration(
        host=api_url,
        api_key={"BearerToken": token},
        api_key_prefix={"BearerToken": "Bearer"},
        ssl_ca_cert=settings.ca_file,
    )
    try:
        client = ApiClient(configuration)
    except (OSError, ssl.SSLError) as error:
        raise ProviderError(
            f"kubernetes caFile {settings.ca_file} cannot be used ({type(error).__name__})"
        ) from None
    return client


class KubernetesApi:
    """One call's client: reads and patches Deployments and lists ReplicaSets in the
    configured namespace."""

    def __init__(self, client: ApiClient, settings: Connection, backoff: Backoff) -> None:
        self._client = client
        self._apps = AppsV1Api(client)
        self._namespace = settings.namespace
        self._timeout = settings.timeout_seconds
        self._backoff = backoff

    def __repr__(self) -> str:
        return f"KubernetesApi(namespace={self._namespace!r})"

    async def read_deployment(self, name: str) -> V1Deployment:
        what = f"GET deployment {self._namespace}/{name}"

        async def read() -> V1Deployment:
            found: V1Deployment = await self._apps.read_namespaced_deployment(
                name, self._namespace, _request_timeout=self._timeout
            )
            return found

        return _checked(await self._call(what, read, idempotent=True), "Deployment", what)

    async def patch_deployment(self, name: str, patch: Patch) -> V1Deployment:
        """A strategic merge patch for an object, a JSON patch for a list of operations."""
        what = f"PATCH deployment {self._namespace}/{name}"

        async def send() -> V1Deployment:
            patched: V1Deployment = await self._apps.patch_namespaced_deployment(
                name, self._namespace, patch, _request_timeout=self._timeout
            )
            return patched

        return _checked(await self._call(what, send, idempotent=False), "Deployment", what)

    async def replica_sets(self, label_selector: str) -> list[V1ReplicaSet]:
        what = f"GET replicasets in {self._namespace} ({label_selector})"

        async def read() -> list[V1ReplicaSet]:
            found = await self._apps.list_namespaced_replica_set(
                self._namespace, label_selector=label_selector, _request_timeout=self._timeout
            )
            if found.kind != "ReplicaSetList":
                raise ProviderError(f"kubernetes {what}: the answer is not a ReplicaSetList")
            return list(found.items or [])

        return await self._call(what, read, idempotent=True)

    def as_json(self, model: object) -> Any:
        """A kubernetes-asyncio model as the API's JSON (camelCase keys, unset fields left
        out), to send back in a patch."""
        return self._client.sanitize_for_serialization(model)

    async def _call(self, what: str, call: Callable[[], Awaitable[T]], *, idempotent: bool) -> T:
        return await api_call(
            what, call, idempotent=idempotent, within=self._timeout, backoff=self._backoff
        )


async def api_call(
    what: str,
    call: Callable[[], Awaitable[T]],
    *,
    idempotent: bool,
    within: float,
    backoff: Backoff,
) -> T:
    """`call()`'s answer, each attempt bounded by `within` seconds, tried again as
    `providers/deployers/retries.py` says when `idempotent`. A refusal is a `ProviderError`
    (`NotFound` for 404) told by its status only, named `kubernetes <what>`."""

    async def attempt() -> T:
        try:
            async with asyncio.timeout(within):
                return await call()
        except ApiException as error:
            raise _failure(error, what) from None
        except TimeoutError:
            raise TransientFailure.no_answer(within) from None
        except aiohttp.ClientError as error:
            raise TransientFailure.connection_failed(error) from None
        except RefusedAddress:
            raise  # told by call_with_retries
        except (ValueError, TypeError):
            # kubernetes-asyncio could not read the answer into its models.
            raise ProviderError(f"kubernetes {what}: the answer cannot be read") from None

    return await call_with_retries(
        attempt, what=f"kubernetes {what}", idempotent=idempotent, backoff=backoff
    )


def _failure(error: ApiException, what: str) -> Exception:
    # The answer's body (a Status object) is not quoted: status messages are shown to every
    # reader, and bodies may name anything.
    def refused(status: int) -> ProviderError:
        text = f"kubernetes API refused {what}: {http_status(status)}"
        return NotFound(text) if status == 404 else ProviderError(text)

    return status_failure(int(error.status or 0), refused)


def read_token(settings: ClusterConnection, secrets: SecretSources) -> str:
    if settings.token_env is not None:
        try:
            token = secrets.read_env(settings.token_env).strip()
        except ValueError as refused:
            raise ProviderError(f"kubernetes tokenEnv {settings.token_env}: {refused}") from None
        if not token:
            raise ProviderError(
                f"kubernetes token: environment variable {settings.token_env} is not set"
            )
        return token
    path = settings.token_file or ""
    try:
        token = secrets.read_file(path).strip()
    except (OSError, UnicodeDecodeError) as error:
        raise ProviderError(
            f"kubernetes tokenFile {path} cannot be read ({type(error).__name__})"
        ) from None
    except ValueError as refused:
        raise ProviderError(f"kubernetes tokenFile {path}: {refused}") from None
    if not token:
        raise ProviderError(f"kubernetes tokenFile {path} is empty")
    return token


def _checked(deployment: V1Deployment, kind: str, what: str) -> V1Deployment:
    if deployment.kind != kind:
        raise ProviderError(f"kubernetes {what}: the answer is not a {kind}")
    return deployment
