"""The background jobs' looks (the event feed's newest event, the audit sealer's first unsealed
record, a webhook dispatch round's first statement) read their indexes even on a connection
whose first look found the tables empty: a plan kept from then would scan and sort the whole
table at every look, a cost that grows with the table until autovacuum happens to analyze
it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from providers.postgres.audit_chain import ANY_UNSEALED
from providers.postgres.database import background_pool, create_pool
from providers.postgres.events import NEWEST
from providers.postgres.fair_pool import FairPool
from providers.postgres.webhook_queue import _DISPATCHER, ROUND_START
from tests.support.processes import migrated_scratch_database

ROWS = 3000

_GROW_AUDIT = """
INSERT INTO audit_events (actor_kind, actor_name, operation, outcome)
SELECT 'local-admin', 'local admin', 'createTeam', 'ACCEPTED' FROM generate_series(1, $1)
"""
_GROW_EVENTS = """
INSERT INTO events (type, subject_kind, subject_id)
SELECT 'TEAM_CREATED', 'Team', n FROM generate_series(1, $1) AS n
"""
_SEQUENTIAL_SCANS = """
SELECT relname, seq_scan FROM pg_stat_xact_user_tables
WHERE relname IN ('audit_events', 'events') ORDER BY relname
"""


@pytest.fixture
async def empty_dsn(database_url: str) -> AsyncIterator[str]:
    """A migrated database whose statistics say its tables are empty, as on a new
    installation."""
    async with migrated_scratch_database(
        database_url, "ANALYZE audit_events; ANALYZE events"
    ) as dsn:
        yield dsn


async def _scans_of_looks_after_the_tables_grew(dsn: str, pool: FairPool) -> dict[str, int]:
    async with pool.acquire() as connection:
        assert await connection.fetchval(ANY_UNSEALED) is None
        assert await connection.fetchrow(NEWEST) is None
        grower = await asyncpg.connect(dsn)
        try:
            await grower.execute(_GROW_AUDIT, ROWS)
            await grower.execute(_GROW_EVENTS, ROWS)
        finally:
            await grower.close()
        async with connection.transaction():  # the counts below include the first looks'
            before = await connection.fetch(_SEQUENTIAL_SCANS)
            assert await connection.fetchval(ANY_UNSEALED) is not None
            assert await connection.fetchrow(NEWEST) is not None
            after = await connection.fetch(_SEQUENTIAL_SCANS)
    return {
        row["relname"]: row["seq_scan"] - earlier["seq_scan"]
        for row, earlier in zip(after, before, strict=True)
    }


async def test_looks_first_made_on_empty_tables_read_their_indexes_once_they_grew(
    empty_dsn: str,
) -> None:
    pool = await background_pool(empty_dsn)
    try:
        scans = await _scans_of_looks_after_the_tables_grew(empty_dsn, pool)
    finally:
        await pool.close()
    assert scans == {"audit_events": 0, "events": 0}


async def test_a_prepared_look_would_keep_scanning_the_whole_table(empty_dsn: str) -> None:
    """What the background pool avoids, shown on a pool that keeps its statements prepared:
    the plan of the first look stays, and it scans."""
    pool = await create_pool(empty_dsn, min_size=1, max_size=1)
    try:
        scans = await _scans_of_looks_after_the_tables_grew(empty_dsn, pool)
    finally:
        await pool.close()
    assert scans == {"audit_events": 1, "events": 1}


async def test_a_dispatch_round_does_not_scan_the_events_to_know_whether_some_wait(
    empty_dsn: str,
) -> None:
    pool = await background_pool(empty_dsn)
    try:
        async with pool.acquire() as connection:
            await connection.execute(
                "INSERT INTO webhook_dispatch (name, position) VALUES ($1, 0) "
                "ON CONFLICT DO NOTHING",
                _DISPATCHER,
            )
            await connection.execute(_GROW_EVENTS, ROWS)
            async with connection.transaction():
                before = await connection.fetch(_SEQUENTIAL_SCANS)
                round_start = await connection.fetchrow(ROUND_START, _DISPATCHER)
                after = await connection.fetch(_SEQUENTIAL_SCANS)
    finally:
        await pool.close()
    assert round_start is not None
    assert round_start["waiting"] is False
    assert [row["seq_scan"] for row in after] == [row["seq_scan"] for row in before]
