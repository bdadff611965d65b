"""`paved audit verify` against a seal logged earlier (`--expect-head`, signed with
PAVED_AUDIT_SEAL_KEY), and reading only (`--no-seal`) when records wait too long."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from domain.audit.seals import seal_line
from providers.postgres.audit_log import PostgresAuditLog
from providers.postgres.database import create_pool
from tests.integration.test_audit_log import entry
from tests.support.processes import clean_environment, migrated_scratch_database, run_paved

KEY = "a seal key the database never sees"


@pytest.fixture
async def dsn(database_url: str) -> AsyncIterator[str]:
    async with migrated_scratch_database(database_url) as own:
        yield own


@pytest.fixture
async def audit_pool(dsn: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(dsn, min_size=1, max_size=2)
    try:
        yield pool
    finally:
        await pool.close()


async def verify(dsn: str, cwd: Path, *args: str) -> tuple[int, str, str]:
    environment = clean_environment(DATABASE_URL=dsn, PAVED_AUDIT_SEAL_KEY=KEY)
    return await run_paved(cwd, environment, "audit", "verify", *args)


async def test_a_truncated_tail_and_a_forged_seal_fail(
    dsn: str, audit_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    log = PostgresAuditLog(audit_pool)
    for n in range(4):
        await log.append(entry(targets=(f"Team:t{n}",)))
    batch = await log.seal()
    assert batch is not None
    assert batch.head is not None
    signed = seal_line(batch.head, KEY.encode())
    assert await verify(dsn, tmp_path, "--expect-head", signed) == (
        0,
        "audit log intact: 4 record(s) verified\n"
        f"the expected head 4 is in the chain; its head now: {batch.head.token}\n",
        "",
    )
    forged = seal_line(batch.head, b"someone else's key")
    code, out, _ = await verify(dsn, tmp_path, "--expect-head", forged)
    assert (code, out) == (
        1,
        "the expected head's signature is not the seal key's: no sealer logged it\n",
    )

    await audit_pool.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")
    await audit_pool.execute("DELETE FROM audit_events WHERE seal_seq = 4")
    assert await verify(dsn, tmp_path) == (0, "audit log intact: 3 record(s) verified\n", "")
    assert await verify(dsn, tmp_path, "--expect-head", signed) == (
        1,
        "audit log broken: the chain ends at seal 3, before the expected head 4: its newest"
        " records were removed (3 record(s) before it verified)\n",
        "",
    )
    code, _, err = await verify(dsn, tmp_path, "--expect-head", "4:not-a-hash")
    assert code == 2
    assert "SEQ:HASH" in err


async def test_reading_only_reports_records_left_unsealed(
    dsn: str, audit_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    log = PostgresAuditLog(audit_pool)
    await log.append(entry(targets=("Team:sealed",)))
    await log.seal()
    await audit_pool.execute(
        "INSERT INTO audit_events (at, actor_kind, actor_name, operation, outcome)"
        " VALUES (now() - interval '1 minute', 'local-admin', 'local admin', 'createTeam',"
        " 'ACCEPTED')"
    )
    code, out, _ = await verify(dsn, tmp_path, "--no-seal")
    assert code == 1
    first, waiting, hint = out.splitlines()
    assert first == "audit log intact: 1 record(s) verified"
    assert waiting.startswith("1 record(s) not sealed yet, the oldest appended 6")
    assert hint == "records wait longer than a sealer should take: is a server running?"
    # Without --no-seal the command seals what waits, as a server would.
    assert await verify(dsn, tmp_path) == (0, "audit log intact: 2 record(s) verified\n", "")
