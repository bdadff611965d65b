"""The feed's fan-out, in memory: one read per wake-up whatever the number of subscribers,
each subscriber's events in order, a subscriber that falls behind dropped, polling when no
notice comes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import pytest

from domain.events.model import ORIGIN, EventFilter, EventRecord, EventType, Position, SubjectKind
from domain.events.ports import EventRead
from domain.events.visibility import EventVisibility
from resolvers.event_feed import EventFeed, FeedClosed, SubscriberTooSlow
from tests.support.waiting import until


def _event(event_id: int, type_: EventType = EventType.TEAM_CREATED) -> EventRecord:
    return EventRecord(event_id, type_, datetime.now(UTC), SubjectKind.TEAM, event_id, {})


class MemoryLog:
    def __init__(self) -> None:
        self.events: list[EventRecord] = []
        self.reads = 0
        self.held_back = 0
        """How many of the newest events are committed but not readable yet (an older
        transaction still runs)."""
        self.was_read = asyncio.Event()
        self.newest_calls = 0
        self.failing = 0
        """How many of the next reads fail (the database restarting)."""

    def commit(self, count: int, type_: EventType = EventType.TEAM_CREATED) -> None:
        start = len(self.events)
        self.events.extend(_event(start + index + 1, type_) for index in range(count))

    async def after(
        self,
        position: Position,
        limit: int,
        event_filter: EventFilter | None = None,
        visibility: EventVisibility | None = None,
    ) -> EventRead:
        self.reads += 1
        self.was_read.set()
        if self.failing:
            self.failing -= 1
            raise ConnectionError("the database is restarting")
        readable = self.events[: len(self.events) - self.held_back]
        found = [event for event in readable if event.position > position][:limit]
        return EventRead(found, horizon=1, newest_tx=1 if self.held_back else 0)

    async def count(
        self, event_filter: EventFilter | None = None, visibility: EventVisibility | None = None
    ) -> int:
        return len(self.events)

    async def newest(self) -> Position:
        self.newest_calls += 1
        return self.events[-1].position if self.events else ORIGIN

    async def by_ids(self, ids: Sequence[int]) -> list[EventRecord | None]:
        return [self.events[i - 1] if 0 < i <= len(self.events) else None for i in ids]

    async def prune(self, older_than: datetime) -> int:
        return 0


class ManualWakeups:
    def __init__(self) -> None:
        self.wake: Callable[[], None] | None = None

    async def run(self, wake: Callable[[], None]) -> None:
        self.wake = wake
        await asyncio.Event().wait()


async def _feed(log: MemoryLog, **options: float) -> tuple[EventFeed, ManualWakeups]:
    wakeups = ManualWakeups()
    feed = EventFeed(log, wakeups, **{"poll_seconds": 60.0, "queue_size": 10, **options})  # type: ignore[arg-type]
    await feed.start()
    await asyncio.sleep(0)
    return feed, wakeups


async def test_one_read_per_wake_up_whatever_the_number_of_subscribers() -> None:
    log = MemoryLog()
    log.commit(3)  # before the feed started: nobody gets them
    feed, _ = await _feed(log)
    try:
        subscribers = [await feed.subscribe() for _ in range(50)]
        log.commit(4)
        reads = log.reads
        await feed.catch_up()
        assert log.reads - reads == 1
        for subscriber in subscribers:
            assert [event.id for event in await subscriber.next_batch()] == [4, 5, 6, 7]
    finally:
        await feed.stop()


async def test_a_subscriber_whose_queue_overflows_is_dropped_and_the_others_go_on() -> None:
    log = MemoryLog()
    feed, _ = await _feed(log)
    try:
        slow = await feed.subscribe()
        picky = await feed.subscribe(lambda event: event.type is EventType.TEAM_DELETED)
        log.commit(11, EventType.SERVICE_CREATED)
        log.commit(1, EventType.TEAM_DELETED)
        await feed.catch_up()
        with pytest.raises(SubscriberTooSlow):
            await slow.next_batch()
        assert [event.id for event in await picky.next_batch()] == [12]
        assert feed.subscribers == 1
    finally:
        await feed.stop()
    with pytest.raises(FeedClosed):
        await picky.next_batch()


async def test_without_notices_the_feed_polls() -> None:
    log = MemoryLog()
    feed, _ = await _feed(log, poll_seconds=0.01)
    try:
        subscriber = await feed.subscribe()
        log.commit(2)
        async with asyncio.timeout(5):
            assert [event.id for event in await subscriber.next_batch()] == [1, 2]
    finally:
        await feed.stop()


async def test_a_notice_wakes_the_feed_at_once() -> None:
    log = MemoryLog()
    feed, wakeups = await _feed(log)
    try:
        subscriber = await feed.subscribe()
        log.commit(1)
        assert wakeups.wake is not None
        wakeups.wake()
        async with asyncio.timeout(5):
            assert [event.id for event in await subscriber.next_batch()] == [1]
    finally:
        await feed.stop()


async def test_events_held_back_by_an_older_transaction_are_read_again_soon_without_a_notice() -> (
    None
):
    log = MemoryLog()
    feed, wakeups = await _feed(log)  # polls only once a minute
    try:
        subscriber = await feed.subscribe()
        log.commit(2)
        log.held_back = 2
        assert wakeups.wake is not None
        log.was_read.clear()
        wakeups.wake()  # their notice: the read finds them not readable yet
        async with asyncio.timeout(5):
            await log.was_read.wait()
        log.held_back = 0  # the older transaction ended: no notice for that
        async with asyncio.timeout(5):
            assert [event.id for event in await subscriber.next_batch()] == [1, 2]
    finally:
        await feed.stop()


async def test_a_read_that_failed_is_tried_again_soon_without_waiting_for_the_poll() -> None:
    log = MemoryLog()
    feed, wakeups = await _feed(log)  # polls only once a minute
    try:
        assert wakeups.wake is not None
        subscriber = await feed.subscribe()
        log.commit(1)
        log.failing = 3  # the pool reconnecting after a restart
        wakeups.wake()  # the listener's own reconnect, before the pool is back
        async with asyncio.timeout(10):
            assert [event.id for event in await subscriber.next_batch()] == [1]
        assert log.reads == 4
    finally:
        await feed.stop()


async def test_a_notice_during_the_wait_after_a_failed_read_reads_at_once() -> None:
    log = MemoryLog()
    feed, wakeups = await _feed(log, retry_seconds=60.0)  # would retry in a minute
    try:
        assert wakeups.wake is not None
        subscriber = await feed.subscribe()
        log.failing = 1
        wakeups.wake()
        await until(lambda: log.reads == 1, "the failed read")
        log.commit(1)
        wakeups.wake()  # the database is back and says so
        async with asyncio.timeout(10):
            assert [event.id for event in await subscriber.next_batch()] == [1]
    finally:
        await feed.stop()


async def test_notices_right_after_a_read_that_found_events_gather_for_one_read() -> None:
    log = MemoryLog()
    feed, wakeups = await _feed(log, recheck_seconds=60.0, gather_seconds=60.0)
    try:
        assert wakeups.wake is not None
        subscriber = await feed.subscribe()
        log.commit(1)  # the first after a quiet spell: read at once
        wakeups.wake()
        assert [event.id for event in await subscriber.next_batch()] == [1]
        reads = log.reads
        for _ in range(3):  # a burst: each commit's notice, the loop turning between them
            log.commit(1)
            wakeups.wake()
            for _ in range(10):
                await asyncio.sleep(0)
        assert log.reads == reads  # gathering: none read yet, all three read together next
    finally:
        await feed.stop()


async def test_a_read_that_found_nothing_lets_the_next_notice_read_at_once() -> None:
    log = MemoryLog()
    feed, wakeups = await _feed(log, recheck_seconds=60.0, gather_seconds=60.0)
    try:
        assert wakeups.wake is not None
        subscriber = await feed.subscribe()
        wakeups.wake()  # a notice whose event the read does not find (a rolled-back write)
        await until(lambda: log.reads == 1, "the empty read")
        log.commit(1)
        wakeups.wake()
        assert [event.id for event in await subscriber.next_batch()] == [1]
    finally:
        await feed.stop()


async def test_with_nobody_subscribed_a_notice_runs_no_statement() -> None:
    log = MemoryLog()
    feed, wakeups = await _feed(log)
    try:
        assert wakeups.wake is not None
        looked = log.newest_calls
        log.commit(3)
        for _ in range(3):
            wakeups.wake()
            assert not feed._wake.is_set(), "the reading task is not even woken"
            assert feed.behind
            await feed.catch_up()
        assert (log.reads, log.newest_calls) == (0, looked)
        # The first subscriber looks up the newest (once) and starts there.
        subscriber = await feed.subscribe()
        assert log.newest_calls == looked + 1
        assert feed.position == log.events[-1].position
        log.commit(2)
        wakeups.wake()
        async with asyncio.timeout(5):
            assert [event.id for event in await subscriber.next_batch()] == [4, 5]
        # A second one, the feed being current, looks nothing up.
        await feed.subscribe()
        assert log.newest_calls == looked + 1
    finally:
        await feed.stop()


class SlowNewestLog(MemoryLog):
    """Its `newest` answers (with what was newest when asked) only once let through."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = asyncio.Event()
        self.answer = asyncio.Event()

    async def newest(self) -> Position:
        found = await super().newest()
        self.asked.set()
        await self.answer.wait()
        return found


async def test_what_commits_while_the_first_subscriber_joins_reaches_it() -> None:
    log = SlowNewestLog()
    log.answer.set()
    feed, wakeups = await _feed(log)
    try:
        assert wakeups.wake is not None
        log.commit(2)
        await feed.catch_up()  # nobody subscribed: not read
        log.answer.clear()
        log.asked.clear()
        joining = asyncio.create_task(feed.subscribe())
        await log.asked.wait()  # the newest is event 2
        log.commit(1)  # committed after the look: its notice finds nobody subscribed yet
        await feed.catch_up()
        assert log.reads == 0
        log.answer.set()
        subscriber = await joining
        async with asyncio.timeout(5):
            assert [event.id for event in await subscriber.next_batch()] == [3]
    finally:
        await feed.stop()


async def test_two_first_subscribers_at_once_each_get_every_later_event() -> None:
    log = SlowNewestLog()
    log.answer.set()
    feed, wakeups = await _feed(log)
    try:
        assert wakeups.wake is not None
        log.commit(2)
        await feed.catch_up()
        looked = log.newest_calls
        log.answer.clear()
        log.asked.clear()
        first = asyncio.create_task(feed.subscribe())
        await log.asked.wait()
        second = asyncio.create_task(feed.subscribe())
        for _ in range(5):
            await asyncio.sleep(0)
        log.commit(1)
        log.answer.set()
        subscribers = [await first, await second]
        assert log.newest_calls == looked + 1  # one look for both
        wakeups.wake()  # the notice of event 3
        async with asyncio.timeout(5):
            for subscriber in subscribers:
                assert [event.id for event in await subscriber.next_batch()] == [3]
    finally:
        await feed.stop()


class DownOnceLog(MemoryLog):
    """Its first `newest` fails (the database restarting)."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False

    async def newest(self) -> Position:
        if self.down:
            self.down = False
            raise ConnectionError("the database is restarting")
        return await super().newest()


async def test_a_look_that_fails_fails_the_subscription_and_the_next_one_looks_again() -> None:
    log = DownOnceLog()
    feed, _ = await _feed(log)
    try:
        log.commit(2)
        await feed.catch_up()
        log.down = True
        with pytest.raises(ConnectionError):
            await feed.subscribe()
        assert (feed.subscribers, feed.behind) == (0, True)
        subscriber = await feed.subscribe()
        assert subscriber.start == log.events[-1].position
    finally:
        await feed.stop()
