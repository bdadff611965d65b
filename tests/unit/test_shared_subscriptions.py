"""A broadcast: one subscription's results handed to every member, from the events committed
after each joined; slow members dropped alone; the last one to leave ends it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

from api.shared_subscriptions import Broadcast
from domain.events.cursors import event_cursor
from domain.events.model import Position
from resolvers.event_feed import StreamPosition


class Source:
    """The shared subscription's results, fed by the test."""

    def __init__(self) -> None:
        self.stream = StreamPosition()
        self.queue: asyncio.Queue[int] = asyncio.Queue()
        self.closed = False

    async def results(self) -> AsyncGenerator[dict[str, Any], None]:
        try:
            while True:
                event_id = await self.queue.get()
                self.stream.last_cursor = event_cursor(Position(0, event_id))
                yield {"data": {"events": {"id": event_id}}}
        finally:
            self.closed = True


async def _next(results: AsyncGenerator[dict[str, Any], None]) -> Any:
    sent = await asyncio.wait_for(anext(results), 5)
    return sent["data"]["events"]["id"] if sent["data"] else sent["errors"][0]


async def test_members_get_what_was_committed_after_they_joined() -> None:
    source, ended = Source(), list[Broadcast]()
    broadcast = Broadcast(source.results(), source.stream, ended.append)
    early = broadcast.join(after=Position(0, 0), capacity=10)
    late = broadcast.join(after=Position(0, 5), capacity=10)
    for event_id in (3, 6):
        source.queue.put_nowait(event_id)
    early_results, late_results = early.results(), late.results()
    assert [await _next(early_results), await _next(early_results)] == [3, 6]
    assert await _next(late_results) == 6
    assert late.stream.last_cursor == event_cursor(Position(0, 6))
    await early_results.aclose()
    await late_results.aclose()
    assert ended == [broadcast]
    assert source.closed


async def test_a_member_that_never_read_can_leave_and_the_last_one_ends_it() -> None:
    source, ended = Source(), list[Broadcast]()
    broadcast = Broadcast(source.results(), source.stream, ended.append)
    idle = broadcast.join(after=Position(0, 0), capacity=10)
    reader = broadcast.join(after=Position(0, 0), capacity=10)
    await broadcast.leave(idle)
    assert not ended
    results = reader.results()
    source.queue.put_nowait(1)
    assert await _next(results) == 1
    await results.aclose()
    assert ended == [broadcast]
    assert broadcast.finished


async def test_a_slow_member_is_dropped_alone() -> None:
    source, ended = Source(), list[Broadcast]()
    broadcast = Broadcast(source.results(), source.stream, ended.append)
    slow = broadcast.join(after=Position(0, 0), capacity=2)
    keen = broadcast.join(after=Position(0, 0), capacity=10)
    keen_results = keen.results()
    for event_id in (1, 2, 3):
        source.queue.put_nowait(event_id)
    assert [await _next(keen_results) for _ in range(3)] == [1, 2, 3]
    slow_results = slow.results()
    dropped = await _next(slow_results)
    assert dropped["extensions"]["code"] == "RATE_LIMITED"
    source.queue.put_nowait(4)
    assert await _next(keen_results) == 4
    await keen_results.aclose()
    await slow_results.aclose()
    assert ended == [broadcast]
