"""The webhook provider: hands each deployment to a receiver over signed HTTP; the receiver
reports progress later through the API (`reportDeploymentStatus`).

Settings: `url` (where deployments are POSTed), `secretEnv` (the environment variable holding
the signing secret; a `PAVED_SECRET_*` one, see `providers/deployers/secret_sources.py`),
`timeoutSeconds` (one HTTP call, default 5, at most 60), `cancelUrl`
(optional; without it the provider cannot cancel), `callbackUrl` (optional, sent to receivers
as a hint of where this API is), and `reportTimeoutSeconds` (default 3600): a deployment whose
receiver has reported no final state (SUCCEEDED, FAILED, CANCELED) that long after it started
is FAILED by `poll()` with "no final status report from the receiver within 3600 s". It counts
from the earlier of the request's `started_at` (when the caller gives it) and the moment this
adapter first handled the deployment (its `start()`, or its first `poll()` after a restart).

Requests are JSON POSTs signed as `providers/deployers/signatures.py` describes, with the
secret read from the environment variable named by `secretEnv` at each call (never kept).
`url` and `cancelUrl` follow the address rule of `providers/outbound/addresses.py`, when saved
and at each connection (`providers/outbound/http.py`). Every POST carries `Idempotency-Key`,
so it is retried as `providers/deployers/retries.py` says (at most 3 attempts, exponential
backoff with jitter) on connection errors, timeouts, 408, 429 and 5xx; other answers are
final, told by their status only (`providers/deployers/http_errors.py`). The receiver may
answer JSON `{"id", "state", "url", "logUrl", "message"}`, all optional.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import Field, ValidationInfo, field_validator

from domain.deployments.model import (
    DeploymentState,
    DeployRequest,
    LiveStatus,
    ProviderCapability,
    ProviderError,
    ProviderUpdate,
)
from providers.deployers.http_errors import origin, short
from providers.deployers.retries import Backoff
from providers.deployers.settings import (
    STRICT,
    AdapterSettings,
    ProviderPolicy,
    check_http_url,
    outbound_url,
    parse_settings,
    secret_env,
)
from providers.deployers.signed_posts import post_signed
from providers.memory import Recent

KIND = "webhook"
UNKNOWN = "UNKNOWN"
"""`raw_status` of a poll that knows nothing newer than the caller: keep the stored state."""

TIMED_OUT = "TimedOut"
"""`raw_status` of a deployment failed by `reportTimeoutSeconds`."""

_ANSWERED_STATES = {
    state.value: state
    for state in (
        DeploymentState.QUEUED,
        DeploymentState.IN_PROGRESS,
        DeploymentState.SUCCEEDED,
        DeploymentState.FAILED,
        DeploymentState.CANCELED,
    )
}
_TERMINAL = frozenset({DeploymentState.SUCCEEDED, DeploymentState.FAILED, DeploymentState.CANCELED})

Clock = Callable[[], float]


class WebhookSettings(AdapterSettings):
    url: str
    secret_env: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=200)
    timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    cancel_url: str | None = None
    callback_url: str | None = None
    """Where receivers reach this API; sent to them as a hint."""
    report_timeout_seconds: float = Field(default=3600.0, gt=0, le=30 * 86_400)
    """How long a started deployment may go without a final report before it FAILED."""

    @field_validator("url", "cancel_url", "callback_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return None if value is None else check_http_url(value)

    @field_validator("url", "cancel_url")
    @classmethod
    def _allowed_address(cls, value: str | None, info: ValidationInfo) -> str | None:
        return outbound_url(value, info)

    @field_validator("secret_env")
    @classmethod
    def _allowed_secret(cls, value: str, info: ValidationInfo) -> str:
        return secret_env(value, info)

    def destinations(self) -> tuple[tuple[str, str], ...]:
        cancel = (("cancelUrl", self.cancel_url),) if self.cancel_url else ()
        return (("url", self.url), *cancel)


class WebhookDeployer:
    kind: str = KIND
    capabilities: frozenset[ProviderCapability]

    def __init__(
        self,
        settings: Mapping[str, Any],
        *,
        clock: Clock = time.time,
        backoff_seconds: float = 0.5,
        policy: ProviderPolicy = STRICT,
    ) -> None:
        self._settings = parse_settings(WebhookSettings, KIND, settings, policy)
        self._policy = policy
        self._clock = clock
        self._backoff = Backoff(first_wait=backoff_seconds)
        self._known: Recent[int, ProviderUpdate] = Recent()
        self._first_seen: Recent[int, float] = Recent()
        """When this adapter first handled each deployment (clock seconds)."""
        cancel = {ProviderCapability.CANCEL} if self._settings.cancel_url else set()
        self.capabilities = frozenset({ProviderCapability.DEPLOY, *cancel})

    def __repr__(self) -> str:
        return f"WebhookDeployer(url={origin(self._settings.url)!r})"

    async def start(self, request: DeployRequest) -> ProviderUpdate:
        self._started_at(request)
        body = {
            "deploymentId": request.deployment_id,
            "service": request.service_slug,
            "environment": request.environment_slug,
            "version": request.version,
            "commitSha": request.commit_sha,
            "kind": request.kind.value,
            "rollbackToExternalId": request.rollback_to_external_id,
            "callback": {
                "mutation": "reportDeploymentStatus",
                "deploymentId": request.deployment_id,
                "url": self._settings.callback_url,
            },
        }
        answer = await self._post(self._settings.url, body, f"deployment-{request.deployment_id}")
        update = _read_answer(answer, DeploymentState.QUEUED)
        return self.record_report(request.deployment_id, update)

    async def poll(self, request: DeployRequest, external_id: str | None) -> ProviderUpdate:
        known = self._known.get(request.deployment_id)
        if known is not None and known.state in _TERMINAL:
            return known
        limit = self._settings.report_timeout_seconds
        if self._clock() - self._started_at(request) >= limit:
            message = f"no final status report from the receiver within {limit:g} s"
            if known is not None:
                external_id = external_id or known.external_id
            timed_out = ProviderUpdate(DeploymentState.FAILED, TIMED_OUT, message, external_id)
            return self.record_report(request.deployment_id, timed_out)
        if known is None:
            message = "no report received here; the receiver reports through the API"
            return ProviderUpdate(DeploymentState.QUEUED, UNKNOWN, message, external_id)
        # Progress is reported through the API, into the store: the state answered at the start
        # without its words, which would overwrite newer reports of the same state.
        return ProviderUpdate(known.state, external_id=known.external_id, url=known.url)

    async def cancel(self, request: DeployRequest, external_id: str | None) -> ProviderUpdate:
        cancel_url = self._settings.cancel_url
        if cancel_url is None:
            raise ProviderError("this webhook provider cannot cancel: no cancelUrl is configured")
        known = self._known.get(request.deployment_id)
        if known is not None and known.state in _TERMINAL:
            return known
        body = {
            "deploymentId": request.deployment_id,
            "externalId": external_id or (known.external_id if known else None),
            "service": request.service_slug,
            "environment": request.environment_slug,
            "version": request.version,
        }
        answer = await self._post(cancel_url, body, f"deployment-{request.deployment_id}-cancel")
        update = _read_answer(answer, DeploymentState.CANCELED)
        return self.record_report(request.deployment_id, update)

    async def live_status(
        self, service_slug: str, environment_slug: str, settings: Mapping[str, Any]
    ) -> LiveStatus | None:
        return None

    def _started_at(self, request: DeployRequest) -> float:
        """When the deployment started, in clock seconds: the request's `started_at`, else
        when this adapter first handled it."""
        first_seen = self._first_seen.get(request.deployment_id)
        if first_seen is None:
            first_seen = self._first_seen.remember(request.deployment_id, self._clock())
        if request.started_at is not None:
            return min(first_seen, request.started_at.timestamp())
        return first_seen

    def record_report(self, deployment_id: int, update: ProviderUpdate) -> ProviderUpdate:
        """Remember what the receiver said (answering, or through `reportDeploymentStatus`)
        for `poll`; a terminal state, once known, stays. Returns what is now known."""
        known = self._known.get(deployment_id)
        if known is not None and known.state in _TERMINAL:
            return known
        if known is not None and update.external_id is None:
            update = ProviderUpdate(
                update.state,
                update.raw_status,
                update.message,
                known.external_id,
                update.url or known.url,
                update.log_url or known.log_url,
            )
        return self._known.remember(deployment_id, update)

    async def _post(self, url: str, payload: Mapping[str, Any], idempotency_key: str) -> bytes:
        return await post_signed(
            url,
            payload,
            secret=self._secret(),
            idempotency_key=idempotency_key,
            clock=self._clock,
            addresses=self._policy.addresses,
            within=self._settings.timeout_seconds,
            backoff=self._backoff,
        )

    def _secret(self) -> str:
        name = self._settings.secret_env
        secret = self._policy.secrets.read_env(name)
        if not secret:
            raise ProviderError(f"webhook secret: environment variable {name} is not set")
        return secret


def _read_answer(content: bytes, default: DeploymentState) -> ProviderUpdate:
    try:
        answer = json.loads(content) if content.strip() else {}
    except ValueError:
        answer = {}
    if not isinstance(answer, dict):
        answer = {}

    def text(*names: str) -> str | None:
        for name in names:
            value = answer.get(name)
            if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
                return short(str(value))
        return None

    raw_status = text("state", "status")
    state = _ANSWERED_STATES.get((raw_status or "").upper(), default)
    return ProviderUpdate(
        state,
        raw_status,
        text("message"),
        text("id", "externalId"),
        text("url"),
        text("logUrl"),
    )
