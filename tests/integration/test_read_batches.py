"""Read batches on a real PostgreSQL: reads of one statement text that wait while one runs are
answered together, each with its own answer; none joins a statement that began before it; a
failed batch answers each read alone; a read canceled while waiting is left out."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from providers.postgres.read_batches import ReadBatches, batchable, batched

NAME_OF = "SELECT (SELECT name FROM teams WHERE slug = $1::text)"


class Held:
    """The pool's reads, recorded; the first one held until `go` is set, then failing with
    `fails` if given."""

    def __init__(self, pool: asyncpg.Pool, fails: Exception | None = None) -> None:
        self.pool = pool
        self.fails = fails
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.go = asyncio.Event()
        self.started = asyncio.Event()

    async def fetchval(self, sql: str, /, *arguments: Any) -> Any:
        self.calls.append((sql, arguments))
        if len(self.calls) == 1:
            self.started.set()
            await self.go.wait()
            if self.fails is not None:
                raise self.fails
        return await self.pool.fetchval(sql, *arguments)


@pytest.fixture
async def teams(pool: asyncpg.Pool) -> asyncpg.Pool:
    await pool.execute(
        "INSERT INTO teams (slug, name) SELECT format('t%s', i), format('Team %s', i) "
        "FROM generate_series(0, 39) i"
    )
    return pool


async def test_reads_that_wait_are_answered_together_each_with_its_own(
    teams: asyncpg.Pool,
) -> None:
    held = Held(teams)
    batches = ReadBatches(held, most=16)
    first = asyncio.create_task(batches.fetchval(NAME_OF, "t0"))
    await held.started.wait()
    slugs = [f"t{i % 10}" for i in range(1, 40)] + ["nobody"]
    others = [asyncio.create_task(batches.fetchval(NAME_OF, slug)) for slug in slugs]
    await asyncio.sleep(0.05)
    held.go.set()
    assert await first == "Team 0"
    answers = await asyncio.gather(*others)
    assert answers == [None if s == "nobody" else f"Team {s[1:]}" for s in slugs]
    # The first alone; 40 waiting: two full batches of 16 went at once, the rest after.
    assert len(held.calls) == 4
    assert held.calls[0] == (NAME_OF, ("t0",))
    assert all(sql.startswith("SELECT ARRAY[") for sql, _ in held.calls[1:])
    assert batches.batches == 3
    # A slug asked twice in one batch is read once.
    assert sum(len(arguments) for _, arguments in held.calls[1:]) < len(slugs)
    await batches.close()


async def test_a_read_never_joins_a_statement_that_began_before_it(teams: asyncpg.Pool) -> None:
    """A read that comes while a statement of its text runs waits for the next one, so it
    sees what was committed before it came."""
    slow = NAME_OF + " || (SELECT '' FROM pg_sleep(0.3))"
    batches = ReadBatches(teams, most=16)
    before = asyncio.create_task(batches.fetchval(slow, "t1"))
    await asyncio.sleep(0.1)  # its statement runs, on the snapshot of its start
    await teams.execute("UPDATE teams SET name = 'Renamed' WHERE slug = 't1'")
    after = asyncio.create_task(batches.fetchval(slow, "t1"))
    assert await before == "Team 1"
    assert await after == "Renamed"
    await batches.close()


async def test_a_failed_batch_answers_each_read_alone(teams: asyncpg.Pool) -> None:
    held = Held(teams)
    batches = ReadBatches(held, most=16)
    divide = "SELECT (100 / $1::int)::text"
    first = asyncio.create_task(batches.fetchval(divide, 1))
    await held.started.wait()
    waiting = [asyncio.create_task(batches.fetchval(divide, n)) for n in (2, 0, 4)]
    await asyncio.sleep(0.05)
    held.go.set()
    assert await first == "100"
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert results[0] == "50"
    assert isinstance(results[1], asyncpg.DivisionByZeroError)
    assert results[2] == "25"
    assert [arguments for _, arguments in held.calls[1:]] == [(2, 0, 4), (2,), (0,), (4,)]
    await batches.close()


async def test_a_read_canceled_while_waiting_is_left_out(teams: asyncpg.Pool) -> None:
    held = Held(teams)
    batches = ReadBatches(held, most=16)
    first = asyncio.create_task(batches.fetchval(NAME_OF, "t0"))
    await held.started.wait()
    kept = asyncio.create_task(batches.fetchval(NAME_OF, "t1"))
    dropped = asyncio.create_task(batches.fetchval(NAME_OF, "t2"))
    also = asyncio.create_task(batches.fetchval(NAME_OF, "t3"))
    await asyncio.sleep(0.01)
    dropped.cancel()
    held.go.set()
    assert (await first, await kept, await also) == ("Team 0", "Team 1", "Team 3")
    with pytest.raises(asyncio.CancelledError):
        await dropped
    assert held.calls[1][1] == ("t1", "t3")
    await batches.close()


async def test_reads_alone_run_their_own_statement_at_once(teams: asyncpg.Pool) -> None:
    held = Held(teams)
    held.go.set()
    batches = ReadBatches(held, most=16)
    for i in range(3):
        assert await batches.fetchval(NAME_OF, f"t{i}") == f"Team {i}"
    assert held.calls == [(NAME_OF, (f"t{i}",)) for i in range(3)]
    assert batches.batches == 0


def test_only_statements_renumbered_safely_are_batched() -> None:
    assert batchable(NAME_OF)
    assert not batchable("SELECT '$1' || $1::text")  # a placeholder's look-alike in quotes
    assert not batchable("SELECT $$ $1 $$ || $1::text")
    assert not batchable("WITH x AS (SELECT 1) SELECT $1::text")
    assert batched("SELECT $1::text || $2::text", 2) == (
        "SELECT ARRAY[(SELECT $1::text || $2::text), (SELECT $3::text || $4::text)]::text[]"
    )


async def test_a_batch_answers_what_each_statement_would(teams: asyncpg.Pool) -> None:
    """The batched text itself, on the database: in order, NULL where a read finds nothing."""
    sql = batched(NAME_OF, 3)
    assert await teams.fetchval(sql, "t5", "nobody", "t7") == ["Team 5", None, "Team 7"]


async def test_reads_waiting_on_a_database_that_is_down_fail_with_it_at_once(
    teams: asyncpg.Pool,
) -> None:
    """They would have met the same outage alone: no second wait for a connection each."""
    # The first read, once let go, finds no connection in time, as an exhausted pool says.
    down = Held(teams, fails=TimeoutError())
    batches = ReadBatches(down, most=16)
    first = asyncio.create_task(batches.fetchval(NAME_OF, "t0"))
    await down.started.wait()
    waiting = [asyncio.create_task(batches.fetchval(NAME_OF, f"t{i}")) for i in (1, 2)]
    await asyncio.sleep(0.01)
    down.go.set()
    results = await asyncio.gather(first, *waiting, return_exceptions=True)
    assert all(isinstance(result, TimeoutError) for result in results), results
    assert len(down.calls) == 1
    assert await batches.fetchval(NAME_OF, "t3") == "Team 3"  # and the next read runs again
