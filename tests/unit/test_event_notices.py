"""`EventNotices`: one wake-up on its way at a time, a pause at least between two; the changes
committed meanwhile share the next, which names the newest of their events; a wake-up that
fails is logged, never raised, and the next change wakes the listeners again."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncpg
import pytest

from domain.background import background_work
from providers.postgres.event_notices import EventNotices, announce
from providers.postgres.outbox import CHANNEL


class Database:
    """Records each wake-up sent; holds each until `release`d when `held`."""

    def __init__(self, *, held: bool = False, failing: int = 0) -> None:
        self.sent: list[str] = []
        self.from_background: list[str | None] = []
        self._gate = asyncio.Event()
        if not held:
            self._gate.set()
        self._failing = failing

    def release(self) -> None:
        self._gate.set()

    async def fetchval(self, query: str, /, *args: Any) -> None:
        assert query == "SELECT pg_notify($1, $2)"
        assert args[0] == CHANNEL
        self.from_background.append(background_work())
        await self._gate.wait()
        if self._failing:
            self._failing -= 1
            raise asyncpg.ConnectionDoesNotExistError("connection was closed")
        self.sent.append(args[1])


async def _turns(count: int = 5) -> None:
    for _ in range(count):
        await asyncio.sleep(0)


async def test_changes_committed_while_a_wake_up_is_on_its_way_share_the_next() -> None:
    database = Database(held=True)
    notices = EventNotices(database, pause_seconds=0)
    notices.written(1)
    await _turns()
    notices.written(3)
    notices.written(2)  # an older change that committed later: the newest id stays 3
    database.release()
    await notices.close()
    assert database.sent == ["1", "3"]
    assert notices.sent == 2
    assert database.from_background == [EventNotices.work_name] * 2


async def test_a_change_alone_is_announced_at_once() -> None:
    database = Database()
    notices = EventNotices(database, pause_seconds=0)
    notices.written(7)
    await _turns()
    assert database.sent == ["7"]
    notices.written(8)
    await _turns()
    assert database.sent == ["7", "8"]
    await notices.close()


async def test_a_failed_wake_up_is_logged_and_the_next_change_wakes_them_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    database = Database(failing=1)
    notices = EventNotices(database, pause_seconds=0)
    with caplog.at_level(logging.WARNING):
        notices.written(4)
        await _turns()
    assert database.sent == []
    assert notices.sent == 0
    assert "could not wake the event listeners" in caplog.text
    notices.written(5)
    await _turns()
    assert database.sent == ["5"]
    assert notices.sent == 1
    await notices.close()


async def test_closing_sends_what_waits_and_then_nothing_more() -> None:
    database = Database(held=True)
    notices = EventNotices(database, pause_seconds=0)
    notices.written(1)
    await _turns()
    notices.written(2)
    closing = asyncio.create_task(notices.close())
    await _turns()
    database.release()
    await closing
    assert database.sent == ["1", "2"]
    notices.written(3)
    await _turns()
    assert database.sent == ["1", "2"]


async def test_announce_says_whether_it_was_sent() -> None:
    assert await announce(Database(), 9) is True
    assert await announce(Database(failing=1), 9) is False


async def test_under_load_wake_ups_are_a_pause_apart() -> None:
    database = Database()
    notices = EventNotices(database, pause_seconds=0.2)
    notices.written(1)
    await _turns()
    notices.written(2)
    notices.written(3)
    await _turns()
    assert database.sent == ["1"]  # the next waits for the pause
    await asyncio.sleep(0.5)  # its timer ends before this one
    assert database.sent == ["1", "3"]
    await notices.close()


async def test_each_wake_up_names_the_newest_id_of_the_changes_it_covers() -> None:
    database = Database()
    notices = EventNotices(database, pause_seconds=0)
    notices.written(5)
    await _turns()
    notices.written(3)  # committed after the first wake-up: it needs one of its own
    await _turns()
    assert database.sent == ["5", "3"]
    await notices.close()
