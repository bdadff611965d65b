"""A subscription whose client leaves while it is beginning (its first read still running)
ends cleanly: the read is stopped, the results are closed and the place is given back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

import pytest

from api.subscriptions import Running
from resolvers.event_feed import StreamPosition


async def test_a_client_leaving_while_the_subscription_begins_ends_it_cleanly() -> None:
    reading = asyncio.Event()
    closed: list[bool] = []
    released: list[bool] = []

    async def results() -> AsyncGenerator[dict[str, Any], None]:
        try:
            reading.set()
            await asyncio.Event().wait()  # no event comes, and the feed never subscribes
            yield {}
        finally:
            closed.append(True)

    async def release() -> None:
        released.append(True)

    running = Running(results(), StreamPosition(), release)
    beginning = asyncio.ensure_future(running.begin())
    await reading.wait()
    beginning.cancel()
    with pytest.raises(asyncio.CancelledError):
        await beginning
    await running.end(None)  # as the transports do when `begin` fails
    assert closed == [True]
    assert released == [True]
