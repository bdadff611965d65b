"""Bounded concurrency per actor: one actor's requests cannot take every database connection.

Each actor (the rate limiter's key) runs at most `per_actor` requests at once; more wait in
line, at most `max_waiting` of them (16 per slot by default), each for at most the given
time, and are refused after that. Other actors never wait behind them. Held in this
process's memory.
"""

from __future__ import annotations

import asyncio
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

    def slot(self, actor: str, wait_seconds: float) -> _Slot:
        """Runs the body (`async with`) in one of the actor's slots; raises Busy when none
        frees in time."""
        return _Slot(self, actor, wait_seconds)

    def _line(self, actor: str) -> _Line:
        line = self._lines.get(actor)
        if line is None:
            line = self._lines[actor] = _Line(asyncio.Semaphore(self.per_actor))
        return line

    def _leave(self, actor: str, line: _Line) -> None:
        line.users -= 1
        if line.users == 0:
            del self._lines[actor]


class _Slot:
    """One request's turn in its actor's line (a class rather than a generator-based context
    manager: it runs for every request)."""

    __slots__ = ("_actor", "_line", "_slots", "_wait_seconds")

    def __init__(self, slots: ActorSlots, actor: str, wait_seconds: float) -> None:
        self._slots = slots
        self._actor = actor
        self._wait_seconds = wait_seconds
        self._line: _Line | None = None

    async def __aenter__(self) -> None:
        slots = self._slots
        line = slots._line(self._actor)
        if line.semaphore.locked() and line.waiting >= slots.max_waiting:
            raise Busy
        line.users += 1
        if line.semaphore.locked():
            line.waiting += 1
            try:
                async with asyncio.timeout(self._wait_seconds):
                    await line.semaphore.acquire()
            except TimeoutError:
                slots._leave(self._actor, line)
                raise Busy from None
            except BaseException:
                slots._leave(self._actor, line)
                raise
            finally:
                line.waiting -= 1
        else:
            await line.semaphore.acquire()  # free: returns at once
        line.running += 1
        self._line = line

    async def __aexit__(self, *_: object) -> None:
        line = self._line
        assert line is not None
        line.running -= 1
        line.semaphore.release()
        self._slots._leave(self._actor, line)
