"""Giving every lease back (a process stopping) reads the driven rows' partial index, not the
whole table: with millions of finished deployments, a scan would eat the shutdown's grace."""

from __future__ import annotations

from typing import cast

import asyncpg

from providers.postgres.deployments.leases import LEASES
from providers.postgres.migrations import apply_migrations
from tests.support.processes import scratch_database

FINISHED = 3000

_FINISHED_DEPLOYMENTS = """
WITH service AS (INSERT INTO services (slug, name) VALUES ('s', 'S') RETURNING id),
     environment AS (
         INSERT INTO environments (slug, name, tier) VALUES ('qa', 'QA', 'TESTING') RETURNING id
     )
INSERT INTO deployments (service_id, environment_id, number, version, kind, state, provider,
                         requested_by_kind, requested_by_name)
SELECT service.id, environment.id, n, '1.' || n, 'DEPLOY', 'INACTIVE', 'simulated',
       'local-admin', 'local admin'
FROM service, environment, generate_series(1, $1) AS n
"""
_SEQUENTIAL_SCANS = "SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relname = 'deployments'"


async def test_giving_every_lease_back_does_not_scan_the_finished_deployments(
    database_url: str,
) -> None:
    async with scratch_database(database_url) as dsn:
        connection = await asyncpg.connect(dsn)
        try:
            await apply_migrations(connection)
            await connection.execute(_FINISHED_DEPLOYMENTS, FINISHED)
            await connection.execute("ANALYZE deployments")
            async with connection.transaction():
                before = await connection.fetchval(_SEQUENTIAL_SCANS)
                released = await LEASES.release(
                    cast(asyncpg.Pool, connection), "a-stopping-process", None
                )
                after = await connection.fetchval(_SEQUENTIAL_SCANS)
        finally:
            await connection.close()
    assert released == 0
    assert after == before
