"""Provisioning across replicas: two app processes on one database. Resources requested
through one are driven by one replica at a time (their leases name it); killed with `kill -9`
mid-provisioning, its resources are taken over by the other once the leases lapse, and all
reach READY with no lease left behind."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import asyncpg

from tests.e2e.test_rollout_replicas import SEED, SERVICES, until
from tests.support.deployer_fakes.counting_provider import running_counting_provider
from tests.support.graphql import GraphQLClient
from tests.support.processes import migrated_scratch_database
from tests.support.replicas import Replica, replicas

SLOW = {"kind": "simulated", "settings": {"durationSeconds": 4}}


async def request_all(replica: Replica) -> None:
    async with replica.client() as http:
        gql = GraphQLClient(http)
        created = await gql.mutate(
            "createEnvironment", "environment { slug }", slug="staging", name="Staging",
            tier="STAGING", provider={"kind": "simulated", "settings": {}},
        )  # fmt: skip
        assert created["errors"] == [], created
        made = await gql.mutate(
            "createResourceClass", "resourceClass { slug }", slug="postgres", name="PostgreSQL",
            type="postgres", provider=SLOW, parametersSchema={"type": "object"},
        )  # fmt: skip
        assert made["errors"] == [], made
        asked = await asyncio.gather(
            *(
                gql.mutate(
                    "requestResource",
                    "resource { id }",
                    service=f"svc-{i:02d}",
                    environment="staging",
                    **{"class": "postgres"},
                    name="db",
                )
                for i in range(1, SERVICES + 1)
            )
        )
    assert all(payload["errors"] == [] for payload in asked), asked


async def test_resources_survive_the_kill_9_of_the_replica_driving_them(
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
                await request_all(a)

                async def all_provisioning_on_a() -> bool:
                    rows = await db.fetch("SELECT state, leased_by FROM resources")
                    marker = f"-{a.process.pid}-"
                    return len(rows) == SERVICES and all(
                        row["state"] == "PROVISIONING" and marker in (row["leased_by"] or "")
                        for row in rows
                    )

                await until("all provisioning on replica a", all_provisioning_on_a)
                a.process.send_signal(signal.SIGKILL)
                a.process.wait(10)

                async def all_ready() -> bool:
                    states = await db.fetch("SELECT state FROM resources")
                    return {row["state"] for row in states} == {"READY"}

                await until("all ready on replica b", all_ready)
                assert b.process.poll() is None, b.describe()
                leases = await db.fetch("SELECT leased_by, leased_until FROM resources")
                assert {(row["leased_by"], row["leased_until"]) for row in leases} == {(None, None)}
                taken = await db.fetchval(
                    "SELECT count(DISTINCT resource_id) FROM resource_status_events "
                    "WHERE state = 'READY'"
                )
                assert taken == SERVICES
            finally:
                await db.close()
