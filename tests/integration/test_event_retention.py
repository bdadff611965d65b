"""Event retention on a real PostgreSQL: events older than the retention period are pruned,
recent ones kept, by one run and by the background job."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg

from providers.postgres.events import PostgresEventLog
from resolvers.event_retention import EventRetention

NOW = datetime(2026, 6, 1, tzinfo=UTC)


async def add_events(pool: asyncpg.Pool, *days_ago: int) -> None:
    for days in days_ago:
        await pool.execute(
            "INSERT INTO events (type, occurred_at, subject_kind, subject_id) "
            "VALUES ('TEAM_CREATED', $1::timestamptz - make_interval(days => $2), 'team', 1)",
            NOW, days,
        )  # fmt: skip


async def ages(pool: asyncpg.Pool) -> list[int]:
    rows = await pool.fetch(
        "SELECT extract(day FROM $1::timestamptz - occurred_at)::int AS days FROM events "
        "ORDER BY id",
        NOW,
    )
    return [row["days"] for row in rows]


async def test_one_run_prunes_what_is_older_than_the_retention(pool: asyncpg.Pool) -> None:
    await add_events(pool, 400, 31, 30, 29, 0)
    retention = EventRetention(PostgresEventLog(pool), retention_days=30, now=lambda: NOW)
    assert await retention.prune_once() == 2
    assert await ages(pool) == [30, 29, 0]
    assert await retention.prune_once() == 0


async def test_the_background_job_prunes_until_stopped(pool: asyncpg.Pool) -> None:
    await add_events(pool, 90, 8, 1)
    retention = EventRetention(
        PostgresEventLog(pool), retention_days=7, interval_seconds=0.02, now=lambda: NOW
    )
    retention.start()
    try:
        for _ in range(500):
            if await ages(pool) == [1]:
                break
            await asyncio.sleep(0.01)
        assert await ages(pool) == [1]
    finally:
        await retention.stop()
    await add_events(pool, 60)
    await asyncio.sleep(0.05)
    assert await ages(pool) == [1, 60]
