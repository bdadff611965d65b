"""The statement lane on a real pool: kept connections reused, given back after a failure, a
cancellation, an idle spell and at close; past its size, and while others hold the pool,
reads wait for the lane's own connections, while a lane that does not wait (the writes')
takes one of the pool's; with the pool exhausted and nothing kept, the pool's own rules.
Writes: a row alone and a pipeline of them, all or nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from providers.postgres.database import create_pool
from providers.postgres.fair_pool import FairPool
from providers.postgres.statement_lane import StatementLane
from tests.support.waiting import until

BACKEND = "SELECT pg_backend_pid()"


@pytest.fixture
async def small_pool(migrated_url: str) -> AsyncIterator[FairPool]:
    pool = await create_pool(migrated_url, min_size=1, max_size=3, acquire_timeout=0.5)
    try:
        yield pool
    finally:
        await asyncio.wait_for(pool.close(), 30)


async def test_reads_one_after_another_keep_one_connection(small_pool: FairPool) -> None:
    lane = StatementLane(small_pool, size=2)
    backends = {await lane.fetchval(BACKEND) for _ in range(20)}
    assert len(backends) == 1
    assert (lane.borrowed, lane.free) == (1, 1)
    await lane.close()
    assert lane.borrowed == 0


async def test_reads_past_the_size_wait_for_the_lane_in_turn(small_pool: FairPool) -> None:
    lane = StatementLane(small_pool, size=1)
    answers = await asyncio.gather(
        *(
            lane.fetchval("SELECT $1::int, pg_backend_pid() FROM pg_sleep(0.02)", n)
            for n in range(4)
        )
    )
    assert answers == [0, 1, 2, 3]
    assert lane.borrowed == 1
    assert small_pool.get_size() == 1  # the pool opened nothing for the reads past the size
    await lane.close()


async def test_reads_do_not_queue_behind_the_pools_other_users(
    small_pool: FairPool,
) -> None:
    """Writes waiting for their commits hold the rest of the pool: reads beyond what the lane
    keeps wait for a kept connection (a short read) rather than for the pool, where they
    would run out of the acquire timeout."""
    lane = StatementLane(small_pool, size=3)
    kept = await lane.fetchval(BACKEND)
    held = [await small_pool.acquire() for _ in range(2)]
    try:
        reads = [
            asyncio.create_task(lane.fetchval("SELECT pg_backend_pid() FROM pg_sleep(0.2)"))
            for _ in range(4)
        ]
        await until(lambda: lane.waiting == 3, "three reads waiting for the lane")
        answers = await asyncio.gather(*reads)
    finally:
        for connection in held:
            await small_pool.release(connection)
    assert answers == [kept] * 4  # 0.8 s of reads in turn, past the 0.5 s acquire timeout
    assert lane.borrowed == 1
    await lane.close()


async def test_a_failed_read_lets_a_waiting_read_borrow_in_its_place(
    small_pool: FairPool,
) -> None:
    lane = StatementLane(small_pool, size=1)
    # random() is volatile: the division runs after the sleep, not when the plan is made.
    failing = asyncio.create_task(
        lane.fetchval("SELECT 1 / (random() * 0)::int FROM pg_sleep(0.1)")
    )
    await until(lambda: lane.borrowed == 1, "the failing read under way")
    waiting = asyncio.create_task(lane.fetchval("SELECT 'waited'"))
    with pytest.raises(asyncpg.DataError):
        await failing
    assert await asyncio.wait_for(waiting, 30) == "waited"
    assert lane.borrowed == 1
    await lane.close()


async def test_a_read_canceled_while_waiting_loses_no_connection(
    small_pool: FairPool,
) -> None:
    lane = StatementLane(small_pool, size=1)
    reading = asyncio.create_task(lane.fetchval("SELECT pg_sleep(0.1)::text"))
    await until(lambda: lane.borrowed == 1, "the read under way")
    canceled = asyncio.create_task(lane.fetchval("SELECT 'never'"))
    waiting = asyncio.create_task(lane.fetchval("SELECT 'waited'"))
    await asyncio.sleep(0)
    canceled.cancel()
    assert await reading == ""
    assert await asyncio.wait_for(waiting, 30) == "waited"
    with pytest.raises(asyncio.CancelledError):
        await canceled
    assert (lane.borrowed, lane.free) == (1, 1)
    await lane.close()
    assert lane.borrowed == 0


async def test_a_failed_read_gives_its_connection_back(small_pool: FairPool) -> None:
    lane = StatementLane(small_pool, size=2)
    await lane.fetchval(BACKEND)
    with pytest.raises(asyncpg.DataError):
        await lane.fetchval("SELECT 1 / $1::int", 0)
    assert lane.borrowed == 0
    assert await lane.fetchval("SELECT 2") == 2
    assert lane.borrowed == 1
    await lane.close()


async def test_a_canceled_read_gives_its_connection_back_and_the_next_read_is_clean(
    small_pool: FairPool,
) -> None:
    lane = StatementLane(small_pool, size=1)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(lane.fetchval("SELECT pg_sleep(30)"), 0.2)
    assert lane.borrowed == 0
    assert await asyncio.wait_for(lane.fetchval("SELECT 'after'"), 30) == "after"
    await lane.close()


async def test_kept_connections_go_back_after_an_idle_spell(small_pool: FairPool) -> None:
    lane = StatementLane(small_pool, size=2, idle_seconds=0.05)
    await lane.fetchval("SELECT 1")
    assert lane.borrowed == 1
    await until(lambda: lane.borrowed == 0, "the idle connection's return")
    await until(lambda: small_pool.get_idle_size() == small_pool.get_size(), "the pool idle")
    await lane.close()


async def test_an_exhausted_pool_refuses_a_read_after_its_acquire_timeout(
    small_pool: FairPool,
) -> None:
    lane = StatementLane(small_pool, size=2)
    held = [await small_pool.acquire() for _ in range(3)]
    try:
        with pytest.raises(TimeoutError):
            await lane.fetchval("SELECT 1")
        assert lane.borrowed == 0
    finally:
        for connection in held:
            await small_pool.release(connection)
    assert await lane.fetchval("SELECT 1") == 1
    await lane.close()


async def test_reads_past_a_borrow_under_way_do_not_wait_for_it(
    small_pool: FairPool,
) -> None:
    """With the pool exhausted, the lane's first borrow and the reads past the lane's size
    each meet the pool's acquire timeout at once, side by side: none waits for another's."""
    lane = StatementLane(small_pool, size=1)
    held = [await small_pool.acquire() for _ in range(3)]
    try:
        reads = [asyncio.create_task(lane.fetchval("SELECT 1")) for _ in range(3)]
        await until(lambda: lane.borrowed == 1, "the lane's borrow under way")
        await asyncio.sleep(0)
        assert lane.waiting == 0
        answers = await asyncio.wait_for(
            asyncio.gather(*reads, return_exceptions=True),
            30,  # a safety net: a read waiting on the lane would wait for ever
        )
    finally:
        for connection in held:
            await small_pool.release(connection)
    assert all(isinstance(answer, TimeoutError) for answer in answers), answers
    assert lane.borrowed == 0
    await lane.close()


async def test_close_gives_back_a_connection_whose_read_ends_after_it(
    small_pool: FairPool,
) -> None:
    lane = StatementLane(small_pool, size=1)
    reading = asyncio.create_task(lane.fetchval("SELECT pg_sleep(0.2)::text"))
    await until(lambda: lane.borrowed == 1, "the read under way")
    await lane.close()
    assert await reading == ""
    await until(lambda: lane.borrowed == 0, "the read's connection given back")


async def test_a_kept_connection_lost_meanwhile_is_not_read_on(
    small_pool: FairPool, migrated_url: str
) -> None:
    lane = StatementLane(small_pool, size=1)
    kept = await lane.fetchval(BACKEND)
    killer = await asyncpg.connect(migrated_url)
    try:
        assert await killer.fetchval("SELECT pg_terminate_backend($1, 10000)", kept)
    finally:
        await killer.close()
    await until(lambda: lane.prune() == 1, "the kept connection found closed")
    assert lane.borrowed == 0
    assert await lane.fetchval(BACKEND) != kept
    await lane.close()


async def test_writes_alone_and_in_a_pipeline_keep_one_connection(small_pool: FairPool) -> None:
    await small_pool.execute("DROP TABLE IF EXISTS lane_rows")
    await small_pool.execute("CREATE TABLE lane_rows (n int UNIQUE)")
    lane = StatementLane(small_pool, size=2, waits=False)
    insert = "INSERT INTO lane_rows VALUES ($1) RETURNING n, pg_backend_pid() AS backend"
    alone = await lane.fetchrow(insert, 1)
    together = await lane.fetchmany(insert, [(2,), (3,)])
    assert [row["n"] for row in (alone, *together)] == [1, 2, 3]
    assert {row["backend"] for row in (alone, *together)} == {alone["backend"]}
    assert (lane.borrowed, lane.free) == (1, 1)
    await lane.close()
    await small_pool.execute("DROP TABLE lane_rows")


async def test_a_failed_pipeline_writes_nothing_and_gives_its_connection_back(
    small_pool: FairPool,
) -> None:
    await small_pool.execute("DROP TABLE IF EXISTS lane_rows")
    await small_pool.execute("CREATE TABLE lane_rows (n int UNIQUE)")
    lane = StatementLane(small_pool, size=1, waits=False)
    insert = "INSERT INTO lane_rows VALUES ($1) RETURNING n"
    with pytest.raises(asyncpg.UniqueViolationError):
        await lane.fetchmany(insert, [(1,), (2,), (1,)])
    assert lane.borrowed == 0
    assert await small_pool.fetchval("SELECT count(*) FROM lane_rows") == 0
    assert [row["n"] for row in await lane.fetchmany(insert, [(1,), (2,)])] == [1, 2]
    assert await small_pool.fetchval("SELECT count(*) FROM lane_rows") == 2
    await lane.close()
    await small_pool.execute("DROP TABLE lane_rows")


@pytest.mark.parametrize("waits", [True, False])
async def test_past_its_size_a_lane_that_does_not_wait_takes_a_connection_of_the_pool(
    small_pool: FairPool, migrated_url: str, waits: bool
) -> None:
    """A write lasts its commit: with the lane's one connection held, a second write runs on
    a connection of the pool at once, where a lane that waits (the reads') waits for it."""
    lane = StatementLane(small_pool, size=1, waits=waits)
    holder = await asyncpg.connect(migrated_url)
    await holder.execute("SELECT pg_advisory_lock(4242)")
    held = asyncio.create_task(
        lane.fetchrow("SELECT pg_backend_pid() AS backend, pg_advisory_xact_lock(4242)")
    )
    await until(lambda: lane.borrowed == 1 and lane.free == 0)
    second = asyncio.create_task(lane.fetchrow("SELECT pg_backend_pid() AS backend"))
    if waits:
        await asyncio.sleep(0.2)
        assert not second.done()  # it waits for the lane's connection
    else:
        await asyncio.wait_for(asyncio.shield(second), 30)
        assert not held.done()  # it ran beside the held one
    await holder.execute("SELECT pg_advisory_unlock(4242)")
    first, after = await held, await second
    assert (after["backend"] == first["backend"]) is waits
    assert lane.borrowed == 1
    await holder.close()
    await lane.close()
