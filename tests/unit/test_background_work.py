"""Background work is told apart from a request's, even when a request started it."""

from __future__ import annotations

import asyncio

from domain.background import background_work, start_background
from resolvers.request_stats import RequestStats, count_statement, current_stats


async def test_a_statement_run_by_background_work_counts_toward_no_request() -> None:
    stats = RequestStats()
    current_stats.set(stats)
    count_statement(None)

    async def lease_renewal() -> str | None:
        count_statement(None)
        return background_work()

    assert await start_background(lease_renewal(), "rollout-leases") == "rollout-leases"
    assert stats.statements == 1
    assert background_work() is None


async def test_the_task_carries_its_name() -> None:
    task = start_background(asyncio.sleep(0), "event-feed-read")
    await task
    assert task.get_name() == "event-feed-read"
