"""Event retention: a background job that deletes events older than the retention period
(and idempotency keys older than a day).

Every process runs one (started and stopped with the app): each run is a single idempotent
`EventLog.prune`, so replicas pruning at the same time only repeat each other's work. The
first run comes a random fraction of an interval after start, and every pause is jittered, so
replicas started together do not prune in step.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from domain.background import start_background
from domain.events.ports import EventLog
from domain.idempotency import KEPT, IdempotencyKeys

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
Now = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class EventRetention:
    def __init__(
        self,
        events: EventLog,
        *,
        retention_days: int,
        interval_seconds: float = 3600.0,
        jitter: float = 0.1,
        now: Now = _utc_now,
        sleep: Sleep = asyncio.sleep,
        rand: Callable[[], float] = random.random,
        idempotency: IdempotencyKeys | None = None,
    ) -> None:
        """`jitter`: each pause is `interval_seconds` times 1 ± `jitter` (a fraction);
        `idempotency`: the idempotency keys, forgotten after `KEPT` in the same runs."""
        self._events = events
        self._idempotency = idempotency
        self._retention = timedelta(days=retention_days)
        self._interval = interval_seconds
        self._jitter = jitter
        self._now = now
        self._sleep = sleep
        self._rand = rand
        self._task: asyncio.Task[None] | None = None

    async def prune_once(self) -> int:
        """Delete the events older than the retention period; how many."""
        pruned = await self._events.prune(self._now() - self._retention)
        if pruned:
            log.info("pruned %d events older than %d days", pruned, self._retention.days)
        if self._idempotency is not None:
            forgotten = await self._idempotency.prune(self._now() - KEPT)
            if forgotten:
                log.info("forgot %d idempotency keys older than %s", forgotten, KEPT)
        return pruned

    def start(self) -> None:
        if self._task is None:
            self._task = start_background(self._run(), "event-retention")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        await self._sleep(self._interval * self._rand())
        while True:
            try:
                await self.prune_once()
            except Exception as error:
                log.warning("pruning old events failed: %s: %s", type(error).__name__, error)
            spread = 1 + self._jitter * (2 * self._rand() - 1)
            await self._sleep(self._interval * spread)
