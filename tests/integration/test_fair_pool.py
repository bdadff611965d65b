"""The request pool hands out connections first come, first served: a request that asked is
not overtaken by the ones that ask after it; its wait (turn and connection together) stays
bounded by the acquire timeout; no turn is lost or gained by a timeout, a cancellation or a
connection released twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from providers.postgres.database import create_pool
from providers.postgres.fair_pool import FairPool
from tests.support.waiting import until


@pytest.fixture
async def one_connection(migrated_url: str) -> AsyncIterator[FairPool]:
    pool = await create_pool(migrated_url, min_size=1, max_size=1, acquire_timeout=0.2)
    assert isinstance(pool, FairPool)
    try:
        yield pool
    finally:
        await asyncio.wait_for(pool.close(), 30)


async def test_a_caller_is_not_overtaken_by_callers_that_asked_after_it(
    migrated_url: str,
) -> None:
    # asyncpg's own queue lets a caller that asks while a woken one has not yet run take the
    # connection; under this churn plain asyncpg lets the probe be overtaken dozens of times.
    workers, size = 6, 2
    pool = await create_pool(migrated_url, min_size=size, max_size=size)
    grants = 0
    stop = False

    async def churn() -> None:
        nonlocal grants
        while not stop:
            async with pool.acquire() as connection:
                grants += 1
                await connection.fetchval("SELECT 1")

    churning = [asyncio.create_task(churn()) for _ in range(workers)]
    overtaken: list[int] = []
    try:
        await until(lambda: grants > 50, "the churn running")
        for _ in range(40):
            before = grants
            async with pool.acquire():
                overtaken.append(grants - before)
            await asyncio.sleep(0.002)
    finally:
        stop = True
        await asyncio.gather(*churning)
        await asyncio.wait_for(pool.close(), 30)
    # At most those already holding or waiting when the probe asked go before it.
    assert max(overtaken) <= workers + size


async def test_waiters_are_served_in_the_order_they_asked(one_connection: FairPool) -> None:
    held = await one_connection.acquire(timeout=5)
    served: list[int] = []

    async def wait(index: int) -> None:
        async with one_connection.acquire(timeout=5):
            served.append(index)
            await asyncio.sleep(0)

    waiters = []
    for index in range(5):
        waiters.append(asyncio.create_task(wait(index)))
        await until(lambda: one_connection.waiting == len(waiters), "the waiter in line")
    await one_connection.release(held)
    await asyncio.gather(*waiters)
    assert served == [0, 1, 2, 3, 4]
    assert one_connection.waiting == 0


async def test_the_acquire_timeout_covers_the_wait_for_a_turn(one_connection: FairPool) -> None:
    held = await one_connection.acquire()
    assert not one_connection.has_one_at_once()
    with pytest.raises(TimeoutError):
        await one_connection.acquire()
    assert one_connection.waiting == 0
    await one_connection.release(held)
    # The timed-out caller took no turn with it: the one connection is there to take.
    assert one_connection.has_one_at_once()
    async with one_connection.acquire() as connection:
        assert await connection.fetchval("SELECT 1") == 1


async def test_a_canceled_waiter_leaves_no_turn_behind(one_connection: FairPool) -> None:
    held = await one_connection.acquire()
    waiter = asyncio.ensure_future(one_connection.acquire(timeout=5))
    await until(lambda: one_connection.waiting == 1, "the waiter in line")
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert one_connection.waiting == 0
    await one_connection.release(held)
    again = await one_connection.acquire()
    await one_connection.release(again)


async def test_a_connection_released_twice_gives_back_one_turn(one_connection: FairPool) -> None:
    connection = await one_connection.acquire()
    await one_connection.release(connection)
    await one_connection.release(connection)
    held = await one_connection.acquire()
    # Had the second release given a turn, this would wait for asyncpg's queue instead.
    assert not one_connection.has_one_at_once()
    with pytest.raises(TimeoutError):
        await one_connection.acquire()
    await one_connection.release(held)


async def test_a_connection_of_another_pool_is_refused_without_giving_a_turn(
    one_connection: FairPool, migrated_url: str
) -> None:
    stranger = await asyncpg.connect(migrated_url)
    try:
        with pytest.raises(asyncpg.InterfaceError):
            await one_connection.release(stranger)
    finally:
        await stranger.close()
    held = await one_connection.acquire()
    with pytest.raises(TimeoutError):
        await one_connection.acquire()
    await one_connection.release(held)


async def test_a_connection_lost_while_held_gives_its_turn_back(
    one_connection: FairPool, migrated_url: str
) -> None:
    """The server ends the connection while it is held (a restart): asyncpg detaches the
    proxy before it is released, and the turn still comes back, again and again."""
    other = await asyncpg.connect(migrated_url)
    try:
        for _ in range(3):
            async with one_connection.acquire() as connection:
                pid = await connection.fetchval("SELECT pg_backend_pid()")
                await other.execute("SELECT pg_terminate_backend($1)", pid)
                await until(lambda: _lost(connection), "the connection lost")
    finally:
        await other.close()
    assert await one_connection.fetchval("SELECT 1") == 1


def _lost(connection: asyncpg.Connection) -> bool:
    try:
        return connection.is_closed()
    except asyncpg.InterfaceError:  # asyncpg detached the proxy: the connection is gone
        return True
