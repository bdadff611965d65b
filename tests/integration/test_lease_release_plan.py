"""Giving every lease back (a process stopping) reads the driven rows' partial index, not the
whole table: with millions of finished deployments, a scan would eat the shutdown's grace."""

from __future__ import annotations

from typing import cast

import asyncpg

from providers.postgres.deployments.leases import LEASES
from tests.support.processes import migrated_scratch_database

FINISHED = 3000

_FINISHED_DEPLOYMENTS = f"""
WITH service AS (INSERT INTO services (slug, name) VALUES ('s', 'S') RETURNING id),
     environment AS (
         INSERT INTO environments (slug, name, tier) VALUES ('qa', 'QA', 'TESTING') RETURNING id
     )
INSERT INTO deployments (service_id, environment_id, number, version, kind, state, provider,
                         requested_by_kind, requested_by_name)
SELECT service.id, environment.id, n, '1.' || n, 'DEPLOY', 'INACTIVE', 'simulated',
       'local-admin', 'local admin'
FROM service, environment, generate_series(1, {FINISHED}) AS n;
ANALYZE deployments;
"""
_SEQUENTIAL_SCANS = "SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relname = 'deployments'"


async def test_giving_every_lease_back_does_not_scan_the_finished_deployments(
    database_url: str,
) -> None:
    async with migrated_scratch_database(database_url, _FINISHED_DEPLOYMENTS) as dsn:
        connection = await asyncpg.connect(dsn)
        try:
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
