"""One-statement writes of one text that wait while one runs, committed together next
(`statement_batches`: when writes wait, how a database that is down is answered).

A new team or service is one statement (`AuditedTransactions.insert_alone`: the row, its
audit record and its events). Under load much of its cost is its round trip and its commit,
a flush of the write-ahead log each. Every write that waited is sent as ONE pipeline
(asyncpg's `fetchmany`: the text once per write, one round trip) in ONE transaction: one
commit for all of them. Writes are never merged: identical arguments write twice.

All or nothing, then one by one: when any write of a batch fails (a slug already taken),
the batch's transaction rolls back whole and every write of it runs again alone, each
getting its own answer or error, so that one write's conflict never fails another. A write
canceled while it waits is left out (nothing of it is written); one canceled after its
batch was sent is written or not with the batch, as a write canceled during its own
statement may be.

The statement must answer exactly one row per write, so that answers can be told apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import asyncpg

from providers.postgres.statement_batches import Settled, StatementBatches


class _Statements(Protocol):
    async def fetchrow(self, sql: str, /, *arguments: Any) -> Any: ...

    async def fetchmany(self, sql: str, arguments: Sequence[Sequence[Any]]) -> list[Any]: ...


class _Acquiring:
    """Each statement on a connection acquired from `pool` for it."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def fetchrow(self, sql: str, /, *arguments: Any) -> Any:
        async with self._pool.acquire() as connection:
            return await connection.fetchrow(sql, *arguments)

    async def fetchmany(self, sql: str, arguments: Sequence[Sequence[Any]]) -> list[Any]:
        async with self._pool.acquire() as connection:
            rows: list[Any] = await connection.fetchmany(sql, arguments)
        return rows


class WriteBatches(StatementBatches):
    """`pool`: where statements run, on the connections `lane` keeps when given (the
    server's: `statement_lane.py`), else each on a connection acquired for it. `most`: the
    most writes in one batch."""

    work_name = "write-batch"

    def __init__(
        self, pool: asyncpg.Pool, *, most: int = 16, lane: _Statements | None = None
    ) -> None:
        super().__init__(most=most)
        self._statements = lane if lane is not None else _Acquiring(pool)

    async def fetchrow(self, sql: str, /, *arguments: Any) -> asyncpg.Record:
        """The one row `sql` answers with `arguments`, written alone or with others."""
        row: asyncpg.Record = await self._submit(sql, arguments)
        return row

    async def _alone(self, sql: str, arguments: tuple[Any, ...]) -> asyncpg.Record:
        row: asyncpg.Record | None = await self._statements.fetchrow(sql, *arguments)
        if row is None:
            raise RuntimeError("a batched write must answer one row")
        return row

    async def _together(
        self, sql: str, arguments: Sequence[tuple[Any, ...]]
    ) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self._statements.fetchmany(sql, arguments)
        if len(rows) != len(arguments):
            raise Settled(f"{len(arguments)} batched writes answered {len(rows)} rows")
        return rows
