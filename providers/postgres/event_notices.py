"""The outbox's wake-up (`NOTIFY paved_events`), sent after the change that wrote the events
has committed, never inside its transaction.

A transaction that has called `NOTIFY` takes, as it commits, a lock that every notifying
transaction of the database shares, and holds it until its commit is flushed to the
write-ahead log (PostgreSQL queues notices in commit order). Changes that notify in their own
transaction therefore commit one at a time, each waiting for its own flush: a global
serialisation of every write that emits an event. So a change writes its events and answers
their newest id, and the wake-up is sent after its commit, in a transaction of its own that
writes nothing durable and holds that lock only for a moment.

`EventNotices` (the server's) sends the wake-ups in the background, one at a time and at most
one per pause (10 ms): the changes committed meanwhile share the next, which carries the newest
of their ids. A change alone wakes the listeners at once; under load each listener reads once
for many changes. `announce` sends one at once, on the connection of the change that just
committed (the administration commands, and stores built without `EventNotices`).

A wake-up is a hint: a notice lost between a commit and its wake-up (the database gone for a
moment, a process killed) loses no event. Listeners also look for events on their own every
`PAVED_EVENT_POLL_SECONDS`, and a listener that reconnects looks at once."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

import asyncpg

from domain.background import start_background
from providers.postgres.outbox import CHANNEL

log = logging.getLogger(__name__)

_SEND = "SELECT pg_notify($1, $2)"
_LOST = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)


class _Executes(Protocol):
    async def fetchval(self, query: str, /, *args: Any) -> Any: ...


async def announce(connection: _Executes, newest: int) -> bool:
    """The wake-up for events up to id `newest`, sent now on `connection` (not inside a
    transaction: its own); whether it was sent. A failure is logged, not raised: the change
    it follows has committed, and listeners find its events by polling."""
    try:
        await connection.fetchval(_SEND, CHANNEL, str(newest))
    except _LOST as error:
        log.warning("could not wake the event listeners (%s); they will poll", _named(error))
        return False
    return True


PAUSE_SECONDS = 0.01


class EventNotices:
    """`written(newest)` after each commit that wrote events; at most one wake-up on its way
    at a time, on a connection of `pool`, and `pause_seconds` at least between two."""

    work_name = "event-notices"

    def __init__(self, pool: _Executes, *, pause_seconds: float = PAUSE_SECONDS) -> None:
        self._pool = pool
        self._pause_seconds = pause_seconds
        self._newest = 0
        self._waiting = False
        self._sending: asyncio.Task[None] | None = None
        self._closed = False
        self.sent = 0
        """How many wake-ups were sent (not counting those that failed)."""

    def written(self, newest: int) -> None:
        """Events up to id `newest` have committed: wake the listeners soon."""
        self._newest = max(self._newest, newest)
        self._waiting = True
        if self._sending is None and not self._closed:
            self._sending = start_background(self._send(), self.work_name)

    def _taken(self) -> int:
        """The newest id of the changes committed since the last wake-up, which it names."""
        newest, self._newest, self._waiting = self._newest, 0, False
        return newest

    async def _send(self) -> None:
        try:
            while self._waiting:
                self.sent += await announce(self._pool, self._taken())
                if not self._closed:
                    await asyncio.sleep(self._pause_seconds)
        finally:
            self._sending = None

    async def close(self) -> None:
        """Send what is waiting, then no more (before the pool closes)."""
        self._closed = True
        if self._sending is not None:
            await asyncio.shield(self._sending)
        if self._waiting:
            await announce(self._pool, self._taken())


def _named(error: BaseException) -> str:
    return str(error) or type(error).__name__
