"""What the events need from storage: the outbox read in commit order."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from domain.events.model import EventFilter, EventRecord
from domain.events.visibility import EventVisibility


class EventLog(Protocol):
    async def after(
        self,
        position: int,
        limit: int,
        event_filter: EventFilter | None = None,
        visibility: EventVisibility | None = None,
    ) -> list[EventRecord]:
        """Up to `limit` events after `position` (an event id; 0: from the start), oldest
        first, that match `event_filter` and that `visibility` allows (None: all)."""
        ...

    async def count(
        self, event_filter: EventFilter | None = None, visibility: EventVisibility | None = None
    ) -> int: ...

    async def newest(self) -> int:
        """The id of the newest event (0 when there is none)."""
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
