"""One process's live events: the outbox read once per wake-up, fanned out in memory.

Each process holds one `EventFeed`. A wake-up (a `NOTIFY` from whichever process committed,
or the polling fallback when notices are missed) makes it read the events after the newest
it has seen, in the outbox's order, page by page, and hand each to every subscriber's
bounded queue. An event committed while an older transaction still runs is not readable yet
when its notice arrives (`providers/postgres/outbox.py`): when a read leaves such events
behind, the feed reads again shortly (`recheck_seconds`) instead of waiting for the next
notice or poll. The SQL run per event is the same for one subscriber or a thousand; what each
subscriber may see and asked for is decided in memory, per subscriber.
While nobody subscribes, a wake-up reads nothing: the first subscriber after such a spell
looks up the newest event and starts there, so a process without subscribers runs no SQL per
committed change.

A subscriber that does not read falls behind: once its queue is full it is dropped (its next
read raises `SubscriberTooSlow`) rather than buffered without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar, cast

from domain.background import start_background
from domain.errors import CatalogError, ErrorCode
from domain.events.model import ORIGIN, EventRecord, Position
from domain.events.ports import EventLog, EventWakeups

log = logging.getLogger(__name__)
T = TypeVar("T")

READ_PAGE = 500
"""Events read per statement when catching up."""

RECHECK_SECONDS = 0.05
"""How soon the feed reads again when committed events waited behind an older transaction."""

RETRY_SECONDS = 0.1
"""How soon the feed reads again after a read failed (the database restarting, its pool
reconnecting), doubled at each failure in a row up to `poll_seconds`. A notice cuts the wait
short: the database that sent it is back."""

GATHER_SECONDS = 0.01
"""After a read that found events, how long the notices of the next ones gather before the
next read: under a burst of writes one read takes many events instead of one per commit
(each read is a statement and a wake-up of the process's loop). The first event after a quiet
spell is read as soon as its notice arrives."""


@dataclass(slots=True)
class StreamPosition:
    """Where one subscription stands, for transports that resume (SSE's `Last-Event-ID`)."""

    resume_after: str | None = None
    """A cursor the transport was given: replay after it (instead of the `after` argument)."""
    last_cursor: str | None = None
    """The cursor of the newest event the subscription delivered."""
    subscribed: asyncio.Event = field(default_factory=asyncio.Event)
    """Set once the subscription receives live events: from then on nothing committed is
    missed, and a transport may tell its client so."""


class SubscriberTooSlow(CatalogError):
    """The subscriber did not read its events fast enough and was dropped."""

    code = ErrorCode.RATE_LIMITED


class FeedClosed(Exception):
    """The feed stopped (the process is shutting down)."""


class Round:
    """One read of the outbox, as its subscribers see it: what answering its events loads is
    loaded once for all of them (`shared`), so that the SQL run per event does not grow with
    the number of subscribers even when their answers select related objects."""

    __slots__ = ("_shared",)

    def __init__(self) -> None:
        self._shared: object | None = None

    def shared(self, make: Callable[[], T]) -> T:
        """The value `make` made for the first subscriber that asked, for every one."""
        if self._shared is None:
            self._shared = make()
        return cast(T, self._shared)


class FeedSubscription:
    """One subscriber's queue of live events (those after `start`, in the outbox's order)."""

    def __init__(
        self,
        feed: EventFeed,
        start: Position,
        capacity: int,
        wants: Callable[[EventRecord], bool] | None = None,
    ) -> None:
        self._feed = feed
        self._wants = wants
        self.start = start
        """The newest event the feed had read when this subscription began: every later
        one reaches the queue (or drops the subscriber)."""
        self._capacity = capacity
        self._pending: deque[EventRecord] = deque()
        self.round = Round()
        """The read the newest queued event came from."""
        self._signal = asyncio.Event()
        self.dropped = False
        self.closed = False

    def offer(self, event: EventRecord, round_: Round | None = None) -> None:
        if self.dropped or self.closed or (self._wants is not None and not self._wants(event)):
            return
        if round_ is not None:
            self.round = round_
        if len(self._pending) >= self._capacity:
            self.dropped = True
            self._pending.clear()
            self._feed.discard(self)
        else:
            self._pending.append(event)
        self._signal.set()

    def end(self) -> None:
        self.closed = True
        self._signal.set()

    async def next_batch(self) -> list[EventRecord]:
        """The events queued now (waiting for at least one); raises SubscriberTooSlow once
        dropped and FeedClosed once the feed stopped."""
        while True:
            if self.dropped:
                raise SubscriberTooSlow(
                    "you did not read events fast enough and were dropped; subscribe again "
                    "with `after` set to the cursor of the last event you received"
                )
            if self._pending:
                batch = list(self._pending)
                self._pending.clear()
                return batch
            if self.closed:
                raise FeedClosed
            self._signal.clear()
            await self._signal.wait()

    def close(self) -> None:
        self.closed = True
        self._feed.discard(self)


class EventFeed:
    def __init__(
        self,
        events: EventLog,
        wakeups: EventWakeups,
        *,
        poll_seconds: float = 1.0,
        queue_size: int = 1_000,
        page: int = READ_PAGE,
        recheck_seconds: float = RECHECK_SECONDS,
        retry_seconds: float = RETRY_SECONDS,
        gather_seconds: float = GATHER_SECONDS,
    ) -> None:
        self._events = events
        self.wakeups = wakeups
        self._poll_seconds = poll_seconds
        self._recheck_seconds = min(recheck_seconds, poll_seconds)
        self._retry_seconds = retry_seconds
        self._gather_seconds = min(gather_seconds, self._recheck_seconds)
        self._queue_size = queue_size
        self._page = page
        self._subscribers: set[FeedSubscription] = set()
        self._looking: asyncio.Future[None] | None = None
        self._behind = False
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.position = ORIGIN
        """The position of the newest event read (and handed to subscribers)."""
        self.reads = 0
        """How many times the outbox was read: grows with events (and one look per quiet spell
        that a subscriber ends), never with the number of subscribers."""

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    @property
    def behind(self) -> bool:
        """Whether events may have been committed past `position` unread, while nobody
        subscribed: the next subscriber looks up the newest first."""
        return self._behind

    async def start(self) -> None:
        self.position = await self._events.newest()
        self._tasks = [
            start_background(self.wakeups.run(self._notice), "event-feed-listen"),
            start_background(self._read_forever(), "event-feed-read"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        for subscriber in list(self._subscribers):
            subscriber.end()
        self._subscribers.clear()

    async def subscribe(
        self, wants: Callable[[EventRecord], bool] | None = None
    ) -> FeedSubscription:
        """A queue of the events committed from now on (those `wants` accepts). While nobody
        subscribes, the feed reads nothing at notices: the first subscribers after such a
        spell wait for one look at the newest event, and start there."""
        if not self._subscribers and (self._behind or self._looking is not None):
            if self._looking is None:
                self._looking = asyncio.ensure_future(self._look_up_newest())
            await asyncio.shield(self._looking)
        subscription = FeedSubscription(self, self.position, self._queue_size, wants)
        if self._behind and not self._subscribers:
            self._wake.set()  # a notice came after the look, while nobody subscribed: read
        self._subscribers.add(subscription)
        return subscription

    async def _look_up_newest(self) -> None:
        """One look for every subscriber that comes meanwhile: each is added only once it
        is done (before the feed can read again), so all of them start at the position."""
        self._behind = False  # a notice read meanwhile sets it again: its event may be past
        try:
            newest = await self._events.newest()
        except BaseException:
            self._behind = True
            raise
        finally:
            self._looking = None
        self.reads += 1
        if not self._subscribers:
            self.position = max(self.position, newest)

    def discard(self, subscription: FeedSubscription) -> None:
        self._subscribers.discard(subscription)

    def wake(self) -> None:
        """Read the outbox now (as a notice would)."""
        self._wake.set()

    def _notice(self) -> None:
        """A change committed. With nobody subscribed, the reading task is not woken: all it
        would do is mark the feed behind."""
        if self._subscribers:
            self._wake.set()
        else:
            self._behind = True

    async def _read_forever(self) -> None:
        pause = self._poll_seconds
        failures = 0
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(pause):
                    await self._wake.wait()
            self._wake.clear()
            before = self.position
            try:
                waiting = await self.catch_up()
            except Exception:  # the database may be restarting: retry soon, or at a notice
                failures += 1
                pause = min(self._poll_seconds, self._retry_seconds * 2 ** min(failures - 1, 5))
                log.warning("could not read new events; retrying in %g s", pause, exc_info=True)
                continue
            failures = 0
            pause = self._recheck_seconds if waiting else self._poll_seconds
            if self.position != before and self._gather_seconds > 0:
                await asyncio.sleep(self._gather_seconds)  # notices arriving meanwhile stay set

    async def catch_up(self) -> bool:
        """Read every readable event after `position` and hand each to every subscriber;
        whether committed events are still waiting for an older transaction to end."""
        if not self._subscribers:
            self._behind = True  # nobody to hand them to: the next subscriber looks it up
            return False
        self._behind = False
        while True:
            read = await self._events.after(self.position, self._page)
            self.reads += 1
            found = read.events
            if found:
                self._fan_out(found)
                self.position = found[-1].position
            if len(found) < self._page:
                return read.waiting

    def _fan_out(self, events: Sequence[EventRecord]) -> None:
        round_ = Round()
        for subscriber in list(self._subscribers):
            for event in events:
                subscriber.offer(event, round_)
