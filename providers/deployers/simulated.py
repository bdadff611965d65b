"""The simulated provider: rollouts that take `durationSeconds` by the clock, with no side
effects; what the demo environments use.

A rollout is IN_PROGRESS from `start()` until `durationSeconds` have passed, then SUCCEEDED,
or FAILED when its version matches the `failVersions` regex (`re.search`). Its outcome is
decided the first time it is looked at after that, and never changes. State lives in this
instance's memory; a rollout it does not know (the process restarted) starts over when asked.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import Field, field_validator

from domain.deployments.model import (
    DeploymentState,
    DeployRequest,
    Health,
    LiveStatus,
    ProviderCapability,
    ProviderUpdate,
)
from providers.deployers.settings import (
    STRICT,
    AdapterSettings,
    ProviderPolicy,
    check_regex,
    parse_settings,
)
from providers.memory import Recent

KIND = "simulated"

Clock = Callable[[], float]


class SimulatedSettings(AdapterSettings):
    duration_seconds: float = Field(default=5.0, ge=0, le=86_400)
    fail_versions: str | None = None

    @field_validator("fail_versions")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        return None if value is None else check_regex(value)


@dataclass(eq=False)
class _Rollout:
    external_id: str
    version: str
    ends_at: float
    fails: bool
    outcome: DeploymentState | None = None
    finished_at: float | None = None


@dataclass
class _Target:
    """One service in one environment."""

    pending: list[_Rollout] = field(default_factory=list)
    current: _Rollout | None = None


class SimulatedDeployer:
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
        settings: Mapping[str, Any] | None = None,
        *,
        clock: Clock = time.time,
        policy: ProviderPolicy = STRICT,
    ):
        parsed = parse_settings(SimulatedSettings, KIND, settings or {}, policy)
        self._duration = parsed.duration_seconds
        self._fail = re.compile(parsed.fail_versions) if parsed.fail_versions else None
        self._clock = clock
        self._rollouts: Recent[str, tuple[_Rollout, _Target]] = Recent()
        self._targets: dict[tuple[str, str], _Target] = {}

    def __repr__(self) -> str:
        return f"SimulatedDeployer(durationSeconds={self._duration:g})"

    async def start(self, request: DeployRequest) -> ProviderUpdate:
        rollout, target = self._find(request, None)
        return self._update(rollout, target)

    async def poll(self, request: DeployRequest, external_id: str | None) -> ProviderUpdate:
        rollout, target = self._find(request, external_id)
        return self._update(rollout, target)

    async def cancel(self, request: DeployRequest, external_id: str | None) -> ProviderUpdate:
        rollout, target = self._find(request, external_id)
        now = self._clock()
        self._settle(rollout, target, now)
        if rollout.outcome is None:
            rollout.outcome, rollout.finished_at = DeploymentState.CANCELED, now
            target.pending.remove(rollout)
        return self._update(rollout, target)

    async def live_status(
        self, service_slug: str, environment_slug: str, settings: Mapping[str, Any]
    ) -> LiveStatus | None:
        target = self._targets.get((service_slug, environment_slug))
        if target is None:
            return None
        now = self._clock()
        for rollout in list(target.pending):
            self._settle(rollout, target, now)
        observed_at = datetime.fromtimestamp(now, UTC)
        current = target.current.version if target.current else None
        if target.pending:
            rolling = target.pending[-1].version
            message = f"rolling out {rolling}" + (f" over {current}" if current else "")
            return LiveStatus(Health.PROGRESSING, observed_at, KIND, rolling, message=message)
        if current is not None:
            return LiveStatus(Health.HEALTHY, observed_at, KIND, current)
        return LiveStatus(Health.MISSING, observed_at, KIND, message="no version has succeeded")

    def _find(self, request: DeployRequest, external_id: str | None) -> tuple[_Rollout, _Target]:
        key = external_id or f"sim-{request.deployment_id}"
        found = self._rollouts.get(key)
        if found is not None:
            return found
        now = self._clock()
        target = self._targets.setdefault(
            (request.service_slug, request.environment_slug), _Target()
        )
        fails = bool(self._fail and self._fail.search(request.version))
        rollout = _Rollout(key, request.version, now + self._duration, fails)
        target.pending.append(rollout)
        return self._rollouts.remember(key, (rollout, target))

    def _settle(self, rollout: _Rollout, target: _Target, now: float) -> None:
        if rollout.outcome is not None or now < rollout.ends_at:
            return
        rollout.outcome = DeploymentState.FAILED if rollout.fails else DeploymentState.SUCCEEDED
        rollout.finished_at = rollout.ends_at
        target.pending.remove(rollout)
        newest = target.current
        if rollout.outcome is DeploymentState.SUCCEEDED and (
            newest is None or (newest.finished_at or 0.0) <= rollout.ends_at
        ):
            target.current = rollout

    def _update(self, rollout: _Rollout, target: _Target) -> ProviderUpdate:
        self._settle(rollout, target, self._clock())
        outcome = rollout.outcome
        if outcome is None:
            return ProviderUpdate(
                DeploymentState.IN_PROGRESS, "progressing", external_id=rollout.external_id
            )
        message = None
        if outcome is DeploymentState.FAILED:
            message = f"simulated failure: version {rollout.version} matches failVersions"
        return ProviderUpdate(outcome, outcome.value.lower(), message, rollout.external_id)
