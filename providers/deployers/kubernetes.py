"""The kubernetes provider: sets a container's image on a Deployment and follows the rollout.

It talks to the API server's REST API with httpx rather than through kubernetes-asyncio: it
needs three calls on one resource (GET and PATCH of `apps/v1` Deployments), so one small client
does, without a heavy generated dependency and its kubeconfig machinery.

- `start()` reads the Deployment, then sets the image (the `image` template with the service
  and version) on the container (`container`, else the one named like the Deployment, else the
  first) with a strategic merge patch, and records the cause in the `kubernetes.io/change-cause`
  annotation (what `kubectl rollout history` shows). The external id is
  `<namespace>/<name>@<metadata.generation after the patch>`. Setting an image that is already
  set changes no generation, so starting a deployment again is the same rollout.
- `poll()` reads the Deployment: SUCCEEDED once the controller observed that generation and
  every replica is updated and available with no old ones left; FAILED when its `Progressing`
  condition says `ProgressDeadlineExceeded`, or when the container's image was changed by
  someone else meanwhile; IN_PROGRESS otherwise (`rawStatus` like `2/3 updated, 1/3
  available`). An outcome, once seen, is kept.
- Rollback deploys the earlier version's image like any deployment (a ROLLBACK request carries
  that version): Deployments have no rollback endpoint since `extensions/v1beta1` went away,
  and `kubectl rollout undo` itself just copies an old ReplicaSet's template back.
- Cancel is not supported (pausing a Deployment would leave it half rolled out).
- `live_status()` reads the Deployment: HEALTHY when every replica is available, PROGRESSING
  during a rollout, DEGRADED when replicas are missing or the deadline passed, SUSPENDED when
  paused or scaled to zero, MISSING when there is no such Deployment; the version comes from
  the container's image.

The bearer token is read at each call from the environment variable named by `tokenEnv` or the
file named by `tokenFile` (service-account tokens are rotated on disk), never kept, and
redacted from every message. `apiUrl` must be https (with `caFile` for a private CA), except
on a loopback address (`kubectl proxy`, a local sidecar). Only GETs are retried (at most 3
attempts with backoff, on connection errors, timeouts, 429 and 5xx); a PATCH is tried once.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import re
import ssl
import string
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx2 as httpx
from pydantic import Field, ValidationInfo, field_validator, model_validator

from providers.deployers.settings import AdapterSettings, parse_settings
from providers.deployments import (
    DeploymentState,
    DeployRequest,
    Health,
    LiveStatus,
    ProviderCapability,
    ProviderError,
    ProviderUpdate,
)

KIND = "kubernetes"
MAX_ATTEMPTS = 3
CHANGE_CAUSE = "kubernetes.io/change-cause"
PATCH_CONTENT_TYPE = "application/strategic-merge-patch+json"

_MAX_REMEMBERED = 10_000
_RETRIED_STATUSES = frozenset({429})
_TERMINAL = frozenset({DeploymentState.SUCCEEDED, DeploymentState.FAILED})
_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
_SAMPLE = {"service": "svc", "version": "1.0.0"}

logger = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class KubernetesSettings(AdapterSettings):
    api_url: str
    token_file: str | None = Field(default=None, min_length=1, max_length=4096)
    token_env: str | None = Field(default=None, pattern=_ENV_NAME, max_length=200)
    ca_file: str | None = Field(default=None, min_length=1, max_length=4096)
    namespace: str = Field(pattern=_LABEL, max_length=63)
    deployment_name: str = Field(default="{service}", min_length=1, max_length=253)
    container: str | None = Field(default=None, pattern=_LABEL, max_length=63)
    image: str = Field(min_length=1, max_length=500)
    timeout_seconds: float = Field(default=10.0, gt=0, le=60)

    @model_validator(mode="before")
    @classmethod
    def _token_env_checked(cls, data: Any) -> Any:
        """Have `tokenEnv` validated (and so named) when neither token setting is given."""
        if isinstance(data, dict) and "tokenEnv" not in data and "tokenFile" not in data:
            return {**data, "tokenEnv": None}
        return data

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("must be an https URL")
        if parts.scheme == "http" and not _is_loopback(parts.hostname):
            raise ValueError("must be an https URL (http only on loopback, e.g. kubectl proxy)")
        if parts.username is not None or parts.password is not None:
            raise ValueError("must not carry credentials; use tokenEnv or tokenFile")
        if parts.query or parts.fragment:
            raise ValueError("must not have a query or a fragment")
        return value.rstrip("/")

    @field_validator("token_env")
    @classmethod
    def _one_token(cls, value: str | None, info: ValidationInfo) -> str | None:
        if "token_file" not in info.data:
            return value  # tokenFile itself is at fault and reported
        has_file = info.data["token_file"] is not None
        if value is None and not has_file:
            raise ValueError("tokenEnv or tokenFile is required")
        if value is not None and has_file:
            raise ValueError("set tokenEnv or tokenFile, not both")
        return value

    @field_validator("deployment_name")
    @classmethod
    def _name_template(cls, value: str) -> str:
        _check_template(value, allowed={"service"}, required=set())
        if not _SUBDOMAIN.match(value.format(**_SAMPLE)):
            raise ValueError("must give a Kubernetes name (lowercase letters, digits, '-', '.')")
        return value

    @field_validator("image")
    @classmethod
    def _image_template(cls, value: str) -> str:
        _check_template(value, allowed={"service", "version"}, required={"version"})
        if any(char.isspace() for char in value):
            raise ValueError("must not contain whitespace")
        return value


class KubernetesDeployer:
    kind: str = KIND
    capabilities: frozenset[ProviderCapability] = frozenset(
        {ProviderCapability.DEPLOY, ProviderCapability.ROLLBACK, ProviderCapability.LIVE_STATUS}
    )

    def __init__(
        self,
        settings: Mapping[str, Any],
        *,
        clock: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
        backoff_seconds: float = 0.5,
    ) -> None:
        self._settings = parse_settings(KubernetesSettings, KIND, settings)
        self._clock = clock
        self._sleep = sleep
        self._backoff = backoff_seconds
        self._outcomes: OrderedDict[str, ProviderUpdate] = OrderedDict()

    def __repr__(self) -> str:
        return (
            f"KubernetesDeployer(apiUrl={_origin(self._settings.api_url)!r}, "
            f"namespace={self._settings.namespace!r})"
        )

    async def start(self, request: DeployRequest) -> ProviderUpdate:
        name = self._name(request.service_slug)
        image = self._image(request.service_slug, request.version)
        cause = (
            f"paved deployment {request.deployment_id}: {request.kind.value.lower()} "
            f"{request.service_slug} {request.version}"
        )
        async with self._api() as api:
            deployment = await api.get(name)
            container = self._container(deployment, name)
            patch = {
                "metadata": {"annotations": {CHANGE_CAUSE: cause}},
                "spec": {
                    "template": {"spec": {"containers": [{"name": container, "image": image}]}}
                },
            }
            patched = await api.patch(name, patch)
        generation = _number(_dict(patched.get("metadata")).get("generation"))
        external_id = f"{self._settings.namespace}/{name}@{generation}"
        known = self._outcomes.get(external_id)
        if known is not None:
            return known
        return self._remember(_rollout(patched, generation, container, image, external_id))

    async def poll(self, request: DeployRequest, external_id: str | None) -> ProviderUpdate:
        if external_id is not None and external_id in self._outcomes:
            return self._outcomes[external_id]
        name = self._name(request.service_slug)
        image = self._image(request.service_slug, request.version)
        async with self._api() as api:
            deployment = await api.get(name)
        prefix = f"{self._settings.namespace}/{name}@"
        generation: int | None = None
        if external_id is not None and external_id.startswith(prefix):
            tail = external_id.removeprefix(prefix)
            generation = int(tail) if tail.isdigit() else None
        if generation is None:
            generation = _number(_dict(deployment.get("metadata")).get("generation"))
        container = self._container(deployment, name)
        followed = f"{prefix}{generation}"
        return self._remember(_rollout(deployment, generation, container, image, followed))

    async def cancel(self, request: DeployRequest, external_id: str | None) -> ProviderUpdate:
        raise ProviderError(
            "the kubernetes provider cannot cancel a rollout; roll back to the previous version"
        )

    async def live_status(
        self, service_slug: str, environment_slug: str, settings: Mapping[str, Any]
    ) -> LiveStatus | None:
        name = self._name(service_slug)
        async with self._api() as api:
            try:
                deployment = await api.get(name)
            except _NotFound:
                observed_at = datetime.fromtimestamp(self._clock(), UTC)
                message = f"no deployment {self._settings.namespace}/{name}"
                return LiveStatus(Health.MISSING, observed_at, KIND, message=message)
        observed_at = datetime.fromtimestamp(self._clock(), UTC)
        found = self._find(deployment, name)
        version = self._version(service_slug, found.get("image")) if found else None
        return _health(deployment, observed_at, version)

    # --- helpers ------------------------------------------------------------------------

    def _name(self, service: str) -> str:
        name = self._settings.deployment_name.format(service=service)
        if len(name) > 253 or not _SUBDOMAIN.match(name):
            raise ProviderError(
                f"deploymentName gives {name[:60]!r} for service {service[:60]!r}, "
                "which is not a Kubernetes name"
            )
        return name

    def _image(self, service: str, version: str) -> str:
        if not version or any(char.isspace() or not char.isprintable() for char in version):
            raise ProviderError(f"version {version[:60]!r} cannot be part of an image reference")
        return self._settings.image.format(service=service, version=version)

    def _container(self, deployment: Mapping[str, Any], name: str) -> str:
        wanted = self._settings.container
        found = self._find(deployment, name)
        if found is None:
            where = f"deployment {self._settings.namespace}/{name}"
            raise ProviderError(
                f"{where} has no container {wanted!r}" if wanted else f"{where} has no container"
            )
        return str(found.get("name", ""))

    def _find(self, deployment: Mapping[str, Any], name: str) -> dict[str, Any] | None:
        """The `container` setting's container; without it, the one named like the
        Deployment, else the first."""
        wanted = self._settings.container
        return _find_container(deployment, wanted or name, first=wanted is None)

    def _version(self, service: str, image: object) -> str | None:
        if not isinstance(image, str) or not image:
            return None
        pattern = "".join(
            re.escape(literal)
            + {"service": re.escape(service), "version": "(?P<version>.+)", None: ""}[field]
            for literal, field, _, _ in string.Formatter().parse(self._settings.image)
        )
        matched = re.fullmatch(pattern, image)
        if matched:
            return matched.group("version")
        reference = image.split("@", 1)[0]
        last = reference.rsplit("/", 1)[-1]
        return last.rsplit(":", 1)[1] if ":" in last else None

    def _remember(self, update: ProviderUpdate) -> ProviderUpdate:
        if update.state in _TERMINAL and update.external_id is not None:
            self._outcomes[update.external_id] = update
            if len(self._outcomes) > _MAX_REMEMBERED:
                self._outcomes.popitem(last=False)
        return update

    @asynccontextmanager
    async def _api(self) -> AsyncIterator[_Api]:
        settings = self._settings
        token = _token(settings)
        verify: ssl.SSLContext | bool = True
        if settings.ca_file is not None:
            try:
                verify = ssl.create_default_context(cafile=settings.ca_file)
            except (OSError, ssl.SSLError) as error:
                raise ProviderError(
                    f"kubernetes caFile {settings.ca_file} cannot be used ({type(error).__name__})"
                ) from None
        async with httpx.AsyncClient(
            timeout=settings.timeout_seconds, verify=verify, follow_redirects=False
        ) as client:
            yield _Api(client, token, self)


class _NotFound(ProviderError):
    pass


class _Api:
    """One call's connection to the API server; holds the token only for that call."""

    def __init__(self, client: httpx.AsyncClient, token: str, deployer: KubernetesDeployer):
        self._client = client
        self._token = token
        self._deployer = deployer
        settings = deployer._settings
        self._base = f"{settings.api_url}/apis/apps/v1/namespaces/{settings.namespace}/deployments"
        self._namespace = settings.namespace
        self._timeout = settings.timeout_seconds

    def __repr__(self) -> str:
        return "_Api()"

    async def get(self, name: str) -> dict[str, Any]:
        what = f"GET deployment {self._namespace}/{name}"
        problem = ""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                response = await self._send("GET", name)
            except _Unanswered as unanswered:
                problem = unanswered.problem
            else:
                status = response.status_code
                if status == 200:
                    return _json_object(response, what)
                if status < 500 and status not in _RETRIED_STATUSES:
                    raise self._refusal(response, what)
                problem = f"HTTP {status}{_reason(response)}"
            logger.warning("kubernetes %s attempt %d/%d: %s", what, attempt, MAX_ATTEMPTS, problem)
            if attempt < MAX_ATTEMPTS:
                await self._deployer._sleep(self._deployer._backoff * 2 ** (attempt - 1))
        raise ProviderError(f"kubernetes {what} failed after {MAX_ATTEMPTS} attempts: {problem}")

    async def patch(self, name: str, patch: Mapping[str, Any]) -> dict[str, Any]:
        what = f"PATCH deployment {self._namespace}/{name}"
        try:
            response = await self._send("PATCH", name, patch)
        except _Unanswered as unanswered:
            raise ProviderError(f"kubernetes {what} failed: {unanswered.problem}") from None
        if response.status_code == 200:
            return _json_object(response, what)
        raise self._refusal(response, what)

    async def _send(
        self, method: str, name: str, body: Mapping[str, Any] | None = None
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = PATCH_CONTENT_TYPE
        try:
            async with asyncio.timeout(self._timeout):
                return await self._client.request(
                    method, f"{self._base}/{name}", json=body, headers=headers
                )
        except (TimeoutError, httpx.TimeoutException):
            raise _Unanswered(f"no answer within {self._timeout:g} s") from None
        except httpx.TransportError as error:
            raise _Unanswered(f"connection failed ({type(error).__name__})") from None

    def _refusal(self, response: httpx.Response, what: str) -> ProviderError:
        status = response.status_code
        reason, message = _status_object(response)
        text = f"kubernetes API refused {what}: HTTP {status}" + (f" {reason}" if reason else "")
        if message:
            text += f": {message}"
        text = text.replace(self._token, "[redacted]")
        return _NotFound(text) if status == 404 else ProviderError(text)


class _Unanswered(Exception):
    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


# --- reading Deployments --------------------------------------------------------------------


def _rollout(
    deployment: Mapping[str, Any], generation: int, container: str, image: str, external_id: str
) -> ProviderUpdate:
    spec, status = _dict(deployment.get("spec")), _dict(deployment.get("status"))
    running = _find_container(deployment, container)
    running_image = running.get("image") if running else None
    if running_image != image:
        message = f"container {container} was set to image {running_image} outside this deployment"
        return ProviderUpdate(DeploymentState.FAILED, "Superseded", message, external_id)
    if _number(status.get("observedGeneration")) < generation:
        raw = f"waiting for generation {generation} to be observed"
        return ProviderUpdate(DeploymentState.IN_PROGRESS, raw, external_id=external_id)
    deadline = _deadline_exceeded(status)
    if deadline is not None:
        return ProviderUpdate(
            DeploymentState.FAILED, "ProgressDeadlineExceeded", deadline, external_id
        )
    wanted = _number(spec.get("replicas"), 1)
    updated = _number(status.get("updatedReplicas"))
    available = _number(status.get("availableReplicas"))
    raw = f"{updated}/{wanted} updated, {available}/{wanted} available"
    done = updated >= wanted and available >= wanted and _number(status.get("replicas")) <= updated
    state = DeploymentState.SUCCEEDED if done else DeploymentState.IN_PROGRESS
    return ProviderUpdate(state, raw, external_id=external_id)


def _health(
    deployment: Mapping[str, Any], observed_at: datetime, version: str | None
) -> LiveStatus:
    metadata, spec = _dict(deployment.get("metadata")), _dict(deployment.get("spec"))
    status = _dict(deployment.get("status"))
    wanted = _number(spec.get("replicas"), 1)
    updated = _number(status.get("updatedReplicas"))
    available = _number(status.get("availableReplicas"))
    ready = _number(status.get("readyReplicas"))
    observed = _number(status.get("observedGeneration")) >= _number(metadata.get("generation"))
    deadline = _deadline_exceeded(status) if observed else None

    def live(health: Health, message: str | None) -> LiveStatus:
        return LiveStatus(health, observed_at, KIND, version, wanted, ready, message)

    if spec.get("paused") is True:
        return live(Health.SUSPENDED, "rollout paused")
    if wanted == 0:
        return live(Health.SUSPENDED, "scaled to zero replicas")
    if deadline is not None:
        return live(Health.DEGRADED, deadline)
    if not observed or updated < wanted or _number(status.get("replicas")) > updated:
        return live(Health.PROGRESSING, f"{updated}/{wanted} updated, {available} available")
    if available >= wanted:
        return live(Health.HEALTHY, None)
    return live(Health.DEGRADED, f"{available}/{wanted} available")


def _deadline_exceeded(status: Mapping[str, Any]) -> str | None:
    """The Progressing condition's message when it says the progress deadline passed."""
    for condition in status.get("conditions") or []:
        if (
            isinstance(condition, dict)
            and condition.get("type") == "Progressing"
            and condition.get("reason") == "ProgressDeadlineExceeded"
        ):
            return _short(str(condition.get("message") or "progress deadline exceeded"))
    return None


def _find_container(
    deployment: Mapping[str, Any], name: str, *, first: bool = False
) -> dict[str, Any] | None:
    """The container called `name`, else (with `first`) the first."""
    pod = _dict(_dict(_dict(deployment.get("spec")).get("template")).get("spec"))
    containers = [c for c in pod.get("containers") or [] if isinstance(c, dict)]
    for container in containers:
        if container.get("name") == name:
            return container
    return containers[0] if containers and first else None


def _status_object(response: httpx.Response) -> tuple[str, str]:
    """`reason` and `message` of a Kubernetes `Status` answer, if it is one."""
    try:
        body = response.json()
    except ValueError:
        return "", ""
    if not isinstance(body, dict) or body.get("kind") != "Status":
        return "", ""
    return _short(str(body.get("reason") or ""), 60), _short(str(body.get("message") or ""))


def _reason(response: httpx.Response) -> str:
    reason, _ = _status_object(response)
    return f" {reason}" if reason else ""


def _json_object(response: httpx.Response, what: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or body.get("kind") != "Deployment":
        raise ProviderError(f"kubernetes {what}: the answer is not a Deployment")
    return body


def _token(settings: KubernetesSettings) -> str:
    if settings.token_env is not None:
        token = os.environ.get(settings.token_env, "").strip()
        if not token:
            raise ProviderError(
                f"kubernetes token: environment variable {settings.token_env} is not set"
            )
        return token
    path = settings.token_file or ""
    try:
        with open(path, encoding="utf-8") as file:
            token = file.read().strip()
    except (OSError, UnicodeDecodeError) as error:
        raise ProviderError(
            f"kubernetes tokenFile {path} cannot be read ({type(error).__name__})"
        ) from None
    if not token:
        raise ProviderError(f"kubernetes tokenFile {path} is empty")
    return token


def _check_template(value: str, *, allowed: set[str], required: set[str]) -> None:
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


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _number(value: object, default: int = 0) -> int:
    """Kubernetes leaves out fields whose value is zero."""
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
