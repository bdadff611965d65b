"""The pool's gauges read asyncpg's pool as it is: connections in use and requests waiting;
the runners' backlog counted in one statement."""

from __future__ import annotations

import asyncio

import asyncpg

from api.observability.metrics import Metrics, pool_waiting
from providers.postgres.backlog import backlog
from providers.postgres.database import create_pool


async def test_waiting_and_in_use_follow_the_pool(migrated_url: str) -> None:
    pool = await create_pool(migrated_url, min_size=1, max_size=1)
    metrics = Metrics()
    metrics.watch_pool(pool, lambda: backlog(pool))
    try:
        held = await pool.acquire()
        assert pool_waiting(pool) == 0
        waiters = [asyncio.ensure_future(pool.acquire()) for _ in range(2)]
        for _ in range(3):  # each waiter reaches the pool's queue without any I/O
            await asyncio.sleep(0)
        registry = metrics.registry
        assert registry.get_sample_value("paved_db_pool_waiting") == 2
        assert registry.get_sample_value("paved_db_pool_connections", {"state": "in_use"}) == 1
        assert registry.get_sample_value("paved_db_pool_connections", {"state": "max"}) == 1
        await pool.release(held)
        first = await waiters[0]
        assert pool_waiting(pool) == 1
        await pool.release(first)
        await pool.release(await waiters[1])
        assert registry.get_sample_value("paved_db_pool_waiting") == 0
        assert registry.get_sample_value("paved_db_pool_connections", {"state": "in_use"}) == 0
    finally:
        pool.terminate()


async def test_the_backlog_counts_what_the_runners_have_left(
    pool: asyncpg.Pool, migrated_url: str
) -> None:
    counts = await backlog(pool)
    assert counts == {"rollouts": 0, "resources": 0, "webhook_deliveries": 0}
    metrics = Metrics()
    metrics.watch_pool(pool, lambda: backlog(pool))
    await metrics.refresh_backlog()
    assert metrics.registry.get_sample_value("paved_runner_backlog", {"queue": "rollouts"}) == 0
