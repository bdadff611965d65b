"""The webhook resource provider: hands each resource to a receiver over signed HTTP; the
receiver reports progress later through the API (`reportResourceStatus`).

Settings: `url` (where actions are POSTed), the signing secret named by `secretEnv` (a
`PAVED_SECRET_*` environment variable) or `secretFile` (a file under `PAVED_SECRETS_DIR`),
read at each call and never kept (`providers/deployers/secret_sources.py`), `timeoutSeconds`
(one HTTP call, default 5, at most 60), `callbackUrl` (optional, sent to receivers as a hint
of where this API is) and `statusUrl` (optional: where `live()` asks about a resource's
health; without it the provider cannot tell).

`apply()` and `delete()` POST
`{"action": "apply"|"delete", "resource": {"id", "name", "service", "environment", "class",
"type", "parameters"}, "startedAt", "callback": {"mutation", "resourceId", "url"}}` (`id` is
the resource's number, not its global id), signed as the webhook deployer signs
(`providers/deployers/signed_posts.py`), with `Idempotency-Key:
resource-<id>-<action>-<digest>`: the digest of the parameters and the action's start
(`providers/resources/fingerprints.py`), so every repeat of a call carries the same key and a
receiver that remembers keys does the work once. The receiver may answer JSON
`{"state", "message"}` (both optional): a state that may answer this action (apply:
PROVISIONING, UPDATING, READY, FAILED; delete: DELETING, DELETED, FAILED) is taken, else the
answer is PROVISIONING or DELETING; outputs only come through `reportResourceStatus`.
`poll()` has nothing to say (None). `live()` POSTs `{"action": "status", "resource"}` to
`statusUrl` and reads `{"healthy": true|false, "message"}`.

`url` and `statusUrl` follow the address rule of `providers/outbound/addresses.py` when saved
and at each connection. Refusals are told by their status only.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from pydantic import Field, ValidationInfo, field_validator, model_validator

from domain.deployments.model import ProviderCapability, ProviderError
from domain.resources.model import ProvisionRequest, ResourceHealth, ResourceState, ResourceUpdate
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
    secret_file,
)
from providers.deployers.signed_posts import post_signed
from providers.resources.fingerprints import action_digest

KIND = "webhook"

S = ResourceState
_ANSWERS: Final = {
    "apply": (S.PROVISIONING, frozenset({S.PROVISIONING, S.UPDATING, S.READY, S.FAILED})),
    "delete": (S.DELETING, frozenset({S.DELETING, S.DELETED, S.FAILED})),
}
"""By action: the state answered by default, and those a receiver may answer instead."""

Clock = Callable[[], float]


class WebhookSettings(AdapterSettings):
    url: str
    secret_file: str | None = Field(default=None, min_length=1, max_length=4096)
    secret_env: str | None = Field(
        default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=200
    )
    timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    callback_url: str | None = None
    """Where receivers reach this API; sent to them as a hint."""
    status_url: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _absent_secret_checked(cls, data: Any) -> Any:
        """Have `secretEnv` validated (and so named) when neither secret setting is given."""
        return {"secretEnv": None, **data} if isinstance(data, dict) else data

    @field_validator("url", "callback_url", "status_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return None if value is None else check_http_url(value)

    @field_validator("url", "status_url")
    @classmethod
    def _allowed_address(cls, value: str | None, info: ValidationInfo) -> str | None:
        return outbound_url(value, info)

    @field_validator("secret_env")
    @classmethod
    def _one_secret(cls, value: str | None, info: ValidationInfo) -> str | None:
        if "secret_file" not in info.data:
            return value  # secretFile itself is at fault and reported
        has_file = info.data["secret_file"] is not None
        if value is None and not has_file:
            raise ValueError("secretEnv or secretFile is required")
        if value is not None and has_file:
            raise ValueError("set secretEnv or secretFile, not both")
        return secret_env(value, info)

    @field_validator("secret_file")
    @classmethod
    def _allowed_file(cls, value: str | None, info: ValidationInfo) -> str | None:
        return secret_file(value, info)

    def destinations(self) -> tuple[tuple[str, str], ...]:
        status = (("statusUrl", self.status_url),) if self.status_url else ()
        return (("url", self.url), *status)


class WebhookProvisioner:
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
        live = {ProviderCapability.LIVE_STATUS} if self._settings.status_url else set()
        self.capabilities = frozenset({ProviderCapability.PROVISION, *live})

    def __repr__(self) -> str:
        return f"WebhookProvisioner(url={origin(self._settings.url)!r})"

    async def apply(self, request: ProvisionRequest) -> ResourceUpdate:
        return await self._act("apply", request)

    async def poll(self, request: ProvisionRequest) -> ResourceUpdate | None:
        """Progress comes back through `reportResourceStatus`, into the store."""
        return None

    async def delete(self, request: ProvisionRequest) -> ResourceUpdate:
        return await self._act("delete", request)

    async def live(self, request: ProvisionRequest) -> ResourceHealth | None:
        status_url = self._settings.status_url
        if status_url is None:
            return None
        payload = {"action": "status", "resource": _resource(request)}
        answer = _json_object(await self._post(status_url, payload, None))
        healthy = answer.get("healthy")
        if not isinstance(healthy, bool):
            raise ProviderError(
                f"webhook receiver {origin(status_url)} answered no health "
                '(expected {"healthy": true|false})'
            )
        observed_at = datetime.fromtimestamp(self._clock(), UTC)
        return ResourceHealth(healthy, observed_at, KIND, _text(answer.get("message")))

    async def _act(self, action: str, request: ProvisionRequest) -> ResourceUpdate:
        started_at = request.started_at.isoformat() if request.started_at is not None else None
        payload = {
            "action": action,
            "resource": _resource(request),
            "startedAt": started_at,
            "callback": {
                "mutation": "reportResourceStatus",
                "resourceId": request.resource_id,
                "url": self._settings.callback_url,
            },
        }
        key = f"resource-{request.resource_id}-{action}-{action_digest(request)}"
        answer = _json_object(await self._post(self._settings.url, payload, key))
        default, allowed = _ANSWERS[action]
        answered = answer.get("state")
        state = next((s for s in allowed if isinstance(answered, str) and answered == s), default)
        return ResourceUpdate(state, _text(answer.get("message")))

    async def _post(self, url: str, payload: Mapping[str, Any], key: str | None) -> bytes:
        return await post_signed(
            url,
            payload,
            secret=self._secret(),
            idempotency_key=key,
            clock=self._clock,
            addresses=self._policy.addresses,
            within=self._settings.timeout_seconds,
            backoff=self._backoff,
        )

    def _secret(self) -> str:
        settings, secrets = self._settings, self._policy.secrets
        if settings.secret_env is not None:
            where = f"environment variable {settings.secret_env}"
            try:
                secret = secrets.read_env(settings.secret_env)
            except ValueError as refused:
                raise ProviderError(f"webhook secret: {where}: {refused}") from None
        else:
            where = f"file {settings.secret_file}"
            try:
                secret = secrets.read_file(settings.secret_file or "").strip()
            except (OSError, UnicodeDecodeError) as error:
                raise ProviderError(
                    f"webhook secret: {where} cannot be read ({type(error).__name__})"
                ) from None
            except ValueError as refused:
                raise ProviderError(f"webhook secret: {where}: {refused}") from None
        if not secret:
            raise ProviderError(f"webhook secret: {where} is not set")
        return secret


def _resource(request: ProvisionRequest) -> dict[str, Any]:
    return {
        "id": request.resource_id,
        "name": request.name,
        "service": request.service_slug,
        "environment": request.environment_slug,
        "class": request.class_slug,
        "type": request.class_type,
        "parameters": dict(request.parameters),
    }


def _json_object(content: bytes) -> dict[str, Any]:
    """The answer as a JSON object; anything else (no body, not JSON) as an empty one."""
    try:
        answer = json.loads(content) if content.strip() else {}
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def _text(value: object) -> str | None:
    return short(value) if isinstance(value, str) and value.strip() else None
