"""Write batches on a real PostgreSQL: writes of one statement text that wait while one runs
are committed together, each answered with its own row; a conflict in a batch fails only its
own write (the batch rolls back whole, then each runs alone); a write canceled while waiting
is never written; a database that is down fails every waiting write at once; a batch whose
rows cannot be told apart fails its writes without writing them twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest

from providers.postgres.statement_batches import Settled
from providers.postgres.write_batches import WriteBatches

# The first write of a test sleeps ($3 seconds) so that the others come while it runs.
NEW_TEAM = (
    "WITH changed AS (INSERT INTO teams (slug, name) SELECT $1::text, $2::text "
    "FROM pg_sleep($3::float8) RETURNING slug, name, txid_current() AS tx) "
    "SELECT changed.* FROM (SELECT 1) AS one LEFT JOIN changed ON true"
)
# Answers no row for the slug 'skip': rows that cannot be told apart in a batch.
NEW_TEAM_OR_NOTHING = (
    "INSERT INTO teams (slug, name) SELECT $1::text, $2::text FROM pg_sleep($3::float8) "
    "WHERE $1::text <> 'skip' RETURNING slug"
)


async def _slugs(pool: asyncpg.Pool) -> list[str]:
    return [row["slug"] for row in await pool.fetch("SELECT slug FROM teams ORDER BY slug")]


async def _writing_first(
    batches: WriteBatches, sql: str = NEW_TEAM, seconds: float = 0.3
) -> asyncio.Task[Any]:
    first = asyncio.create_task(batches.fetchrow(sql, "first", "First", seconds))
    await asyncio.sleep(0.05)  # it runs: the next writes of its text wait
    return first


def _writes(
    batches: WriteBatches, slugs: list[str], sql: str = NEW_TEAM
) -> list[asyncio.Task[Any]]:
    return [asyncio.create_task(batches.fetchrow(sql, slug, slug.upper(), 0.0)) for slug in slugs]


async def test_writes_that_wait_are_committed_together_each_with_its_own_row(
    pool: asyncpg.Pool,
) -> None:
    batches = WriteBatches(pool, most=16)
    first = await _writing_first(batches)
    slugs = [f"t{i:02d}" for i in range(20)]
    rows = await asyncio.gather(first, *_writes(batches, slugs))
    assert [(row["slug"], row["name"]) for row in rows[1:]] == [(s, s.upper()) for s in slugs]
    assert await _slugs(pool) == ["first", *slugs]
    # 20 waiting writes, at most 16 in a batch: two batches, each one transaction.
    assert batches.batches == 2
    transactions = {row["tx"] for row in rows[1:]}
    assert len(transactions) == 2
    assert rows[0]["tx"] not in transactions


async def test_a_conflict_fails_only_its_own_write(pool: asyncpg.Pool) -> None:
    """The batch rolls back whole and each write runs again alone: had the batch kept its
    other rows, their second run would have been refused as taken."""
    batches = WriteBatches(pool, most=16)
    first = await _writing_first(batches)
    results = await asyncio.gather(
        first, *_writes(batches, ["a", "b", "first", "c"]), return_exceptions=True
    )
    assert isinstance(results[3], asyncpg.UniqueViolationError)
    written = [results[1], results[2], results[4]]
    assert [row["slug"] for row in written if isinstance(row, asyncpg.Record)] == ["a", "b", "c"]
    assert await _slugs(pool) == ["a", "b", "c", "first"]


async def test_a_write_that_fails_alone_in_its_batch_is_not_run_again(
    pool: asyncpg.Pool,
) -> None:
    """Each run of the insert takes a number from the table's identity, failed or not."""
    batches = WriteBatches(pool, most=16)
    first = await _writing_first(batches)
    (taken,) = _writes(batches, ["first"])
    assert (await first)["slug"] == "first"
    with pytest.raises(asyncpg.UniqueViolationError):
        await taken
    await batches.fetchrow(NEW_TEAM, "next", "Next", 0.0)
    ids = await pool.fetch("SELECT slug, id FROM teams ORDER BY id")
    assert [(row["slug"], row["id"]) for row in ids] == [("first", 1), ("next", 3)]


async def test_a_write_canceled_while_waiting_is_never_written(pool: asyncpg.Pool) -> None:
    batches = WriteBatches(pool, most=16)
    first = await _writing_first(batches)
    kept, canceled = _writes(batches, ["kept", "canceled"])
    await asyncio.sleep(0.01)
    canceled.cancel()
    assert (await first)["slug"] == "first"
    assert (await kept)["slug"] == "kept"
    with pytest.raises(asyncio.CancelledError):
        await canceled
    assert await _slugs(pool) == ["first", "kept"]


async def test_a_full_batch_goes_without_waiting_for_the_running_write(
    pool: asyncpg.Pool,
) -> None:
    batches = WriteBatches(pool, most=3)
    first = await _writing_first(batches, seconds=2.0)
    written = await asyncio.wait_for(asyncio.gather(*_writes(batches, ["x", "y", "z"])), 1.5)
    assert not first.done()
    assert [row["slug"] for row in written] == ["x", "y", "z"]
    assert (await first)["slug"] == "first"


async def test_with_batches_of_one_every_write_commits_on_its_own(pool: asyncpg.Pool) -> None:
    batches = WriteBatches(pool, most=1)  # PAVED_WRITE_BATCH_SIZE=1
    first = await _writing_first(batches)
    rows = await asyncio.gather(*_writes(batches, ["a", "b", "c"]))
    assert not first.done()  # none waited for the first to end
    assert (await first)["tx"] not in {row["tx"] for row in rows}
    assert len({row["tx"] for row in rows}) == 3
    assert batches.batches == 0


async def test_rows_that_cannot_be_told_apart_fail_their_writes_without_a_second_run(
    pool: asyncpg.Pool,
) -> None:
    batches = WriteBatches(pool, most=16)
    first = await _writing_first(batches, NEW_TEAM_OR_NOTHING)
    waiting = _writes(batches, ["p", "skip", "q"], NEW_TEAM_OR_NOTHING)
    results = await asyncio.gather(first, *waiting, return_exceptions=True)
    assert all(isinstance(result, Settled) for result in results[1:]), results
    assert await _slugs(pool) == ["first", "p", "q"]  # committed once, never run again


class DownPool:
    """A pool whose first connection, once let go, never comes (an exhausted pool's
    timeout); it records how many were asked for."""

    def __init__(self) -> None:
        self.asked = 0
        self.go = asyncio.Event()

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[asyncpg.Connection]:
        self.asked += 1
        await self.go.wait()
        raise TimeoutError
        yield  # pragma: no cover


async def test_writes_waiting_on_a_database_that_is_down_fail_with_it_at_once() -> None:
    down = DownPool()
    batches = WriteBatches(down, most=16)  # type: ignore[arg-type]
    first = asyncio.create_task(batches.fetchrow(NEW_TEAM, "first", "First", 0.0))
    await asyncio.sleep(0.01)
    waiting = _writes(batches, ["a", "b"])
    await asyncio.sleep(0.01)
    down.go.set()
    results = await asyncio.gather(first, *waiting, return_exceptions=True)
    assert all(isinstance(result, TimeoutError) for result in results), results
    assert down.asked == 1
