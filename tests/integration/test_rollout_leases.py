"""Rollout leases on a real PostgreSQL: the store's claims (each driven deployment to one owner,
never RECORDED, WAITING_APPROVAL or finished ones; lapsed leases taken; renew, release, and a
finish clearing the lease), and runners of several "processes" sharing one store: each
deployment started once, handed over on stop, taken over when a lease lapses, found by the
periodic sweep."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from typing import Any

import asyncpg
import pytest

from domain.access.model import ActorKind
from domain.deployments.model import (
    DeploymentKind,
    DeploymentRecord,
    DeployRequest,
    LiveStatus,
    ProviderCapability,
    ProviderUpdate,
    Requester,
)
from domain.deployments.model import DeploymentState as S
from domain.deployments.ports import RecordedDeployment
from providers.postgres.deployments import PostgresDeploymentStore
from providers.postgres.deployments.leases import RELEASED_CHANNEL
from providers.postgres.notifications import PostgresWakeups
from providers.postgres.reads import PostgresCatalogReader
from resolvers.deployers_by_environment import DeployersByEnvironment
from resolvers.rollouts import Rollouts

ADA = Requester(ActorKind.USER, 1, "Ada")
LEASE = 30.0
SERVICES = 30


class CountingDeployer:
    """Starts into IN_PROGRESS; polls say IN_PROGRESS until `done` is set, then SUCCEEDED;
    cancels once `cancel_gate` is set."""

    kind = "simulated"
    capabilities = frozenset({ProviderCapability.DEPLOY, ProviderCapability.CANCEL})

    def __init__(self) -> None:
        self.calls: dict[str, Counter[int]] = {
            "start": Counter(), "poll": Counter(), "cancel": Counter()
        }  # fmt: skip
        self.done = asyncio.Event()
        self.cancel_gate = asyncio.Event()

    async def start(self, request: DeployRequest) -> ProviderUpdate:
        self.calls["start"][request.deployment_id] += 1
        return ProviderUpdate(S.IN_PROGRESS, "started", None, f"ext-{request.deployment_id}")

    async def poll(self, request: DeployRequest, external_id: str | None) -> ProviderUpdate:
        self.calls["poll"][request.deployment_id] += 1
        return ProviderUpdate(S.SUCCEEDED if self.done.is_set() else S.IN_PROGRESS, "polled")

    async def cancel(self, request: DeployRequest, external_id: str | None) -> ProviderUpdate:
        self.calls["cancel"][request.deployment_id] += 1
        await self.cancel_gate.wait()
        return ProviderUpdate(S.CANCELED, "canceled")

    async def live_status(
        self, service_slug: str, environment_slug: str, settings: Mapping[str, Any]
    ) -> LiveStatus | None:
        return None


class Replicas:
    """Runners sharing one store and one provider, each with a lease owner of its own."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.store = PostgresDeploymentStore(pool)
        self.provider = CountingDeployer()
        self.runners: list[Rollouts] = []

    def runner(
        self,
        owner: str,
        *,
        sweep_seconds: float | None = None,
        released: PostgresWakeups | None = None,
    ) -> Rollouts:
        provider = self.provider
        deployers = DeployersByEnvironment(self.store, build=lambda *_, **__: provider)
        rollouts = Rollouts(
            self.store, PostgresCatalogReader(self.pool), deployers, poll_seconds=0.01,
            owner=owner, lease_seconds=LEASE, sweep_seconds=sweep_seconds, released=released,
        )  # fmt: skip
        self.runners.append(rollouts)
        return rollouts

    async def deploy(self, service: str) -> DeploymentRecord:
        record, _ = await self.store.create(
            service, "staging", "1.0.0", None, None, DeploymentKind.DEPLOY, ADA
        )
        return record

    async def leases(self) -> dict[int, str | None]:
        rows = await self.pool.fetch("SELECT id, lease_owner FROM deployments ORDER BY id")
        return {row["id"]: row["lease_owner"] for row in rows}

    async def states(self) -> dict[int, S]:
        rows = await self.pool.fetch("SELECT id, state FROM deployments ORDER BY id")
        return {row["id"]: S(row["state"]) for row in rows}

    async def until_states(self, state: S, count: int) -> None:
        for _ in range(500):
            found = await self.states()
            if len(found) == count and set(found.values()) == {state}:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"not all {state.value}: {await self.states()}")


@pytest.fixture
async def replicas(pool: asyncpg.Pool) -> AsyncIterator[Replicas]:
    await pool.execute(
        "INSERT INTO services (slug, name) SELECT format('s%s', i), 's' "
        f"FROM generate_series(1, {SERVICES}) i"
    )
    await pool.execute(
        "INSERT INTO environments (slug, name, tier) VALUES ('staging', 'Staging', 'STAGING')"
    )
    world = Replicas(pool)
    yield world
    for runner in world.runners:
        await runner.stop()


# --- the store ------------------------------------------------------------------------


async def test_concurrent_claims_take_each_deployment_once(replicas: Replicas) -> None:
    made = [await replicas.deploy(f"s{i}") for i in range(1, SERVICES + 1)]
    claims = await asyncio.gather(
        *(replicas.store.claim_rollouts(f"o{n}", LEASE, limit=10) for n in range(6))
    )
    claimed = [d.id for claim in claims for d in claim]
    assert sorted(claimed) == [d.id for d in made]
    leases = await replicas.leases()
    for n, claim in enumerate(claims):
        assert {leases[d.id] for d in claim} <= {f"o{n}"}
    assert await replicas.store.claim_rollouts("late", LEASE) == []


async def test_only_deployments_a_provider_drives_are_claimed(replicas: Replicas) -> None:
    queued = await replicas.deploy("s1")
    running = await replicas.deploy("s2")
    await replicas.store.transition(running.id, S.IN_PROGRESS, raw_status=None, message=None,
                                    source="t")  # fmt: skip
    finished = await replicas.deploy("s3")
    await replicas.store.transition(finished.id, S.FAILED, raw_status=None, message=None,
                                    source="t")  # fmt: skip
    report = RecordedDeployment("s4", "staging", "9", S.IN_PROGRESS, external_id="ci-1")
    await replicas.store.record(report, Requester(ActorKind.CLIENT, 1, "ci"))
    await replicas.store.set_protection("staging", 1, [], False)
    waiting = await replicas.deploy("s5")
    assert waiting.state is S.WAITING_APPROVAL

    claimed = await replicas.store.claim_rollouts("a", LEASE)
    assert [d.id for d in claimed] == [queued.id, running.id]


async def test_lapsed_leases_are_taken_and_renewals_tell_who_holds(replicas: Replicas) -> None:
    first = await replicas.deploy("s1")
    second = await replicas.deploy("s2")
    assert len(await replicas.store.claim_rollouts("a", LEASE)) == 2
    assert await replicas.store.claim_rollouts("b", LEASE, ids=[first.id]) == []
    await replicas.pool.execute(
        "UPDATE deployments SET lease_expires_at = now() - interval '1 second' WHERE id = $1",
        first.id,
    )
    taken = await replicas.store.claim_rollouts("b", LEASE)
    assert [d.id for d in taken] == [first.id]
    assert await replicas.store.renew_rollouts("a", [first.id, second.id], LEASE) == {second.id}
    assert await replicas.store.renew_rollouts("b", [first.id, second.id], LEASE) == {first.id}

    assert await replicas.store.release_rollouts("b") == 1
    assert (await replicas.leases())[first.id] is None
    row = await replicas.pool.fetchrow(
        "SELECT lease_expires_at FROM deployments WHERE id = $1", first.id
    )
    assert row is not None
    assert row["lease_expires_at"] is None


async def test_finishing_a_deployment_clears_its_lease(replicas: Replicas) -> None:
    deployment = await replicas.deploy("s1")
    await replicas.store.claim_rollouts("a", LEASE)
    for state in (S.IN_PROGRESS, S.SUCCEEDED):
        await replicas.store.transition(deployment.id, state, raw_status=None, message=None,
                                        source="t")  # fmt: skip
    assert await replicas.leases() == {deployment.id: None}
    assert await replicas.store.renew_rollouts("a", [deployment.id], LEASE) == set()


# --- runners sharing the store ----------------------------------------------------------


async def test_each_deployment_is_started_once_and_handed_over_on_stop(
    replicas: Replicas,
) -> None:
    a, b = replicas.runner("a"), replicas.runner("b")
    made = [await replicas.deploy(f"s{i}") for i in range(1, 6)]
    for deployment in made:
        await a.begin(deployment)
    for deployment in made:
        await b.begin(deployment)
    assert await b.sweep() == 0
    assert not b.running()
    assert a.running() == {d.id for d in made}
    await replicas.until_states(S.IN_PROGRESS, len(made))

    await a.stop()
    assert set((await replicas.leases()).values()) == {None}
    assert await b.sweep() == len(made)
    replicas.provider.done.set()
    await asyncio.wait_for(b.wait_idle(), 5)
    await replicas.until_states(S.SUCCEEDED, len(made))
    assert replicas.provider.calls["start"] == Counter({d.id: 1 for d in made})
    assert set((await replicas.leases()).values()) == {None}


async def test_a_process_that_stops_has_its_deployments_taken_over_at_once(
    replicas: Replicas, migrated_url: str
) -> None:
    """Not at the next periodic sweep (an hour here): the stopping process's release
    notifies the others (`NOTIFY paved_rollouts`), which sweep right away."""
    a = replicas.runner("a")
    released = PostgresWakeups(migrated_url, channel=RELEASED_CHANNEL, catch_up=False)
    b = replicas.runner("b", sweep_seconds=3600, released=released)
    b.start()
    for _ in range(500):  # listening before anything is released
        if released.connections:
            break
        await asyncio.sleep(0.01)
    made = [await replicas.deploy(f"s{i}") for i in range(1, 4)]
    for deployment in made:
        await a.begin(deployment)
    await replicas.until_states(S.IN_PROGRESS, len(made))
    await a.stop()
    for _ in range(500):
        if b.running() == {d.id for d in made}:
            break
        await asyncio.sleep(0.01)
    assert b.running() == {d.id for d in made}
    assert set((await replicas.leases()).values()) == {"b"}
    assert replicas.provider.calls["start"] == Counter({d.id: 1 for d in made})


async def test_a_lapsed_lease_is_taken_over_and_its_old_holder_lets_go(
    replicas: Replicas,
) -> None:
    a, b = replicas.runner("a"), replicas.runner("b")
    deployment = await replicas.deploy("s1")
    await a.begin(deployment)
    await replicas.until_states(S.IN_PROGRESS, 1)
    # The lease lapses; `a` may still be storing IN_PROGRESS (which holds it again) on a
    # loaded machine, so lapse it until a sweep of `b` finds it lapsed.
    taken = 0
    for _ in range(50):
        await replicas.pool.execute(
            "UPDATE deployments SET lease_expires_at = now() - interval '1 second'"
        )
        taken = await b.sweep()
        if taken:
            break
        await asyncio.sleep(0.02)
    assert taken == 1
    assert await replicas.leases() == {deployment.id: "b"}
    await a.renew()
    await asyncio.wait_for(a.wait_idle(), 5)
    assert b.running() == {deployment.id}

    replicas.provider.done.set()
    await asyncio.wait_for(b.wait_idle(), 5)
    assert (await replicas.states())[deployment.id] is S.SUCCEEDED
    assert replicas.provider.calls["start"] == Counter({deployment.id: 1})


class HeldClaims(PostgresDeploymentStore):
    """The deployment store, its claims held back until `go` is set."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        super().__init__(pool)
        self.go = asyncio.Event()

    async def claim_rollouts(self, *args: Any, **kwargs: Any) -> list[DeploymentRecord]:
        await self.go.wait()
        return await super().claim_rollouts(*args, **kwargs)


async def test_waiting_until_idle_waits_for_a_claim_in_flight_and_what_it_starts(
    replicas: Replicas,
) -> None:
    """A claim in flight (a sweep's, say, which a `begin` may have found holding its
    deployment) is about to start following: `wait_idle` waits for it and for the following."""
    deployment = await replicas.deploy("s1")
    replicas.store = held = HeldClaims(replicas.pool)
    runner = replicas.runner("a")
    replicas.provider.done.set()
    sweep = asyncio.create_task(runner.sweep())
    await asyncio.sleep(0.01)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(asyncio.shield(runner.wait_idle()), 0.1)
    idle = asyncio.create_task(runner.wait_idle())
    held.go.set()
    await asyncio.wait_for(idle, 10)
    assert await sweep == 1
    assert (await replicas.states())[deployment.id] is S.SUCCEEDED


async def test_the_periodic_sweep_finds_deployments_nobody_follows(replicas: Replicas) -> None:
    replicas.provider.done.set()
    runner = replicas.runner("a", sweep_seconds=0.02)
    runner.start()
    made = [await replicas.deploy(f"s{i}") for i in range(1, 4)]
    await replicas.until_states(S.SUCCEEDED, len(made))
    assert replicas.provider.calls["start"] == Counter({d.id: 1 for d in made})


async def test_a_deployment_being_canceled_is_not_resumed_meanwhile(replicas: Replicas) -> None:
    a = replicas.runner("a")
    deployment = await replicas.deploy("s1")
    await a.begin(deployment)
    await replicas.until_states(S.IN_PROGRESS, 1)
    current = (await replicas.store.by_ids([deployment.id]))[deployment.id]
    canceling = asyncio.create_task(a.cancel(current))
    while not replicas.provider.calls["cancel"][deployment.id]:  # noqa: ASYNC110
        await asyncio.sleep(0.01)

    assert await a.sweep() == 0
    await a.renew()
    assert not a.running()
    assert await replicas.leases() == {deployment.id: "a"}
    replicas.provider.cancel_gate.set()
    assert (await canceling).state is S.CANCELED
    assert await replicas.leases() == {deployment.id: None}
    assert replicas.provider.calls["start"] == Counter({deployment.id: 1})
