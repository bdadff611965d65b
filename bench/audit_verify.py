"""`make bench-audit`: sealing and verifying a large audit log.

Writes `--records` audit records (1,000,000 by default) set-based, unsealed, as the write path
leaves them; seals them all through the sealer's own code (`AuditLog.seal`, batches of
`--batch`); then times `paved audit verify` (the command, as an operator runs it) over the
whole chain, and again with `--expect-head` the head the sealing announced. The tests show on
small data that verify detects a changed, removed, reordered record and a truncated tail
(tests/integration/test_audit_seals.py); here only the time on a large chain is measured.

Prints one line per step; the numbers of a run are in bench/RESULTS.md ("Audit chain"). Not a
test: nothing here asserts a time."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from pathlib import Path

import asyncpg

from bench.database import BenchDatabase
from providers.postgres.audit_log import PostgresAuditLog
from providers.postgres.database import create_pool
from providers.postgres.migrations import apply_migrations

log = logging.getLogger("bench")

_WRITE = """
INSERT INTO audit_events (actor_kind, actor_id, actor_name, operation, targets, input, outcome,
                          request_id, idempotency_key)
SELECT 'user', 1 + g % 500, 'user ' || (1 + g % 500), 'createTeam', ARRAY['Team:t' || g],
       jsonb_build_object('slug', 't' || g, 'name', 'Team ' || g, 'tier', g % 4),
       'ACCEPTED', 'req-' || g, NULL
FROM generate_series($1::bigint, $2::bigint) AS g
"""


async def _reset(dsn: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        await apply_migrations(connection)
    finally:
        await connection.close()


def _line(label: str, seconds: float, records: int) -> None:
    print(f"{label:<52} {seconds:8.2f} s  {records / seconds:10,.0f} records/s", flush=True)


async def _paved(dsn: str, *args: str) -> tuple[int, str, float]:
    environment = {**os.environ, "DATABASE_URL": dsn}
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cli.main", *args,
        env=environment, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await process.communicate()
    return process.returncode or 0, out.decode().strip(), time.perf_counter() - started


async def run(dsn: str, records: int, batch: int) -> None:
    await _reset(dsn)
    pool = await create_pool(dsn, min_size=1, max_size=2)
    try:
        started = time.perf_counter()
        chunk = 100_000
        for first in range(1, records + 1, chunk):
            await pool.execute(_WRITE, first, min(first + chunk - 1, records))
        _line(
            f"write {records:,} records (set-based, unsealed)",
            time.perf_counter() - started,
            records,
        )
        await pool.execute("VACUUM ANALYZE audit_events")

        audit = PostgresAuditLog(pool)
        started = time.perf_counter()
        head = None
        while (sealed := await audit.seal(batch, wait=True)) is not None and sealed.sealed:
            head = sealed.head
        _line(f"seal them (batches of {batch:,})", time.perf_counter() - started, records)
        assert head is not None
        await pool.execute("VACUUM ANALYZE audit_events")
    finally:
        await pool.close()

    code, out, seconds = await _paved(dsn, "audit", "verify", "--no-seal")
    _line("paved audit verify --no-seal", seconds, records)
    print(f"    exit {code}: {out}")
    code, out, seconds = await _paved(dsn, "audit", "verify", "--expect-head", head.token)
    _line("paved audit verify --expect-head SEQ:HASH", seconds, records)
    print(f"    exit {code}: {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=5_000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    database = BenchDatabase(Path(__file__).parent / ".work" / "audit")
    try:
        dsn = database.start()
        asyncio.run(run(dsn, args.records, args.batch))
    finally:
        database.stop()


if __name__ == "__main__":
    main()
