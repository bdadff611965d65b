"""The provisioning runner on a real PostgreSQL, with a counting fake provider: each resource
applied once by exactly one of several runners ("replicas") sharing one store, taken over
when its holder dies (its lease lapses) or stops (its leases released), updates and deletions
applied first on every drive, failures FAILED with the provider's words, first deployments of
a template made once its resources are READY."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from typing import Any

import asyncpg
import pytest

from api.observability.provider_calls import ProviderCalls
from domain.access.model import ActorKind
from domain.catalog.services import ServiceDraft
from domain.deployments.model import (
    InvalidProviderSettings,
    ProviderCapability,
    ProviderError,
    ProviderUnreachable,
    Requester,
)
from domain.resources.model import (
    Provisioner,
    ProvisionRequest,
    ResourceClassDraft,
    ResourceDraft,
    ResourceHealth,
    ResourceRecord,
    ResourceUpdate,
)
from domain.resources.model import ResourceState as S
from domain.resources.ports import FirstDeployment
from providers.circuits import ProviderCircuits
from providers.postgres.deployments import PostgresDeploymentStore
from providers.postgres.notifications import PostgresWakeups
from providers.postgres.reads import PostgresCatalogReader
from providers.postgres.resources import PostgresResourceStore
from providers.postgres.resources.leases import RELEASED_CHANNEL
from resolvers.provisioning import Provisioning, ProvisioningTimings

ADA = Requester(ActorKind.USER, 1, "Ada")
SERVICES = 20


class CountingProvider:
    """Applies into PROVISIONING; polls answer READY once `done` is set; deletes into
    DELETED; fails what asks for `size: doomed`."""

    kind = "simulated"

    def __init__(self) -> None:
        self.calls: dict[str, Counter[int]] = {"apply": Counter(), "poll": Counter(),
                                                "delete": Counter()}  # fmt: skip
        self.done = asyncio.Event()
        self.seen: list[ProvisionRequest] = []

    async def apply(self, request: ProvisionRequest) -> ResourceUpdate:
        self.calls["apply"][request.resource_id] += 1
        self.seen.append(request)
        if request.parameters.get("size") == "doomed":
            raise ProviderError("no capacity for doomed databases")
        return ResourceUpdate(S.PROVISIONING, "creating")

    async def poll(self, request: ProvisionRequest) -> ResourceUpdate | None:
        self.calls["poll"][request.resource_id] += 1
        if not self.done.is_set():
            return None
        return ResourceUpdate(S.READY, "up", {"host": f"db-{request.resource_id}",
                                              "password": "leaked?"})  # fmt: skip

    async def delete(self, request: ProvisionRequest) -> ResourceUpdate:
        self.calls["delete"][request.resource_id] += 1
        return ResourceUpdate(S.DELETED, "gone")

    async def live(self, request: ProvisionRequest) -> ResourceHealth | None:
        return None


class Kinds:
    def __init__(self, provider: CountingProvider) -> None:
        self.provider = provider

    def build(
        self, kind: str, settings: Mapping[str, Any], *, clock: Callable[[], float] = time.time
    ) -> Provisioner:
        if kind != "simulated":
            raise InvalidProviderSettings(f"unknown kind {kind}", "kind")
        return self.provider

    async def check(self, kind: str, settings: Mapping[str, Any]) -> None: ...

    def capabilities(self, kind: str, settings: Mapping[str, Any]) -> list[ProviderCapability]:
        return [ProviderCapability.PROVISION]

    def kinds(self) -> Collection[str]:
        return ["simulated"]


FAST = ProvisioningTimings(lease_seconds=30, poll_seconds=0.01, sweep_seconds=3600)


class Replicas:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.store = PostgresResourceStore(pool)
        self.provider = CountingProvider()
        self.runners: list[Provisioning] = []

    def runner(
        self,
        owner: str,
        timings: ProvisioningTimings = FAST,
        released: PostgresWakeups | None = None,
    ) -> Provisioning:
        made = Provisioning(
            self.store, Kinds(self.provider), PostgresCatalogReader(self.pool),
            PostgresDeploymentStore(self.pool), owner=owner, timings=timings, released=released,
        )  # fmt: skip
        self.runners.append(made)
        return made

    async def stop(self) -> None:
        for runner in self.runners:
            await runner.stop()


@pytest.fixture
async def replicas(pool: asyncpg.Pool) -> Any:
    await pool.execute(
        "INSERT INTO teams (slug, name) VALUES ('pay', 'Pay');"
        f"INSERT INTO services (slug, name) SELECT 's' || n, 'S' || n "
        f"FROM generate_series(1, {SERVICES}) AS n;"
        "INSERT INTO service_owners (service_id, team_id, role) "
        "SELECT s.id, t.id, 'PRIMARY' FROM services s, teams t;"
        "INSERT INTO environments (slug, name, tier) VALUES ('staging', 'Staging', 'STAGING')"
    )
    made = Replicas(pool)
    yield made
    await made.stop()


async def _class(replicas: Replicas, kind: str = "simulated") -> int:
    created = await replicas.store.create_class(
        ResourceClassDraft(
            slug=f"db-{kind}", name="DB", type="postgres", provider_kind=kind,
            provider_settings={}, parameters_schema={"type": "object"},
        )
    )  # fmt: skip
    return created.id


async def _requests(
    replicas: Replicas, count: int, size: str = "S", kind: str = "simulated"
) -> list[ResourceRecord]:
    class_id = await _class(replicas, kind)
    service_ids = [row["id"] for row in await replicas.pool.fetch("SELECT id FROM services")]
    environment_id = await replicas.pool.fetchval("SELECT id FROM environments")
    made = []
    for service_id in service_ids[:count]:
        record, _ = await replicas.store.request(
            ResourceDraft("db", service_id, environment_id, class_id, {"size": size}, 0, ADA)
        )
        made.append(record)
    return made


async def _states(pool: asyncpg.Pool) -> Counter[str]:
    return Counter(row["state"] for row in await pool.fetch("SELECT state FROM resources"))


async def _until(condition: Callable[[], Any], seconds: float = 10) -> None:
    for _ in range(int(seconds / 0.02)):
        if await condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the condition never held")


async def test_replicas_apply_each_resource_exactly_once(replicas: Replicas) -> None:
    made = await _requests(replicas, SERVICES)
    a, b = replicas.runner("a"), replicas.runner("b")
    await asyncio.gather(*(runner.begin(record) for record in made for runner in (a, b)))
    await asyncio.gather(a.sweep(), b.sweep())

    async def all_provisioning() -> bool:
        return (await _states(replicas.pool))["PROVISIONING"] == SERVICES

    await _until(all_provisioning)
    assert replicas.provider.calls["apply"] == Counter({record.id: 1 for record in made})
    assert not a.driving & b.driving
    assert len(a.driving | b.driving) == SERVICES

    replicas.provider.done.set()
    await asyncio.wait_for(asyncio.gather(a.wait_idle(), b.wait_idle()), 10)
    assert await _states(replicas.pool) == Counter({"READY": SERVICES})
    outputs = await replicas.pool.fetch("SELECT outputs::text AS o FROM resources")
    assert not any("leaked" in row["o"] for row in outputs), "secret-looking outputs dropped"
    assert (
        await replicas.pool.fetchval("SELECT count(*) FROM resources WHERE leased_by IS NOT NULL")
        == 0
    )


async def test_a_dead_replicas_resources_are_taken_over_when_its_leases_lapse(
    replicas: Replicas,
) -> None:
    made = await _requests(replicas, 5)
    short = ProvisioningTimings(lease_seconds=0.5, poll_seconds=0.01, sweep_seconds=3600)
    dying = replicas.runner("dying", short)
    for record in made:
        await dying.begin(record)

    async def applied() -> bool:
        return (await _states(replicas.pool))["PROVISIONING"] == 5

    await _until(applied)
    # kill -9: its tasks vanish, its leases stay until they lapse.
    for task in list(dying._tasks.values()):  # a process dying, in-process
        task.cancel()
    dying._stopping = True
    heir = replicas.runner("heir", short)
    assert await heir.sweep() == 0, "leases still held"
    await asyncio.sleep(0.6)
    assert await heir.sweep() == 5
    replicas.provider.done.set()
    await asyncio.wait_for(heir.wait_idle(), 10)
    assert await _states(replicas.pool) == Counter({"READY": 5})
    # Taken over PROVISIONING: polled, never applied again.
    assert replicas.provider.calls["apply"] == Counter({record.id: 1 for record in made})


async def test_a_stopped_replica_hands_its_resources_over_at_once(
    replicas: Replicas, migrated_url: str
) -> None:
    """Not at the next periodic sweep (an hour here): the stopping process's release notifies
    the others (`NOTIFY paved_resources`), which sweep right away."""
    released = PostgresWakeups(migrated_url, channel=RELEASED_CHANNEL, catch_up=False)
    staying = replicas.runner("staying", released=released)
    staying.start()
    for _ in range(500):  # listening before anything is released
        if released.connections:
            break
        await asyncio.sleep(0.01)
    made = await _requests(replicas, 3)
    leaving = replicas.runner("leaving")
    for record in made:
        await leaving.begin(record)
    await _until(lambda: _count_state(replicas.pool, "PROVISIONING", 3))
    await leaving.stop()
    await _until(lambda: _driving(staying, {record.id for record in made}))
    replicas.provider.done.set()
    await asyncio.wait_for(staying.wait_idle(), 10)
    assert await _states(replicas.pool) == Counter({"READY": 3})


async def _driving(runner: Provisioning, ids: set[int]) -> bool:
    return runner.driving == ids


async def _count_state(pool: asyncpg.Pool, state: str, count: int) -> bool:
    return (await _states(pool))[state] == count


async def test_failures_updates_and_deletions(replicas: Replicas) -> None:
    (doomed,) = await _requests(replicas, 1, size="doomed")
    runner = replicas.runner("r")
    await runner.begin(doomed)
    await asyncio.wait_for(runner.wait_idle(), 10)
    row = await replicas.pool.fetchrow("SELECT state, status_message FROM resources")
    assert row is not None
    assert (row["state"], row["status_message"]) == ("FAILED", "no capacity for doomed databases")

    # Asked again with other parameters: UPDATING is applied on every drive, then polled.
    replicas.provider.done.set()
    updating = await replicas.store.update_parameters(doomed.id, None, {"size": "M"})
    await runner.begin(updating)
    await asyncio.wait_for(runner.wait_idle(), 10)
    assert (await _states(replicas.pool)) == Counter({"READY": 1})
    assert replicas.provider.seen[-1].parameters == {"size": "M"}

    deleting = await replicas.store.request_delete(doomed.id, None)
    assert deleting.state is S.DELETING
    await runner.begin(deleting)
    await asyncio.wait_for(runner.wait_idle(), 10)
    assert (await _states(replicas.pool)) == Counter({"DELETED": 1})
    assert replicas.provider.calls["delete"][doomed.id] == 1


async def test_a_class_whose_provider_cannot_be_built_fails_its_resources(
    replicas: Replicas,
) -> None:
    (record,) = await _requests(replicas, 1, kind="gone")
    runner = replicas.runner("r")
    await runner.begin(record)
    await asyncio.wait_for(runner.wait_idle(), 10)
    row = await replicas.pool.fetchrow("SELECT state, status_message FROM resources")
    assert row is not None
    assert row["state"] == "FAILED"
    assert "unknown kind" in row["status_message"]


async def test_the_first_deployment_waits_for_every_resource_to_be_ready(
    replicas: Replicas, pool: asyncpg.Pool
) -> None:
    class_id = await _class(replicas)
    environment_id = await pool.fetchval("SELECT id FROM environments")
    await pool.execute("INSERT INTO teams (slug, name) VALUES ('web', 'Web')")
    service, resources, _ = await replicas.store.create_service_with_resources(
        ServiceDraft(slug="fresh", name="Fresh", owner="pay"),
        [ResourceDraft(name, 0, environment_id, class_id, {}, 0, ADA) for name in ("db", "mq")],
        [FirstDeployment(0, environment_id, "1.0.0", ADA)],
        None,
        None,
    )
    runner = replicas.runner("r")
    await runner.begin(resources[0])
    replicas.provider.done.set()
    await asyncio.wait_for(runner.wait_idle(), 10)
    assert await pool.fetchval("SELECT count(*) FROM deployments") == 0, "mq is not READY yet"
    await runner.begin(resources[1])
    await asyncio.wait_for(runner.wait_idle(), 10)
    deployed = await pool.fetch("SELECT version, service_id FROM deployments")
    assert [(row["version"], row["service_id"]) for row in deployed] == [("1.0.0", service.id)]
    assert await runner.first_deployments(service.id) == [], "made once"


class HeldClaims(PostgresResourceStore):
    """The resource store, its claims held back until `go` is set."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        super().__init__(pool)
        self.go = asyncio.Event()

    async def claim(self, *args: Any, **kwargs: Any) -> list[ResourceRecord]:
        await self.go.wait()
        return await super().claim(*args, **kwargs)


async def test_waiting_until_idle_waits_for_a_claim_in_flight_and_what_it_starts(
    replicas: Replicas, pool: asyncpg.Pool
) -> None:
    """A claim in flight (a sweep's, say, which a `begin` may have found holding its
    resource) is about to start driving: `wait_idle` waits for it and for the driving."""
    [resource] = await _requests(replicas, 1)
    replicas.store = HeldClaims(pool)
    runner = replicas.runner("r")
    replicas.provider.done.set()
    sweep = asyncio.create_task(runner.sweep())
    await asyncio.sleep(0.01)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(asyncio.shield(runner.wait_idle()), 0.1)
    idle = asyncio.create_task(runner.wait_idle())
    replicas.store.go.set()
    await asyncio.wait_for(idle, 10)
    assert await sweep == 1
    assert await _states(pool) == Counter({S.READY.value: 1})
    assert resource.state is S.REQUESTED


async def test_a_resource_waits_requested_while_its_providers_circuit_is_open(
    replicas: Replicas,
) -> None:
    """The provider failed for want of a connection: its circuit opens, and the next resource
    is not handed to it (nor FAILED) until the circuit lets a call through."""
    outcomes: list[str] = []
    circuits = ProviderCircuits(failures=1, reset_seconds=3600)
    calls = ProviderCalls(lambda kind, operation, outcome, seconds: outcomes.append(outcome), None)
    reopened = asyncio.Event()

    async def sleep(seconds: float) -> None:
        if seconds > 60:  # waiting for the circuit: until the test closes it
            await reopened.wait()
        else:
            await asyncio.sleep(seconds)

    unreachable = iter([ProviderUnreachable("apply failed after 3 attempts: HTTP 503")])
    apply = replicas.provider.apply

    async def flaky_apply(request: ProvisionRequest) -> ResourceUpdate:
        for failure in unreachable:
            raise failure
        return await apply(request)

    replicas.provider.apply = flaky_apply  # type: ignore[method-assign]
    runner = Provisioning(
        replicas.store, calls.provisioner_kinds(circuits.provisioner_kinds(Kinds(replicas.provider))),
        PostgresCatalogReader(replicas.pool), PostgresDeploymentStore(replicas.pool),
        owner="r", timings=FAST, sleep=sleep,
    )  # fmt: skip
    replicas.runners.append(runner)
    first, second = await _requests(replicas, 2)
    await runner.begin(first)
    await _until(lambda: _count_state(replicas.pool, "FAILED", 1))
    await runner.begin(second)
    await _until(lambda: _outcome(outcomes, "circuit_open"))
    assert await _states(replicas.pool) == Counter({"FAILED": 1, "REQUESTED": 1})
    assert replicas.provider.calls["apply"][second.id] == 0
    circuits.forget()
    replicas.provider.done.set()
    reopened.set()
    await asyncio.wait_for(runner.wait_idle(), 10)
    assert await _states(replicas.pool) == Counter({"FAILED": 1, "READY": 1})
    assert replicas.provider.calls["apply"][second.id] == 1


async def _outcome(outcomes: list[str], outcome: str) -> bool:
    return outcome in outcomes
