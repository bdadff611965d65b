"""SQL statements per request, counted with pg_stat_statements around a few sequential
requests (the server must be otherwise idle)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

# asyncpg's pool resets a connection on release with these; transactions add BEGIN/COMMIT.
_HOUSEKEEPING = (
    "pg_advisory_unlock_all",
    "close all",
    "unlisten",
    "reset all",
    "begin",
    "commit",
    "rollback",
    "set ",
    "show ",
)

_CALLS = """
SELECT query, calls FROM pg_stat_statements
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND query NOT ILIKE '%pg_stat_statements%'
"""


@dataclass(frozen=True, slots=True)
class StatementCount:
    queries: float
    total: float


async def _reset(dsn: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("SELECT pg_stat_statements_reset()")
    finally:
        await connection.close()


async def _calls(dsn: str) -> tuple[int, int]:
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(_CALLS)
    finally:
        await connection.close()
    total = sum(int(row["calls"]) for row in rows)
    other = sum(
        int(row["calls"])
        for row in rows
        if str(row["query"]).lstrip().lower().startswith(_HOUSEKEEPING)
        or "pg_advisory_unlock_all" in str(row["query"])
    )
    return total - other, total


def count_statements(dsn: str, send: Callable[[], object], requests: int) -> StatementCount:
    """Statements per request over `requests` sequential calls of `send`."""
    asyncio.run(_reset(dsn))
    for _ in range(requests):
        send()
    queries, total = asyncio.run(_calls(dsn))
    return StatementCount(queries / requests, total / requests)
