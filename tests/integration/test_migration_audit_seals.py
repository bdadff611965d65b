"""Migration 0016 on an audit log chained the old way (in each append's transaction, in id
order): the records keep their hashes, take their seal_seq from their ids, and verify; the
records sealed after it chain on from the last of them."""

from __future__ import annotations

import asyncpg
import pytest

from providers.postgres import migrations
from providers.postgres.audit_chain import chain_hash, hashed_fields
from providers.postgres.audit_log import PostgresAuditLog
from providers.postgres.database import create_pool
from providers.postgres.migrations import apply_migrations, bundled_migrations
from tests.integration.test_audit_log import entry
from tests.support.processes import scratch_database

_OLD_APPEND = """
INSERT INTO audit_events (at, actor_kind, actor_name, operation, targets, input, outcome,
                          prev_hash, hash, channel)
VALUES ($1, 'local-admin', 'local admin', 'createTeam', $2, $3::text::jsonb, 'ACCEPTED', $4, $5,
        $6)
RETURNING id
"""


async def test_records_chained_before_keep_verifying(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = [m for m in bundled_migrations() if m.version < "0016"]
    async with scratch_database(database_url) as dsn:
        connection = await asyncpg.connect(dsn)
        try:
            monkeypatch.setattr(migrations, "bundled_migrations", lambda: before)
            await apply_migrations(connection)
            monkeypatch.undo()
            prev_hash = None
            old_ids = []
            for n, channel in enumerate((None, "mcp", None)):
                at = await connection.fetchval("SELECT clock_timestamp()")
                targets = [f"Team:t{n}"]
                text = await connection.fetchval("SELECT $1::text::jsonb::text", f'{{"n": {n}}}')
                columns = {
                    "actor_kind": "local-admin", "actor_id": None, "actor_name": "local admin",
                    "token_id": None, "operation": "createTeam", "targets": targets,
                    "input": text, "outcome": "ACCEPTED", "error_codes": [],
                    "request_id": None, "idempotency_key": None, "channel": channel,
                }  # fmt: skip
                digest = chain_hash(prev_hash, hashed_fields(at, columns))
                old_ids.append(
                    await connection.fetchval(
                        _OLD_APPEND, at, targets, text, prev_hash, digest, channel
                    )
                )
                prev_hash = digest
            await apply_migrations(connection)
            migrated = await connection.fetch(
                "SELECT id, seal_seq, sealed_at FROM audit_events ORDER BY id"
            )
        finally:
            await connection.close()
        assert [(r["id"], r["seal_seq"], r["sealed_at"]) for r in migrated] == [
            (old_id, seq, None) for seq, old_id in enumerate(old_ids, start=1)
        ]
        pool = await create_pool(dsn, min_size=1, max_size=2)
        try:
            log = PostgresAuditLog(pool)
            assert (await log.verify(seal_first=False)).checked == 3
            await log.append(entry(targets=("Team:after",)))
            result = await log.verify()
            assert (result.intact, result.checked) == (True, 4)
            assert result.head is not None
            assert result.head.seq == 4
            await pool.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")
            await pool.execute("UPDATE audit_events SET channel = NULL WHERE id = $1", old_ids[1])
            assert (await log.verify()).broken_id == old_ids[1]
        finally:
            await pool.close()
