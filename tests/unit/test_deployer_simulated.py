"""The simulated provider, by a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.deployments.model import DeploymentKind, DeploymentState, DeployRequest, Health
from providers.deployers.simulated import SimulatedDeployer
from tests.support.clock import FakeClock


def deploy_request(deployment_id: int, version: str, service: str = "payments") -> DeployRequest:
    return DeployRequest(deployment_id, service, "production", version, None, DeploymentKind.DEPLOY)


async def test_a_rollout_takes_duration_seconds_by_the_clock() -> None:
    clock = FakeClock()
    deployer = SimulatedDeployer({"durationSeconds": 30}, clock=clock)
    request = deploy_request(1, "1.0.0")
    started = await deployer.start(request)
    assert (started.state, started.external_id) == (DeploymentState.IN_PROGRESS, "sim-1")
    clock.advance(29.9)
    assert (await deployer.poll(request, "sim-1")).state is DeploymentState.IN_PROGRESS
    clock.advance(0.1)
    done = await deployer.poll(request, "sim-1")
    assert (done.state, done.message) == (DeploymentState.SUCCEEDED, None)


async def test_the_default_duration_is_five_seconds() -> None:
    clock = FakeClock()
    deployer = SimulatedDeployer(clock=clock)
    request = deploy_request(1, "1.0.0")
    await deployer.start(request)
    clock.advance(4.9)
    assert (await deployer.poll(request, None)).state is DeploymentState.IN_PROGRESS
    clock.advance(0.1)
    assert (await deployer.poll(request, None)).state is DeploymentState.SUCCEEDED


async def test_a_zero_duration_succeeds_at_once() -> None:
    deployer = SimulatedDeployer({"durationSeconds": 0}, clock=FakeClock())
    assert (await deployer.start(deploy_request(1, "1.0.0"))).state is DeploymentState.SUCCEEDED


async def test_versions_matching_fail_versions_fail_with_a_message() -> None:
    clock = FakeClock()
    deployer = SimulatedDeployer({"durationSeconds": 1, "failVersions": r"^0\.|-rc"}, clock=clock)
    bad, good = deploy_request(1, "2.0.0-rc1"), deploy_request(2, "2.0.0", "billing")
    assert (await deployer.start(bad)).state is DeploymentState.IN_PROGRESS
    await deployer.start(good)
    clock.advance(1)
    failed = await deployer.poll(bad, "sim-1")
    assert failed.state is DeploymentState.FAILED
    assert failed.message == "simulated failure: version 2.0.0-rc1 matches failVersions"
    assert (await deployer.poll(good, "sim-2")).state is DeploymentState.SUCCEEDED


async def test_the_outcome_never_changes_even_if_the_clock_goes_back() -> None:
    clock = FakeClock()
    deployer = SimulatedDeployer({"durationSeconds": 1}, clock=clock)
    request = deploy_request(1, "1.0.0")
    await deployer.start(request)
    clock.advance(2)
    assert (await deployer.poll(request, "sim-1")).state is DeploymentState.SUCCEEDED
    clock.advance(-10)
    assert (await deployer.poll(request, "sim-1")).state is DeploymentState.SUCCEEDED
    assert (await deployer.cancel(request, "sim-1")).state is DeploymentState.SUCCEEDED


async def test_live_status_follows_the_current_version() -> None:
    clock = FakeClock()
    deployer = SimulatedDeployer({"durationSeconds": 5, "failVersions": "bad"}, clock=clock)
    assert await deployer.live_status("payments", "production", {}) is None

    await deployer.start(deploy_request(1, "1.0.0"))
    live = await deployer.live_status("payments", "production", {})
    assert live is not None
    assert (live.health, live.version, live.message) == (
        Health.PROGRESSING,
        "1.0.0",
        "rolling out 1.0.0",
    )
    assert live.observed_at == datetime.fromtimestamp(clock.now, UTC)
    assert live.source == "simulated"

    clock.advance(5)
    live = await deployer.live_status("payments", "production", {})
    assert live is not None
    assert (live.health, live.version) == (Health.HEALTHY, "1.0.0")

    await deployer.start(deploy_request(2, "1.1.0"))
    clock.advance(1)
    live = await deployer.live_status("payments", "production", {})
    assert live is not None
    assert (live.health, live.version, live.message) == (
        Health.PROGRESSING,
        "1.1.0",
        "rolling out 1.1.0 over 1.0.0",
    )
    clock.advance(5)
    await deployer.start(deploy_request(3, "1.2.0-bad"))
    clock.advance(5)
    live = await deployer.live_status("payments", "production", {})
    assert live is not None
    assert (live.health, live.version) == (Health.HEALTHY, "1.1.0")
    assert await deployer.live_status("payments", "staging", {}) is None


async def test_a_canceled_first_rollout_leaves_nothing_running() -> None:
    clock = FakeClock()
    deployer = SimulatedDeployer(clock=clock)
    request = deploy_request(1, "1.0.0")
    await deployer.start(request)
    assert (await deployer.cancel(request, "sim-1")).state is DeploymentState.CANCELED
    clock.advance(60)
    live = await deployer.live_status("payments", "production", {})
    assert live is not None
    assert (live.health, live.version) == (Health.MISSING, None)


async def test_state_belongs_to_the_instance() -> None:
    clock = FakeClock()
    one, other = SimulatedDeployer(clock=clock), SimulatedDeployer(clock=clock)
    await one.start(deploy_request(1, "1.0.0"))
    clock.advance(5)
    assert await one.live_status("payments", "production", {}) is not None
    assert await other.live_status("payments", "production", {}) is None


async def test_a_rollout_unknown_after_a_restart_starts_over() -> None:
    clock = FakeClock()
    request = deploy_request(9, "3.0.0")
    await SimulatedDeployer(clock=clock).start(request)
    restarted = SimulatedDeployer(clock=clock)
    clock.advance(1)
    resumed = await restarted.poll(request, "sim-9")
    assert (resumed.state, resumed.external_id) == (DeploymentState.IN_PROGRESS, "sim-9")
    clock.advance(5)
    assert (await restarted.poll(request, "sim-9")).state is DeploymentState.SUCCEEDED
