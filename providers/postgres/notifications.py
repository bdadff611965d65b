"""Wake-ups for new events: one dedicated connection doing `LISTEN paved_events`.

A notice carries only the newest event id, and only as a hint: the reader goes to the outbox
for the events themselves. When the connection is lost (a database restart, a terminated
backend) it is re-opened after a warning, and the reader is woken once it listens again, since
notices sent meanwhile are gone."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import asyncpg

from providers.postgres.outbox import CHANNEL

log = logging.getLogger(__name__)

APPLICATION_NAME = "paved-event-listener"
"""How the connection shows in `pg_stat_activity`."""

_LOST = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)


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
    ) -> None:
        """`catch_up`: wake the listener each time listening (re)starts, for what was notified
        while nobody listened (not needed where a periodic task would find it anyway)."""
        self._dsn = dsn
        self._channel = channel
        self._catch_up = catch_up
        self._check_seconds = check_seconds
        self._retry_seconds = retry_seconds
        self.connections = 0
        """How many times a LISTEN connection was opened."""

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
            server_settings={"application_name": APPLICATION_NAME},
        )
        lost = asyncio.Event()

        def on_notice(*_: Any) -> None:
            wake()

        try:
            connection.add_termination_listener(lambda _: lost.set())
            await connection.add_listener(self._channel, on_notice)
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
            if not connection.is_closed():
                connection.terminate()
