"""What the events need from storage: the outbox read in commit order."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.events.model import EventFilter, EventRecord, Position
from domain.events.visibility import EventVisibility


@dataclass(frozen=True, slots=True)
class EventRead:
    """One read of the outbox: its events, and how far committed events stand from being
    readable."""

    events: list[EventRecord]
    horizon: int
    """The oldest transaction still running when read: only events of older transactions
    are read (those of that one and of later ones may still commit before it)."""
    newest_tx: int = 0
    """The newest transaction with a committed event then (0: none)."""

    @property
    def waiting(self) -> bool:
        """Whether committed events were left unread because an older transaction still
        ran: they become readable as soon as it ends."""
        return self.newest_tx >= self.horizon


class EventLog(Protocol):
    async def after(
        self,
        position: Position,
        limit: int,
        event_filter: EventFilter | None = None,
        visibility: EventVisibility | None = None,
    ) -> EventRead:
        """Up to `limit` events after `position` (`ORIGIN`: from the start), in the outbox's
        order, that match `event_filter` and that `visibility` allows (None: all); only
        events whose transaction is older than every transaction still running."""
        ...

    async def count(
        self, event_filter: EventFilter | None = None, visibility: EventVisibility | None = None
    ) -> int: ...

    async def newest(self) -> Position:
        """The position of the newest event readable now (`ORIGIN` when there is none)."""
        ...

    async def by_ids(self, ids: Sequence[int]) -> list[EventRecord | None]: ...

    async def prune(self, older_than: datetime) -> int:
        """Delete the events that occurred before `older_than`; how many."""
        ...


class EventWakeups(Protocol):
    """Tells a process that new events may have been committed (by any process)."""

    async def run(self, wake: Callable[[], None]) -> None:
        """Call `wake` on every notice of new events, and once each time notices start
        (again) to arrive, since some may have been missed meanwhile; runs until cancelled,
        recovering by itself from a lost connection."""
        ...
