"""When the event retention job runs: a random fraction of an interval after start, then
every interval give or take the jitter; a failed run is logged and the job goes on."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from domain.events.model import ORIGIN, EventFilter, EventRecord, Position
from domain.events.ports import EventRead
from domain.events.visibility import EventVisibility
from resolvers.event_retention import EventRetention

NOW = datetime(2026, 6, 1, tzinfo=UTC)


class Log:
    def __init__(self, fail_first: bool = False) -> None:
        self.cutoffs: list[datetime] = []
        self._fail = fail_first

    async def prune(self, older_than: datetime) -> int:
        self.cutoffs.append(older_than)
        if self._fail:
            self._fail = False
            raise ConnectionError("database restarting")
        return 0

    async def after(
        self,
        position: Position,
        limit: int,
        event_filter: EventFilter | None = None,
        visibility: EventVisibility | None = None,
    ) -> EventRead:
        return EventRead([], horizon=1)

    async def count(
        self, event_filter: EventFilter | None = None, visibility: EventVisibility | None = None
    ) -> int:
        return 0

    async def newest(self) -> Position:
        return ORIGIN

    async def by_ids(self, ids: Sequence[int]) -> list[EventRecord | None]:
        return []


async def run(log: Log, runs: int, randoms: list[float]) -> list[float]:
    pauses: list[float] = []
    enough = asyncio.Event()

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)
        if len(log.cutoffs) >= runs:
            enough.set()
            await asyncio.Event().wait()

    values = iter(randoms)
    retention = EventRetention(
        log, retention_days=30, interval_seconds=100, jitter=0.1, now=lambda: NOW,
        sleep=sleep, rand=lambda: next(values),
    )  # fmt: skip
    retention.start()
    await asyncio.wait_for(enough.wait(), 5)
    await retention.stop()
    return pauses


async def test_first_run_after_a_random_part_of_an_interval_then_jittered() -> None:
    log = Log()
    pauses = await run(log, 3, [0.25, 0.0, 1.0, 0.5])
    assert pauses == pytest.approx([25, 90, 110, 100])
    assert log.cutoffs == [NOW - timedelta(days=30)] * 3


async def test_a_failed_run_does_not_stop_the_job(caplog: pytest.LogCaptureFixture) -> None:
    log = Log(fail_first=True)
    await run(log, 2, [0.0, 0.5, 0.5, 0.5])
    assert len(log.cutoffs) == 2
    assert "pruning old events failed: ConnectionError: database restarting" in caplog.text
