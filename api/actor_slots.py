"""Bounded concurrency per actor: one actor's requests cannot take every database connection.

Each actor (the rate limiter's key) runs at most `per_actor` requests at once; more wait in
line, at most `max_waiting` of them (16 per slot by default), each for at most the given
time, and are refused after that. Other actors never wait behind them. Held in this
process's memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass


class Busy(Exception):
    """The actor has too many requests running and waiting."""


@dataclass(slots=True)
class _Line:
    semaphore: asyncio.Semaphore
    running: int = 0
    waiting: int = 0
    users: int = 0


class ActorSlots:
    def __init__(self, per_actor: int, max_waiting: int | None = None) -> None:
        if per_actor < 1:
            raise ValueError("per_actor must be at least 1")
        self.per_actor = per_actor
        self.max_waiting = max_waiting if max_waiting is not None else 16 * per_actor
        self._lines: dict[str, _Line] = {}

    def running(self, actor: str) -> int:
        line = self._lines.get(actor)
        return line.running if line is not None else 0

    def waiting(self, actor: str) -> int:
        line = self._lines.get(actor)
        return line.waiting if line is not None else 0

    def actors(self) -> int:
        """How many actors have requests running or waiting."""
        return len(self._lines)

    @asynccontextmanager
    async def slot(self, actor: str, wait_seconds: float) -> AsyncIterator[None]:
        """Runs the body in one of the actor's slots; raises Busy when none frees in time."""
        line = self._lines.get(actor)
        if line is None:
            line = self._lines[actor] = _Line(asyncio.Semaphore(self.per_actor))
        if line.semaphore.locked() and line.waiting >= self.max_waiting:
            raise Busy
        line.users += 1
        try:
            line.waiting += 1
            try:
                async with asyncio.timeout(wait_seconds):
                    await line.semaphore.acquire()
            except TimeoutError:
                raise Busy from None
            finally:
                line.waiting -= 1
            line.running += 1
            try:
                yield
            finally:
                line.running -= 1
                line.semaphore.release()
        finally:
            line.users -= 1
            if line.users == 0:
                del self._lines[actor]
