"""The simulated resource adapter's live health: a fresh adapter (each request builds one)
answers from the state the platform stored for a settled resource, and from its own clock
while something is under way."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.resources.model import ProvisionRequest, ResourceState
from providers.resources.simulated import SimulatedProvisioner


def _request(state: ResourceState | None, started: float | None = None) -> ProvisionRequest:
    return ProvisionRequest(
        resource_id=7, name="db", service_slug="pay", environment_slug="prod",
        class_slug="postgres", class_type="postgres", parameters={"size": "S"},
        started_at=None if started is None else datetime.fromtimestamp(started, UTC),
        state=state,
    )  # fmt: skip


async def test_a_ready_resource_is_healthy_to_a_fresh_adapter() -> None:
    adapter = SimulatedProvisioner({"durationSeconds": 3600}, clock=lambda: 1000.0)
    health = await adapter.live(_request(ResourceState.READY))
    assert (health.healthy, health.message) == (True, "available")
    failed = await adapter.live(_request(ResourceState.FAILED))
    assert failed.healthy is False


async def test_a_resource_being_built_is_not_healthy_until_its_time_is_up() -> None:
    now = [1000.0]
    adapter = SimulatedProvisioner({"durationSeconds": 30}, clock=lambda: now[0])
    building = _request(ResourceState.PROVISIONING, started=1000.0)
    assert (await adapter.live(building)).healthy is False
    now[0] = 1031.0
    assert (await adapter.live(building)).healthy is True
