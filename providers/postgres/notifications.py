"""Wake-ups for new events: one dedicated connection doing `LISTEN paved_events`.

A notice carries only the newest event id, and only as a hint: the reader goes to the outbox
for the events themselves. When the connection is lost (a database restart, a terminated
backend) it is re-opened after a warning, and the reader is woken once it listens again, since
notices sent meanwhile are gone.

Other channels may share the connection (`watch`): their notices are handed over with their
payload, and their watcher is told when listening starts and when the connection is lost, so
that it trusts nothing it learnt across a gap (the token cache, `api/token_cache.py`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from providers.postgres.outbox import CHANNEL

log = logging.getLogger(__name__)

APPLICATION_NAME = "paved-event-listener"
"""How the connection shows in `pg_stat_activity`."""
ACCESS_APPLICATION_NAME = "paved-access-listener"
"""How it shows when it also listens for changes of access (`listening_backends`)."""

_LOST = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)


@dataclass(frozen=True, slots=True)
class Watcher:
    """What listens on one more channel of the connection: `notice(payload)` per notice,
    `listening(backend_pid)` once LISTEN holds (again), `lost()` as soon as the connection is
    gone."""

    channel: str
    notice: Callable[[str], None]
    listening: Callable[[int], None]
    lost: Callable[[], None]


class PostgresWakeups:
    """`check_seconds`: how often an idle connection is probed (a half-open connection
    otherwise goes unnoticed); `retry_seconds`: the pause before reconnecting."""

    def __init__(
        self,
        dsn: str,
        *,
        check_seconds: float = 5.0,
        retry_seconds: float = 1.0,
        channel: str = CHANNEL,
        catch_up: bool = True,
        application_name: str = APPLICATION_NAME,
    ) -> None:
        """`catch_up`: wake the listener each time listening (re)starts, for what was notified
        while nobody listened (not needed where a periodic task would find it anyway)."""
        self._dsn = dsn
        self._channel = channel
        self._catch_up = catch_up
        self._application_name = application_name
        self._check_seconds = check_seconds
        self._retry_seconds = retry_seconds
        self.connections = 0
        """How many times a LISTEN connection was opened."""
        self._watchers: list[Watcher] = []
        self.backend_pid: int | None = None
        """The PostgreSQL backend of the connection listening now."""

    def watch(self, watcher: Watcher) -> None:
        """Listen on `watcher.channel` too, on the same connection (before `run`)."""
        self._watchers.append(watcher)

    def _lost(self) -> None:
        for watcher in self._watchers:
            watcher.lost()

    async def run(self, wake: Callable[[], None]) -> None:
        while True:
            try:
                await self._listen(wake)
            except _LOST as error:
                log.warning(
                    "the connection listening for events was lost (%s); reconnecting in %g s",
                    error or type(error).__name__,
                    self._retry_seconds,
                )
            else:
                log.warning(
                    "the connection listening for events was closed; reconnecting in %g s",
                    self._retry_seconds,
                )
            await asyncio.sleep(self._retry_seconds)

    async def _listen(self, wake: Callable[[], None]) -> None:
        connection: asyncpg.Connection = await asyncpg.connect(
            self._dsn,
            timeout=self._check_seconds,
            server_settings={"application_name": self._application_name},
        )
        lost = asyncio.Event()

        def on_notice(*_: Any) -> None:
            wake()

        def on_termination(_: object) -> None:
            lost.set()
            self._lost()

        try:
            connection.add_termination_listener(on_termination)
            await connection.add_listener(self._channel, on_notice)
            for watcher in self._watchers:
                await connection.add_listener(watcher.channel, _payload_to(watcher.notice))
            self.backend_pid = connection.get_server_pid()
            for watcher in self._watchers:
                watcher.listening(self.backend_pid)
            self.connections += 1
            if self.connections > 1:
                log.info("listening for events again")
            if self._catch_up:
                wake()  # whatever was committed while nobody listened
            while not connection.is_closed():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._check_seconds):
                        await lost.wait()
                if lost.is_set() or connection.is_closed():
                    return
                async with asyncio.timeout(self._check_seconds):
                    await connection.execute("SELECT 1")
        finally:
            self.backend_pid = None
            self._lost()
            if not connection.is_closed():
                connection.terminate()


async def notify(pool: asyncpg.Pool, channel: str, payload: str) -> None:
    """`NOTIFY channel, payload`, sent at once (its own transaction)."""
    await pool.execute("SELECT pg_notify($1, $2)", channel, payload)


async def listening_backends(pool: asyncpg.Pool, application_name: str) -> set[int]:
    """The backends of this database whose connections call themselves `application_name`."""
    rows = await pool.fetch(
        "SELECT pid FROM pg_stat_activity "
        "WHERE datname = current_database() AND application_name = $1",
        application_name,
    )
    return {row["pid"] for row in rows}


def _payload_to(notice: Callable[[str], None]) -> Callable[..., None]:
    def on_notice(_connection: object, _pid: int, _channel: str, payload: str) -> None:
        notice(payload)

    return on_notice
