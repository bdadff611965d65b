"""Single-statement reads on connections kept between reads.

asyncpg's `Pool.acquire` and `release` cost a small read about as much CPU as the read itself
(a timeout around the acquire, a proxy and a future per acquire, a timer and a task shielding
each release). The compiled reads of the fast path (one statement, no transaction, no session
state) take a lane instead: connections borrowed from the pool and kept while reads come.

- A read takes a kept connection when one is free; else it borrows one more from the pool,
  up to `size`, with the pool's own acquire timeout (an exhausted pool still answers fast);
  past `size`, it takes and gives back a connection of the pool as before.
- A connection whose read failed or was canceled goes back to the pool at once: the pool
  waits out a cancellation and closes what broke, and the next read borrows afresh. So does
  a kept connection found closed (the database restarted): no read is answered with it.
- Kept connections go back to the pool once no read finished for `idle_seconds`, so that
  other work gets them back after a burst of reads.
- `close()` gives everything back; the pool closes after it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import asyncpg

from domain.background import start_background


class ReadLane:
    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        size: int,
        idle_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pool = pool
        self._size = size
        self._idle_seconds = idle_seconds
        self._clock = clock
        self._free: list[Any] = []
        self.borrowed = 0
        """Connections the lane holds now, free or reading."""
        self._last_read = 0.0
        self._trimming: asyncio.TimerHandle | None = None
        self._returns: set[asyncio.Task[None]] = set()
        self._closed = False

    @property
    def free(self) -> int:
        return len(self._free)

    def prune(self) -> int:
        """Give back the kept connections found closed (the pool opens others); how many."""
        lost = [connection for connection in self._free if _lost(connection)]
        for connection in lost:
            self._free.remove(connection)
            self._give_back(connection)
        return len(lost)

    async def fetchval(self, sql: str, *arguments: Any) -> Any:
        if self._free and _lost(self._free[-1]):
            self.prune()
        if self._free:
            connection = self._free.pop()
        elif self.borrowed < self._size and not self._closed:
            connection = await self._borrow()
        else:
            return await self._pool.fetchval(sql, *arguments)
        try:
            value = await connection.fetchval(sql, *arguments)
        except BaseException:
            self._give_back(connection)
            raise
        if self._closed:
            self._give_back(connection)
        else:
            self._free.append(connection)
            self._last_read = self._clock()
        return value

    async def _borrow(self) -> Any:
        self.borrowed += 1
        try:
            connection = await self._pool.acquire()
        except BaseException:
            self.borrowed -= 1
            raise
        if self._trimming is None:
            self._trimming = asyncio.get_running_loop().call_later(self._idle_seconds, self._trim)
        return connection

    def _give_back(self, connection: Any) -> None:
        self.borrowed -= 1
        task = start_background(self._pool.release(connection), "read-lane-return")
        self._returns.add(task)
        task.add_done_callback(self._returns.discard)

    def _trim(self) -> None:
        self._trimming = None
        if self._clock() - self._last_read >= self._idle_seconds:
            while self._free:
                self._give_back(self._free.pop())
        if self.borrowed and not self._closed:
            self._trimming = asyncio.get_running_loop().call_later(self._idle_seconds, self._trim)

    async def close(self) -> None:
        self._closed = True
        if self._trimming is not None:
            self._trimming.cancel()
            self._trimming = None
        while self._free:
            self._give_back(self._free.pop())
        if self._returns:
            await asyncio.gather(*self._returns, return_exceptions=True)


def _lost(connection: Any) -> bool:
    try:
        return bool(connection.is_closed())
    except asyncpg.InterfaceError:  # the pool took back the connection it found closed
        return True
