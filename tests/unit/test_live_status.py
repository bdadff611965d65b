"""Live status through the provider port: concurrent lookups, a deadline per call, a short cache,
and failures as PROVIDER_ERROR."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from domain import deadlines
from domain.deployments.model import (
    Deployer,
    DeploymentKind,
    DeployRequest,
    Health,
    LiveStatus,
    ProviderCapability,
    ProviderError,
    ProviderUpdate,
)
from domain.deployments.ports import ProviderSettings
from domain.errors import ErrorCode, ProviderFailure
from providers.circuits import ProviderCircuits
from providers.deployers.simulated import SimulatedDeployer
from resolvers.live_status import LiveStatusLookup
from tests.support.clock import FakeClock
from tests.support.waiting import until

SETTINGS = ProviderSettings(1, "fake", {})


class SlowDeployer:
    """Answers live status after `delay` seconds, or fails with `error`."""

    kind = "fake"
    capabilities = frozenset({ProviderCapability.LIVE_STATUS})

    def __init__(self, delay: float = 0.0, error: Exception | None = None) -> None:
        self.delay = delay
        self.error = error
        self.calls = 0

    async def start(self, request: DeployRequest) -> ProviderUpdate:
        raise NotImplementedError

    async def poll(self, request: DeployRequest, external_id: str | None) -> ProviderUpdate:
        raise NotImplementedError

    async def cancel(self, request: DeployRequest, external_id: str | None) -> ProviderUpdate:
        raise NotImplementedError

    async def live_status(
        self, service_slug: str, environment_slug: str, settings: Mapping[str, Any]
    ) -> LiveStatus | None:
        self.calls += 1
        await asyncio.sleep(self.delay)
        if self.error is not None:
            raise self.error
        return LiveStatus(Health.HEALTHY, datetime.now(UTC), "fake", f"{service_slug}-1")


class GatedDeployer(SlowDeployer):
    """Answers live status only once `expected` calls are in flight at the same time: lookups
    made one after the other would never get past the first. Counts the most in flight."""

    def __init__(self, expected: int) -> None:
        super().__init__()
        self.expected = expected
        self.in_flight = 0
        self.most_in_flight = 0
        self._all_in = asyncio.Event()

    async def live_status(
        self, service_slug: str, environment_slug: str, settings: Mapping[str, Any]
    ) -> LiveStatus | None:
        self.calls += 1
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.in_flight == self.expected:
                self._all_in.set()
            await self._all_in.wait()
        finally:
            self.in_flight -= 1
        return LiveStatus(Health.HEALTHY, datetime.now(UTC), "fake", f"{service_slug}-1")


class HungDeployer(SlowDeployer):
    """Never answers live status; notes for each time the call is cut off whether the
    lookup's deadline did it (`deadlines.passed()`), not another cancellation."""

    def __init__(self) -> None:
        super().__init__()
        self.cut_by_deadline: list[bool] = []

    async def live_status(
        self, service_slug: str, environment_slug: str, settings: Mapping[str, Any]
    ) -> LiveStatus | None:
        self.calls += 1
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cut_by_deadline.append(deadlines.passed())
            raise
        raise AssertionError("never answers")


class OneDeployer:
    def __init__(self, deployer: Deployer) -> None:
        self.deployer = deployer

    def for_settings(self, provider: ProviderSettings) -> Deployer:
        return self.deployer

    async def for_environments(self, environment_ids: object) -> dict[int, Any]:
        raise NotImplementedError


def lookup(deployer: Deployer, **options: Any) -> LiveStatusLookup:
    return LiveStatusLookup(OneDeployer(deployer), **options)


async def test_two_hundred_lookups_run_concurrently() -> None:
    """A page of 50 services x 4 environments: the provider answers none of them until all
    200 are asked at once, so lookups made one at a time would never end (the wait gives up
    long after a concurrent page is done, and the deadline is longer still)."""
    pairs = [(f"svc-{s}", f"env-{e}") for s in range(50) for e in range(4)]
    provider = GatedDeployer(expected=len(pairs))
    live = lookup(provider, deadline_seconds=3600)
    found = await asyncio.wait_for(
        asyncio.gather(*(live.get(s, e, SETTINGS) for s, e in pairs)), 60
    )
    assert provider.most_in_flight == provider.calls == len(pairs)
    assert provider.in_flight == 0
    assert [status.version if status else None for status in found] == [f"{s}-1" for s, _ in pairs]


async def test_a_hung_provider_fails_at_the_deadline() -> None:
    """The lookup's own deadline cuts the call (not the test giving up on it, after a wait far
    longer than the deadline) and says so."""
    provider = HungDeployer()
    live = lookup(provider, deadline_seconds=0.2)
    with pytest.raises(ProviderFailure) as failure:
        await asyncio.wait_for(live.get("api", "production", SETTINGS), 60)
    assert provider.cut_by_deadline == [True]
    assert provider.calls == 1
    assert failure.value.code is ErrorCode.PROVIDER_ERROR
    assert failure.value.extensions == {"code": "PROVIDER_ERROR"}
    assert failure.value.message == "the fake provider did not answer within 0.2 s"


async def test_provider_errors_and_surprises_become_provider_failures() -> None:
    with pytest.raises(ProviderFailure, match=r"^cluster unreachable$"):
        await lookup(SlowDeployer(error=ProviderError("cluster unreachable"))).get(
            "api", "production", SETTINGS
        )
    with pytest.raises(ProviderFailure, match=r"^the fake provider failed$"):
        await lookup(SlowDeployer(error=KeyError("token=secret"))).get(
            "api", "production", SETTINGS
        )


async def test_outcomes_are_cached_briefly_and_shared_while_in_flight() -> None:
    clock = FakeClock()
    provider = SlowDeployer(delay=0.05)
    live = lookup(provider, cache_seconds=5, clock=clock)
    await asyncio.gather(*(live.get("api", "production", SETTINGS) for _ in range(20)))
    assert provider.calls == 1
    await live.get("api", "production", SETTINGS)
    await live.get("web", "production", SETTINGS)
    assert provider.calls == 2
    clock.advance(5)
    await live.get("api", "production", SETTINGS)
    assert provider.calls == 3


async def test_failures_are_cached_too() -> None:
    clock = FakeClock()
    provider = SlowDeployer(error=ProviderError("down"))
    live = lookup(provider, clock=clock)
    for _ in range(3):
        with pytest.raises(ProviderFailure):
            await live.get("api", "production", SETTINGS)
    assert provider.calls == 1


class HeldDeployer(SlowDeployer):
    """Answers live status once `answer` is set; counts the calls that started."""

    def __init__(self) -> None:
        super().__init__()
        self.answer = asyncio.Event()

    async def live_status(
        self, service_slug: str, environment_slug: str, settings: Mapping[str, Any]
    ) -> LiveStatus | None:
        self.calls += 1
        await self.answer.wait()
        return LiveStatus(Health.HEALTHY, datetime.now(UTC), "fake", f"{service_slug}-1")


async def test_a_canceled_caller_does_not_fail_the_others() -> None:
    """The first caller leads the provider call and the second waits on it; the first is
    canceled while the call is still out: the second asks again and gets the answer."""
    provider = HeldDeployer()
    live = lookup(provider)
    first = asyncio.create_task(live.get("api", "production", SETTINGS))
    await until(lambda: provider.calls == 1, pause=0)
    second = asyncio.create_task(live.get("api", "production", SETTINGS))
    for _ in range(10):
        await asyncio.sleep(0)
    assert provider.calls == 1, "the second caller should wait on the first's call"
    first.cancel()
    await until(lambda: provider.calls == 2, pause=0)
    provider.answer.set()
    status = await asyncio.wait_for(second, 60)
    assert status is not None
    assert status.health is Health.HEALTHY
    assert first.cancelled()


async def test_without_the_capability_there_is_no_live_status() -> None:
    provider = SlowDeployer()
    provider.capabilities = frozenset()
    assert await lookup(provider).get("api", "production", SETTINGS) is None
    assert provider.calls == 0


async def test_the_simulated_provider_through_the_lookup() -> None:
    clock = FakeClock()
    simulated = SimulatedDeployer({"durationSeconds": 5}, clock=clock)
    request = DeployRequest(1, "api", "production", "1.2.3", None, DeploymentKind.DEPLOY)
    await simulated.start(request)
    clock.advance(5)
    status = await lookup(simulated).get("api", "production", SETTINGS)
    assert status is not None
    assert (status.health, status.version, status.source) == (Health.HEALTHY, "1.2.3", "simulated")


async def test_a_provider_whose_circuit_is_open_is_answered_at_once_without_asking_it() -> None:
    slow = SlowDeployer(delay=10.0)
    circuits = ProviderCircuits(failures=2, reset_seconds=3600)
    live = lookup(circuits.deployer(slow, {}), deadline_seconds=0.05, cache_seconds=0)
    for service in ("a", "b"):
        with pytest.raises(ProviderFailure) as failed:
            await live.get(service, "prod", SETTINGS)
        assert failed.value.message == "the fake provider did not answer within 0.05 s"
    with pytest.raises(ProviderFailure) as refused:
        await live.get("c", "prod", SETTINGS)
    assert refused.value.code is ErrorCode.PROVIDER_ERROR
    assert refused.value.message.startswith("provider fake unavailable, retrying after ")
    assert slow.calls == 2
