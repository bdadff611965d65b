"""Migration 0017 on a database with events: those written before it keep their order as
positions of transaction 0, so the cursors and the dispatch position of that time resume
exactly where they stood; events written after it come after them all."""

from __future__ import annotations

import base64

import asyncpg

from domain.events.cursors import position_of
from domain.events.model import Position
from providers.postgres.events import PostgresEventLog
from providers.postgres.migrations import apply_migrations, bundled_migrations
from tests.support.processes import scratch_database

POSITIONS = "0017_outbox_positions"


async def _migrate_before_positions(connection: asyncpg.Connection) -> None:
    await connection.execute(
        "CREATE TABLE schema_migrations (version text PRIMARY KEY, "
        "applied_at timestamptz NOT NULL DEFAULT now())"
    )
    for migration in bundled_migrations():
        if migration.version >= POSITIONS:
            break
        async with connection.transaction():
            await connection.execute(migration.sql)
            await connection.execute(
                "INSERT INTO schema_migrations (version) VALUES ($1)", migration.version
            )


async def test_events_of_before_keep_their_place_and_old_cursors_resume(
    database_url: str,
) -> None:
    async with scratch_database(database_url) as dsn:
        connection = await asyncpg.connect(dsn)
        try:
            await _migrate_before_positions(connection)
            await connection.execute(
                "INSERT INTO events (type, subject_kind, subject_id) "
                "SELECT 'TEAM_UPDATED', 'Team', n FROM generate_series(1, 4) n"
            )
            await connection.execute(
                "UPDATE webhook_dispatch SET position = 2 WHERE name = 'deliveries'"
            )
            await apply_migrations(connection)
            await connection.execute(
                "INSERT INTO events (type, subject_kind, subject_id) "
                "VALUES ('TEAM_UPDATED', 'Team', 5)"
            )
            rows = await connection.fetch("SELECT tx, id, subject_id FROM events ORDER BY id")
            assert [row["tx"] for row in rows[:4]] == [0, 0, 0, 0]
            assert rows[4]["tx"] > 0
            dispatched = await connection.fetchrow(
                "SELECT tx, position FROM webhook_dispatch WHERE name = 'deliveries'"
            )
            assert dispatched is not None
            assert (dispatched["tx"], dispatched["position"]) == (0, 2)
        finally:
            await connection.close()

        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
        try:
            log = PostgresEventLog(pool)
            old_cursor = base64.urlsafe_b64encode(b"event:2").decode().rstrip("=")
            read = await log.after(position_of(old_cursor), 100)
            assert [event.subject_id for event in read.events] == [3, 4, 5]
            assert await log.newest() == Position(rows[4]["tx"], rows[4]["id"])
        finally:
            await pool.close()
