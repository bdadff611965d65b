"""The Argo CD provider: sets a version on an Application through Argo CD's REST API (v2),
syncs it, and follows the sync operation and the application's health.

The version goes into a Helm parameter (`mode: helm`, `parameter`, default `image.tag`) or a
kustomize image (`mode: kustomize`, `image` names it) of `spec.source`, by a JSON merge patch;
then `POST .../sync` starts an operation tagged with the deployment id (operation `info`
`pavedDeployment`), which is how a later `start`, `poll` or `cancel` recognises it, also after
a restart. External ids read `<application>@<operation startedAt>` (`@<revision>` while Argo CD
has not started the operation yet).

A sync operation maps to states thus: Running → IN_PROGRESS; Succeeded with the application
Synced and Healthy → SUCCEEDED; Succeeded and Degraded → FAILED; Succeeded otherwise →
IN_PROGRESS (`rawStatus` `<sync>/<health>`); Failed or Error → FAILED with Argo CD's message;
Terminating, or failed with "Operation terminated" → CANCELED.

A ROLLBACK request is rolled back to an entry of `status.history` (`POST .../rollback`): the
one `rollback_to_external_id` names when that entry holds the request's version, else the
newest entry holding that version; with none, the version is deployed like any other. Argo CD's
rollback operation carries no `info`, so before asking for it the adapter marks the
application with the annotation `paved/rollback` (`{"deployment": <id>, "after": <startedAt of
the operation then current>}`): a `start()` repeated after a restart finds the mark, and the
newer rollback operation to that version is its own (followed, not asked for again); with no
newer operation, the rollback is asked for then.

The API token is read from the environment variable named by `tokenEnv` (a `PAVED_SECRET_*`
one, see `providers/deployers/secret_sources.py`) at each call (never kept) and sent as a
bearer token. `serverUrl` follows the address rule of `providers/outbound/addresses.py`, when
saved and at each connection (`providers/outbound/http.py`). Only GETs are retried, as
`providers/deployers/retries.py` says (at most 3 attempts, exponential backoff with jitter, on
connection errors, timeouts, 408, 429 and 5xx); PATCH and POST are tried once. A refusal is told
by its status only (`providers/deployers/http_errors.py`), never by Argo CD's error text.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from pydantic import Field, ValidationInfo, field_validator, model_validator

from domain.deployments.model import (
    DeploymentKind,
    DeploymentState,
    DeployRequest,
    Health,
    LiveStatus,
    ProviderCapability,
    ProviderError,
    ProviderUpdate,
)
from providers.deployers.http_calls import http_call
from providers.deployers.http_errors import http_status, origin, short
from providers.deployers.retries import Backoff
from providers.deployers.settings import (
    STRICT,
    AdapterSettings,
    ProviderPolicy,
    check_http_url,
    is_loopback,
    outbound_url,
    parse_settings,
    secret_env,
)
from providers.memory import Recent

KIND = "argocd"
INFO_NAME = "pavedDeployment"
"""Name of the operation `info` entry carrying the deployment id."""
TERMINATED_MESSAGE = "Operation terminated"
ROLLBACK_MARK = "paved/rollback"
"""Annotation naming the deployment that asks for a rollback, and the operation before it."""

_HEALTH = {health.value.capitalize(): health for health in Health}

Clock = Callable[[], float]
App = dict[str, Any]


class ArgoCDSettings(AdapterSettings):
    server_url: str
    token_env: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=200)
    application: str = Field(default="{service}-{environment}", min_length=1, max_length=253)
    mode: Literal["helm", "kustomize"] = "helm"
    parameter: str = Field(default="image.tag", min_length=1, max_length=253)
    image: str | None = Field(default=None, min_length=1, max_length=500)
    """kustomize mode: the image name to set, a template with `{service}`, `{environment}`."""
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    insecure: bool = False
    """Skip TLS certificate verification (self-signed Argo CD servers)."""

    @field_validator("server_url")
    @classmethod
    def _https_url(cls, value: str, info: ValidationInfo) -> str:
        check_http_url(value)
        parts = urlsplit(value)
        if parts.scheme != "https" and not is_loopback(parts.hostname or ""):
            raise ValueError("must be an https URL (http only for a loopback address)")
        if parts.query or parts.fragment:
            raise ValueError("must not carry a query or fragment")
        return outbound_url(value.rstrip("/"), info)

    @field_validator("token_env")
    @classmethod
    def _allowed_secret(cls, value: str, info: ValidationInfo) -> str:
        return secret_env(value, info)

    @field_validator("application", "image")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        if value is not None:
            _render(value, "service", "environment")
        return value

    @model_validator(mode="after")
    def _image_for_kustomize(self) -> ArgoCDSettings:
        if self.mode == "kustomize" and self.image is None:
            raise ValueError("image: required when mode is kustomize")
        return self

    def destinations(self) -> tuple[tuple[str, str], ...]:
        return (("serverUrl", self.server_url),)


class ArgoCDDeployer:
    kind: str = KIND
    capabilities: frozenset[ProviderCapability] = frozenset(
        {
            ProviderCapability.DEPLOY,
            ProviderCapability.CANCEL,
            ProviderCapability.ROLLBACK,
            ProviderCapability.LIVE_STATUS,
        }
    )

    def __init__(
        self,
        settings: Mapping[str, Any],
        *,
        clock: Clock = time.time,
        backoff_seconds: float = 0.5,
        policy: ProviderPolicy = STRICT,
    ) -> None:
        self._settings = parse_settings(ArgoCDSettings, KIND, settings, policy)
        self._policy = policy
        self._clock = clock
        self._backoff = Backoff(first_wait=backoff_seconds)
        self._started: Recent[int, str] = Recent()
        """External ids of the deployments this instance started."""

    def __repr__(self) -> str:
        return f"ArgoCDDeployer(serverUrl={origin(self._settings.server_url)!r})"

    async def start(self, request: DeployRequest) -> ProviderUpdate:
        name = self._app_name(request.service_slug, request.environment_slug)
        app = await self._get_app(name)
        known = self._started.get(request.deployment_id) or self._marked_rollback(app, request)
        if known is not None or _ours(app, request, None):
            return self._started_update(app, request, known)
        if (_operation_state(app).get("phase") in {"Running", "Terminating"}) or app.get(
            "operation"
        ):
            raise ProviderError(f"Argo CD application {name}: another operation is in progress")
        history_id = self._rollback_target(app, request)
        if history_id is not None:
            if _rollback_mark(app).get("deployment") != request.deployment_id:
                await self._mark_rollback(name, app, request)
            body: dict[str, Any] = {"name": name, "id": history_id, "prune": False}
            app = await self._call("POST", name, "/rollback", body)
        else:
            await self._set_version(name, app, request)
            revision = _dig(app, "spec", "source", "targetRevision")
            body = {
                "name": name,
                "revision": revision if isinstance(revision, str) else "HEAD",
                "prune": False,
                "infos": [{"name": INFO_NAME, "value": str(request.deployment_id)}],
            }
            app = await self._call("POST", name, "/sync", body)
        external_id = _external_id(name, app, history_id)
        self._started.remember(request.deployment_id, external_id)
        update = self._map(app, request, external_id)
        if update.state is not DeploymentState.IN_PROGRESS:
            # Argo CD answers as the operation is handed over; it has no outcome yet.
            return ProviderUpdate(
                DeploymentState.IN_PROGRESS, "OperationPending", None, external_id
            )
        return update

    def _started_update(
        self, app: App, request: DeployRequest, external_id: str | None
    ) -> ProviderUpdate:
        """What a repeated `start()` answers: where the operation it started stands."""
        update = self._map(app, request, external_id)
        if update.external_id is not None:
            self._started.remember(request.deployment_id, update.external_id)
        return update

    def _marked_rollback(self, app: App, request: DeployRequest) -> str | None:
        """The external id of the rollback this request asked for before (a restart since),
        from the application's `paved/rollback` mark; None when it asked for none yet."""
        mark = _rollback_mark(app)
        if request.kind is not DeploymentKind.ROLLBACK or mark.get("deployment") != (
            request.deployment_id
        ):
            return None
        name = str(_dig(app, "metadata", "name") or "")
        pending = _dict(app.get("operation"))
        state = _operation_state(app)
        if pending and state.get("phase") not in {"Running", "Terminating"}:
            operation = pending
        elif state.get("startedAt") and state.get("startedAt") != mark.get("after"):
            operation = _dict(state.get("operation"))
        else:
            return None  # no operation since the mark: the rollback was never asked for
        sync = _dict(operation.get("sync"))
        source = _dict(sync.get("source"))
        if not source or self._source_version(source, request) != request.version:
            return None  # a newer operation, but not a rollback to this version
        revision = sync.get("revision")
        if state.get("startedAt") and operation is not pending:
            return f"{name}@{state['startedAt']}"
        return f"{name}@{revision}" if isinstance(revision, str) and revision else None

    async def poll(self, request: DeployRequest, external_id: str | None) -> ProviderUpdate:
        name = self._app_name(request.service_slug, request.environment_slug)
        app = await self._get_app(name)
        return self._map(app, request, external_id or self._started.get(request.deployment_id))

    async def cancel(self, request: DeployRequest, external_id: str | None) -> ProviderUpdate:
        name = self._app_name(request.service_slug, request.environment_slug)
        external_id = external_id or self._started.get(request.deployment_id)
        app = await self._get_app(name)
        current = self._map(app, request, external_id)
        if current.state is not DeploymentState.IN_PROGRESS or not (
            _ours(app, request, external_id) or _pending_ours(app, request, external_id)
        ):
            return current
        await self._call("DELETE", name, "/operation", None)
        return ProviderUpdate(
            DeploymentState.CANCELED, "Terminating", "sync operation terminated", external_id
        )

    async def live_status(
        self, service_slug: str, environment_slug: str, settings: Mapping[str, Any]
    ) -> LiveStatus | None:
        name = self._app_name(service_slug, environment_slug)
        observed_at = datetime.fromtimestamp(self._clock(), UTC)
        try:
            app = await self._call("GET", name, "", None)
        except _NotFound:
            message = f"Argo CD application {name} not found"
            return LiveStatus(Health.MISSING, observed_at, KIND, message=message)
        health = _dict(_dig(app, "status", "health"))
        detail = health.get("message")
        return LiveStatus(
            _HEALTH.get(str(health.get("status")), Health.UNKNOWN),
            observed_at,
            KIND,
            self._live_version(app, service_slug, environment_slug),
            message=short(detail) if isinstance(detail, str) and detail else None,
        )

    # -- mapping ----------------------------------------------------------------------------

    def _map(self, app: App, request: DeployRequest, external_id: str | None) -> ProviderUpdate:
        name = str(_dig(app, "metadata", "name") or "")
        state = _operation_state(app)
        sync_status = str(_dig(app, "status", "sync", "status") or "Unknown")
        health = _dict(_dig(app, "status", "health"))
        health_status = str(health.get("status") or "Unknown")
        raw = f"{sync_status}/{health_status}"
        if not _ours(app, request, external_id):
            if _pending_ours(app, request, external_id):
                return ProviderUpdate(
                    DeploymentState.IN_PROGRESS, "OperationPending", None, external_id
                )
            return self._superseded(app, external_id)
        external_id = f"{name}@{state['startedAt']}" if state.get("startedAt") else external_id
        phase = str(state.get("phase") or "")
        message = state.get("message")
        message = short(message) if isinstance(message, str) and message else None
        if phase == "Terminating" or (
            phase in {"Failed", "Error"} and message == TERMINATED_MESSAGE
        ):
            return ProviderUpdate(DeploymentState.CANCELED, phase, message, external_id)
        if phase in {"Failed", "Error"}:
            text = message or f"sync operation ended {phase}"
            return ProviderUpdate(DeploymentState.FAILED, phase, text, external_id)
        if phase == "Succeeded":
            if health_status == "Degraded":
                detail = health.get("message")
                text = "application is Degraded after the sync" + (
                    f": {short(detail)}" if isinstance(detail, str) and detail else ""
                )
                return ProviderUpdate(DeploymentState.FAILED, raw, text, external_id)
            if health_status == "Healthy" and sync_status == "Synced":
                return ProviderUpdate(DeploymentState.SUCCEEDED, raw, None, external_id)
        return ProviderUpdate(DeploymentState.IN_PROGRESS, raw, None, external_id)

    def _superseded(self, app: App, external_id: str | None) -> ProviderUpdate:
        """Another operation replaced ours: it succeeded if Argo CD's history has it."""
        started_at = _started_at(external_id)
        for entry in _history(app):
            if started_at and entry.get("deployStartedAt") == started_at:
                message = "succeeded, since superseded by a later operation"
                return ProviderUpdate(DeploymentState.SUCCEEDED, "Superseded", message, external_id)
        message = "the sync operation was replaced by another before it finished"
        return ProviderUpdate(DeploymentState.FAILED, "Superseded", message, external_id)

    def _rollback_target(self, app: App, request: DeployRequest) -> int | None:
        if request.kind is not DeploymentKind.ROLLBACK:
            return None
        history = _history(app)
        started_at = _started_at(request.rollback_to_external_id)
        for entry in reversed(history):
            if (
                started_at
                and started_at in {entry.get("deployStartedAt"), entry.get("revision")}
                and self._source_version(_dict(entry.get("source")), request) == request.version
            ):
                return _history_id(entry)
        for entry in reversed(history):
            if self._source_version(_dict(entry.get("source")), request) == request.version:
                return _history_id(entry)
        return None

    def _live_version(self, app: App, service: str, environment: str) -> str | None:
        settings = self._settings
        if settings.mode == "kustomize" and settings.image is not None:
            wanted = _render(settings.image, service, environment)
            image = _image_named(wanted, _dig(app, "status", "summary", "images"))
            if image is not None:
                return _image_tag(image)
        history = _history(app)
        source = _dict(history[-1].get("source")) if history else {}
        if not source:
            source = _dict(_dig(app, "spec", "source"))
        return self._version_in(source, service, environment)

    def _source_version(self, source: App, request: DeployRequest) -> str | None:
        return self._version_in(source, request.service_slug, request.environment_slug)

    def _version_in(self, source: App, service: str, environment: str) -> str | None:
        settings = self._settings
        if settings.mode == "helm":
            for parameter in _list(_dig(source, "helm", "parameters")):
                if _dict(parameter).get("name") == settings.parameter:
                    value = parameter.get("value")
                    return value if isinstance(value, str) else None
            return None
        wanted = _render(settings.image or "", service, environment)
        image = _image_named(wanted, _dig(source, "kustomize", "images"))
        return None if image is None else _image_tag(image)

    # -- changes ----------------------------------------------------------------------------

    async def _set_version(self, name: str, app: App, request: DeployRequest) -> None:
        source = _dig(app, "spec", "source")
        if not isinstance(source, dict):
            raise ProviderError(
                f"Argo CD application {name} has no spec.source (multi-source applications "
                "are not supported)"
            )
        settings = self._settings
        patch: App
        if settings.mode == "helm":
            parameters = [
                p for p in _list(_dig(source, "helm", "parameters")) if isinstance(p, dict)
            ]
            kept = [p for p in parameters if p.get("name") != settings.parameter]
            kept.append({"name": settings.parameter, "value": request.version})
            patch = {"spec": {"source": {"helm": {"parameters": kept}}}}
        else:
            image = _render(settings.image or "", request.service_slug, request.environment_slug)
            images = [i for i in _list(_dig(source, "kustomize", "images")) if isinstance(i, str)]
            kept_images = [i for i in images if _image_name(i) != image]
            kept_images.append(f"{image}:{request.version}")
            patch = {"spec": {"source": {"kustomize": {"images": kept_images}}}}
        body = {"name": name, "patch": json.dumps(patch), "patchType": "merge"}
        await self._call("PATCH", name, "", body)

    # -- HTTP -------------------------------------------------------------------------------

    def _app_name(self, service: str, environment: str) -> str:
        return _render(self._settings.application, service, environment)

    async def _mark_rollback(self, name: str, app: App, request: DeployRequest) -> None:
        after = _operation_state(app).get("startedAt")
        mark = {"deployment": request.deployment_id, "after": after if after else None}
        patch = {"metadata": {"annotations": {ROLLBACK_MARK: json.dumps(mark)}}}
        body = {"name": name, "patch": json.dumps(patch), "patchType": "merge"}
        await self._call("PATCH", name, "", body)

    async def _get_app(self, name: str) -> App:
        try:
            return await self._call("GET", name, "", None)
        except _NotFound:
            raise ProviderError(f"Argo CD application {name} not found") from None

    async def _call(self, method: str, name: str, suffix: str, body: App | None) -> App:
        token = self._token()
        settings = self._settings
        url = f"{settings.server_url}/api/v1/applications/{quote(name, safe='')}{suffix}"
        what = f"Argo CD {method} application {name}{suffix}"
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

        def refused(status: int) -> ProviderError:
            if status == 404:
                return _NotFound(what)
            return ProviderError(f"{what} refused: {http_status(status)}")

        response = await http_call(
            lambda client: client.request(method, url, json=body, headers=headers),
            what=what,
            addresses=self._policy.addresses,
            within=settings.timeout_seconds,
            idempotent=method == "GET",
            backoff=self._backoff,
            refused=refused,
            verify=not settings.insecure,
        )
        return _read_app(response.content, what)

    def _token(self) -> str:
        name = self._settings.token_env
        token = self._policy.secrets.read_env(name)
        if not token:
            raise ProviderError(f"Argo CD token: environment variable {name} is not set")
        return token


class _NotFound(ProviderError):
    pass


def _ours(app: App, request: DeployRequest, external_id: str | None) -> bool:
    """Whether the application's current operation state is this deployment's."""
    state = _operation_state(app)
    if not state:
        return False
    if _tagged(_dict(state.get("operation")), request):
        return True
    suffix = _started_at(external_id)
    if suffix is None:
        return False
    if state.get("startedAt") == suffix:
        return True
    revision = _dig(state, "operation", "sync", "revision")
    return request.kind is DeploymentKind.ROLLBACK and revision == suffix


def _pending_ours(app: App, request: DeployRequest, external_id: str | None) -> bool:
    """Whether Argo CD holds this deployment's operation, not yet started by its controller."""
    operation = _dict(app.get("operation"))
    if not operation or _operation_state(app).get("phase") in {"Running", "Terminating"}:
        return False
    revision = _dig(operation, "sync", "revision")
    return _tagged(operation, request) or (
        request.kind is DeploymentKind.ROLLBACK and revision == _started_at(external_id)
    )


def _tagged(operation: App, request: DeployRequest) -> bool:
    return any(
        _dict(info).get("name") == INFO_NAME
        and _dict(info).get("value") == str(request.deployment_id)
        for info in _list(operation.get("info"))
    )


def _external_id(name: str, app: App, history_id: int | None) -> str:
    started = _operation_state(app).get("startedAt")
    if isinstance(started, str) and started:
        return f"{name}@{started}"
    revision = _dig(app, "operation", "sync", "revision")
    if not isinstance(revision, str) or not revision:
        revision = f"history-{history_id}" if history_id is not None else "pending"
    return f"{name}@{revision}"


def _started_at(external_id: str | None) -> str | None:
    if not external_id or "@" not in external_id:
        return None
    return external_id.rpartition("@")[2] or None


def _rollback_mark(app: App) -> App:
    text = _dig(app, "metadata", "annotations", ROLLBACK_MARK)
    try:
        mark = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        mark = None
    return _dict(mark)


def _operation_state(app: App) -> App:
    return _dict(_dig(app, "status", "operationState"))


def _history(app: App) -> list[App]:
    return [entry for entry in _list(_dig(app, "status", "history")) if isinstance(entry, dict)]


def _history_id(entry: App) -> int | None:
    value = entry.get("id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _image_name(image: str) -> str:
    """The name a kustomize image entry (`name`, `name:tag`, `name@digest`,
    `name=newName:tag`) stands for."""
    if "=" in image:
        return image.partition("=")[0]
    image = image.partition("@")[0]
    head, colon, tail = image.rpartition(":")
    return head if colon and "/" not in tail else image


def _image_named(wanted: str, images: Any) -> str | None:
    """The kustomize image entry standing for the image `wanted`, if any."""
    for image in _list(images):
        if isinstance(image, str) and _image_name(image) == wanted:
            return image
    return None


def _image_tag(image: str) -> str | None:
    image = image.partition("=")[2] or image
    if "@" in image:
        return image.partition("@")[2]
    _head, colon, tail = image.rpartition(":")
    return tail if colon and "/" not in tail else None


def _render(template: str, service: str, environment: str) -> str:
    try:
        return template.format(service=service, environment=environment)
    except (KeyError, IndexError, ValueError):
        raise ValueError("may only use the placeholders {service} and {environment}") from None


def _read_app(content: bytes, what: str) -> App:
    try:
        answer = json.loads(content) if content.strip() else {}
    except ValueError:
        raise ProviderError(f"{what}: the answer is not JSON") from None
    if not isinstance(answer, dict):
        raise ProviderError(f"{what}: the answer is not a JSON object")
    return answer


def _dig(value: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _dict(value: Any) -> App:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
