"""Rollouts across replicas: two app processes on one database, every provider call counted by
one fake provider server. Each deployment is started once, whichever replica runs it; a replica
killed with `kill -9` loses its rollouts to the other when its leases lapse; one stopped with
SIGTERM finishes the request in flight and hands its rollouts over at once."""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg

from tests.support.deployer_fakes.counting_provider import (
    CountingProvider,
    running_counting_provider,
)
from tests.support.graphql import GraphQLClient
from tests.support.processes import migrated_scratch_database
from tests.support.replicas import Replica, replicas

SERVICES = 20
SEED = (
    "INSERT INTO teams (slug, name) VALUES ('ops', 'Ops');"
    "INSERT INTO services (slug, name) "
    f"SELECT format('svc-%s', lpad(i::text, 2, '0')), 'svc' FROM generate_series(1, {SERVICES}) i;"
    "INSERT INTO service_owners (service_id, team_id, role) "
    "SELECT id, (SELECT id FROM teams), 'PRIMARY' FROM services;"
)
DEPLOYMENT = "deployment { id state }"
WAIT = 60.0


async def until(what: str, check: Callable[[], Awaitable[bool]]) -> None:
    deadline = time.monotonic() + WAIT
    while not await check():
        assert time.monotonic() < deadline, f"still not {what} after {WAIT:.0f} s"
        await asyncio.sleep(0.1)


async def deploy_all(replica: Replica, count: int) -> dict[str, str]:
    """An environment `staging`, then a deployment of svc-01..svc-<count> through `replica`;
    their global ids by service."""
    async with replica.client() as http:
        gql = GraphQLClient(http)
        created = await gql.mutate(
            "createEnvironment", "environment { slug }", slug="staging", name="Staging",
            tier="STAGING", provider={"kind": "simulated", "settings": {}},
        )  # fmt: skip
        assert created["errors"] == [], created
        services = [f"svc-{i:02d}" for i in range(1, count + 1)]
        deployed = await asyncio.gather(
            *(
                gql.mutate("deploy", DEPLOYMENT, service=s, environment="staging", version="1")
                for s in services
            )
        )
    assert all(d["errors"] == [] for d in deployed), deployed
    return {s: d["deployment"]["id"] for s, d in zip(services, deployed, strict=True)}


async def deployments(db: asyncpg.Connection) -> dict[int, asyncpg.Record]:
    rows = await db.fetch(
        "SELECT d.id, s.slug, d.state, d.lease_owner, d.lease_expires_at FROM deployments d "
        "JOIN services s ON s.id = d.service_id ORDER BY d.id"
    )
    return {row["id"]: row for row in rows}


def owner_of(replica: Replica, rows: dict[int, asyncpg.Record]) -> str | None:
    """The lease owner naming `replica`'s process (hostname-pid-random)."""
    marker = f"-{replica.process.pid}-"
    owners = {row["lease_owner"] for row in rows.values() if row["lease_owner"]}
    return next((owner for owner in owners if marker in owner), None)


async def all_in(db: asyncpg.Connection, state: str, count: int) -> bool:
    rows = await deployments(db)
    return len(rows) == count and all(row["state"] == state for row in rows.values())


def started_once(provider: CountingProvider, ids: list[int]) -> None:
    assert provider.counts("start") == Counter(dict.fromkeys(ids, 1))


async def test_twenty_deployments_start_once_and_survive_kill_9(
    database_url: str, tmp_path: Path
) -> None:
    async with migrated_scratch_database(database_url, SEED) as dsn:
        with (
            running_counting_provider() as provider,
            replicas(
                tmp_path, ("a", "b"), DATABASE_URL=dsn, COUNTING_PROVIDER_URL=provider.url,
                PAVED_ROLLOUT_LEASE_SECONDS="1.5", PAVED_ROLLOUT_POLL_SECONDS="0.1",
            ) as (a, b),
        ):  # fmt: skip
            await asyncio.gather(a.wait_ready(), b.wait_ready())
            db = await asyncpg.connect(dsn)
            try:
                await deploy_all(a, SERVICES)

                async def all_started() -> bool:
                    return len(provider.counts("start")) == SERVICES and await all_in(
                        db, "IN_PROGRESS", SERVICES
                    )

                await until("all started", all_started)
                rows = await deployments(db)
                ids = list(rows)
                driving = owner_of(a, rows)
                assert driving is not None, "replica a follows none of the deployments it made"
                held = [i for i, row in rows.items() if row["lease_owner"] == driving]

                a.process.send_signal(signal.SIGKILL)
                a.process.wait(10)
                provider.finish()

                async def all_succeeded() -> bool:
                    return await all_in(db, "SUCCEEDED", SERVICES)

                await until("all succeeded on replica b", all_succeeded)
                assert b.process.poll() is None, b.describe()
                started_once(provider, ids)
                assert all(provider.counts("poll")[i] >= 1 for i in held)
                rows = await deployments(db)
                assert {(r["lease_owner"], r["lease_expires_at"]) for r in rows.values()} == {
                    (None, None)
                }
            finally:
                await db.close()


async def test_sigterm_finishes_the_request_in_flight_and_hands_rollouts_over(
    database_url: str, tmp_path: Path
) -> None:
    """The lease is far longer than the test may wait: the other replica can only continue
    because the stopped one released its leases."""
    async with migrated_scratch_database(database_url, SEED) as dsn:
        with (
            running_counting_provider(cancel_delay=2.0) as provider,
            replicas(
                tmp_path, ("a", "b"), DATABASE_URL=dsn, COUNTING_PROVIDER_URL=provider.url,
                PAVED_ROLLOUT_LEASE_SECONDS="600", PAVED_ROLLOUT_POLL_SECONDS="0.1",
                PAVED_SHUTDOWN_SECONDS="10", TEST_ROLLOUT_SWEEP_SECONDS="0.2",
            ) as (a, b),
        ):  # fmt: skip
            await asyncio.gather(a.wait_ready(), b.wait_ready())
            db = await asyncpg.connect(dsn)
            try:
                count = 4
                global_ids = await deploy_all(a, count)

                async def all_started() -> bool:
                    return len(provider.counts("start")) == count and await all_in(
                        db, "IN_PROGRESS", count
                    )

                await until("all started", all_started)
                rows = await deployments(db)
                driving = owner_of(a, rows)
                assert driving is not None
                victim = next(i for i, row in rows.items() if row["lease_owner"] == driving)

                async with a.client() as http:
                    cancel = asyncio.create_task(
                        GraphQLClient(http).mutate(
                            "cancelDeployment",
                            DEPLOYMENT,
                            deployment=global_ids[rows[victim]["slug"]],
                        )
                    )

                    async def cancel_in_flight() -> bool:
                        return provider.counts("cancel")[victim] == 1

                    await until("the cancel in flight", cancel_in_flight)
                    a.process.send_signal(signal.SIGTERM)
                    canceled: dict[str, Any] = await cancel
                assert canceled["errors"] == [], canceled
                assert canceled["deployment"]["state"] == "CANCELED"
                code = await asyncio.to_thread(a.process.wait, 20)
                # uvicorn re-raises SIGTERM once it has shut down (as `paved serve` does).
                assert code in {0, -signal.SIGTERM.value}, a.describe()
                log = a.log_path.read_text()
                assert "Application shutdown complete" in log, a.describe()
                assert "Traceback" not in log, a.describe()

                rows = await deployments(db)
                assert [i for i, row in rows.items() if row["lease_owner"] == driving] == []
                assert rows[victim]["state"] == "CANCELED"

                provider.finish()
                others = [i for i in rows if i != victim]

                async def others_succeeded() -> bool:
                    found = await deployments(db)
                    return all(found[i]["state"] == "SUCCEEDED" for i in others)

                await until("taken over by replica b", others_succeeded)
                started_once(provider, list(rows))
            finally:
                await db.close()
