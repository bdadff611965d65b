"""The simulated resource provider: resources that take `durationSeconds` by the clock to be
built or removed, with no side effects; what the demo's resource classes use.

An action (building a resource with some parameters, or removing it) takes `durationSeconds`
from the request's `started_at`, or, when the caller gives none, from the first call that
asked for it. Until then `apply()` and `poll()` answer PROVISIONING (UPDATING when an earlier
build of the same resource was READY here) and `delete()` and `poll()` answer DELETING; then
READY, with the outputs and secret references of `providers/resources/simulated_outputs.py`,
or DELETED. With `durationSeconds` 0 every answer is final at once.

`failParameters` (a regular expression, `re.search`) is matched against the parameters as
canonical JSON (sorted keys, no spaces: `{"size":"xl","version":16}`), so it can name a key,
a value or both (`"size":"xl"`); a build whose parameters match ends FAILED, with a message
naming the setting. A removal never fails.

Calls are idempotent: asking again for the same action (same parameters and start) answers
from the same clock. What is in progress lives in this instance's memory; after a restart an
action is known again from the request (a removal only from `delete()`: `poll()` of a
resource this instance never saw being removed answers as for a build).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import Field, field_validator

from domain.deployments.model import ProviderCapability
from domain.resources.model import ProvisionRequest, ResourceHealth, ResourceState, ResourceUpdate
from providers.deployers.settings import (
    STRICT,
    AdapterSettings,
    ProviderPolicy,
    check_regex,
    parse_settings,
)
from providers.memory import Recent
from providers.resources.fingerprints import action_digest, parameters_json
from providers.resources.simulated_outputs import ready_outputs

KIND = "simulated"

Clock = Callable[[], float]


class SimulatedSettings(AdapterSettings):
    duration_seconds: float = Field(default=2.0, ge=0, le=86_400)
    fail_parameters: str | None = Field(default=None, min_length=1, max_length=1000)

    @field_validator("fail_parameters")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        return None if value is None else check_regex(value)


@dataclass(frozen=True, slots=True)
class _Action:
    identity: tuple[bool, str]
    """(a removal, the digest of a build's parameters and start)."""
    ends_at: float
    fails: bool = False
    update: bool = False

    @property
    def deleting(self) -> bool:
        return self.identity[0]


class SimulatedProvisioner:
    kind: str = KIND
    capabilities: frozenset[ProviderCapability] = frozenset(
        {ProviderCapability.PROVISION, ProviderCapability.LIVE_STATUS}
    )

    def __init__(
        self,
        settings: Mapping[str, Any] | None = None,
        *,
        clock: Clock = time.time,
        policy: ProviderPolicy = STRICT,
    ) -> None:
        parsed = parse_settings(SimulatedSettings, KIND, settings or {}, policy)
        self._duration = parsed.duration_seconds
        self._pattern = parsed.fail_parameters
        self._fail = re.compile(parsed.fail_parameters) if parsed.fail_parameters else None
        self._clock = clock
        self._actions: Recent[int, _Action] = Recent()

    def __repr__(self) -> str:
        return f"SimulatedProvisioner(durationSeconds={self._duration:g})"

    async def apply(self, request: ProvisionRequest) -> ResourceUpdate:
        return self._answer(request, self._action(request, deleting=False))

    async def poll(self, request: ProvisionRequest) -> ResourceUpdate:
        known = self._actions.get(request.resource_id)
        if known is None or (not known.deleting and known.identity != _identity(request)):
            known = self._action(request, deleting=False)
        return self._answer(request, known)

    async def delete(self, request: ProvisionRequest) -> ResourceUpdate:
        return self._answer(request, self._action(request, deleting=True))

    async def live(self, request: ProvisionRequest) -> ResourceHealth:
        observed_at = datetime.fromtimestamp(self._clock(), UTC)
        if request.state in _SETTLED:
            # Nothing is under way: what the platform stored is what there is.
            healthy = request.state is ResourceState.READY
            said = "available" if healthy else str(request.state).lower()
            return ResourceHealth(healthy, observed_at, KIND, said)
        update = await self.poll(request)
        healthy = update.state is ResourceState.READY
        message = update.message or ("available" if healthy else update.state.value.lower())
        return ResourceHealth(healthy, observed_at, KIND, message)

    def _action(self, request: ProvisionRequest, *, deleting: bool) -> _Action:
        """The action asked for: the one under way when it is the same, else a new one."""
        identity = (True, "") if deleting else _identity(request)
        known = self._actions.get(request.resource_id)
        if known is not None and known.identity == identity:
            return known
        now = self._clock()
        began = request.started_at.timestamp() if request.started_at is not None else now
        if deleting:
            return self._actions.remember(
                request.resource_id, _Action(identity, began + self._duration)
            )
        fails = bool(self._fail and self._fail.search(parameters_json(request.parameters)))
        built_before = known is not None and not known.deleting and self._ended(known, now)
        action = _Action(identity, began + self._duration, fails, built_before)
        return self._actions.remember(request.resource_id, action)

    def _ended(self, action: _Action, now: float) -> bool:
        return now >= action.ends_at and not action.fails

    def _answer(self, request: ProvisionRequest, action: _Action) -> ResourceUpdate:
        if self._clock() < action.ends_at:
            if action.deleting:
                return ResourceUpdate(ResourceState.DELETING, self._taking("deletion"))
            state = ResourceState.UPDATING if action.update else ResourceState.PROVISIONING
            return ResourceUpdate(state, self._taking("provisioning"))
        if action.deleting:
            return ResourceUpdate(ResourceState.DELETED, "simulated resource deleted")
        if action.fails:
            message = f"simulated failure: the parameters match failParameters {self._pattern!r}"
            return ResourceUpdate(ResourceState.FAILED, message)
        outputs, secret_refs = ready_outputs(request)
        return ResourceUpdate(ResourceState.READY, "available", outputs, secret_refs)

    def _taking(self, what: str) -> str:
        return f"simulated {what} (takes {self._duration:g} s)"


_SETTLED = frozenset({ResourceState.READY, ResourceState.FAILED, ResourceState.DELETED})


def _identity(request: ProvisionRequest) -> tuple[bool, str]:
    return (False, action_digest(request))
