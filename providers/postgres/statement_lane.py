"""Single statements on connections kept between statements.

asyncpg's `Pool.acquire` and `release` cost a small statement about as much CPU as the
statement itself (a timeout around the acquire, a proxy and a future per acquire, a timer and
a task shielding each release). Work that is one statement with no transaction around it and
no session state takes a lane instead: connections borrowed from the pool and kept while
statements come. The fast path's compiled reads take one (`fetchval`); the batched creates of
`write_batches` another (`fetchrow` for a write alone, `fetchmany` for a batch: one pipeline,
one implicit transaction).

- A statement takes a kept connection when one is free; else it borrows one more from the
  pool, up to `size`, when the pool has one to give at once (idle, or room to open one), or
  when the lane holds none (then with the pool's own acquire timeout: an exhausted pool
  still answers fast).
- Otherwise, while some of the lane's connections are busy, a lane that `waits` has it wait
  for the next one a statement is done with (first come, first served): a read takes a
  fraction of a millisecond, while the pool's other connections may be held by writes
  waiting for their commits, so reads keep flowing beside a write load, on at most `size`
  connections. A lane that does not wait (the writes': a statement there lasts its commit)
  runs it on a connection of the pool, under the pool's own rules.
- With none of its connections in hand yet (all still being borrowed), a statement past
  `size` takes a connection of the pool for itself, under the pool's own rules.
- A connection whose statement failed or was canceled goes back to the pool at once: the
  pool waits out a cancellation, rolls back what was open and closes what broke, and the
  next statement borrows afresh. So does a kept connection found closed (the database
  restarted): no statement is run on it.
- Kept connections go back to the pool once no statement finished for `idle_seconds`, so
  that other work gets them back after a burst.
- `close()` gives everything back; the pool closes after it.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg

from domain.background import start_background
from providers.postgres.fair_pool import FairPool


class StatementLane:
    def __init__(
        self,
        pool: FairPool,
        *,
        size: int,
        waits: bool = True,
        idle_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pool = pool
        self._size = size
        self._waits = waits
        self._idle_seconds = idle_seconds
        self._clock = clock
        self._free: list[Any] = []
        self.borrowed = 0
        """Connections the lane holds now, free or busy."""
        self._last_done = 0.0
        self._trimming: asyncio.TimerHandle | None = None
        self._returns: set[asyncio.Task[None]] = set()
        self._waiters: deque[asyncio.Future[Any]] = deque()
        self._borrowing = 0
        """Connections being acquired from the pool for the lane (counted in `borrowed`)."""
        self._closed = False

    @property
    def free(self) -> int:
        return len(self._free)

    @property
    def waiting(self) -> int:
        """Statements waiting for one of the lane's connections."""
        return sum(not waiter.done() for waiter in self._waiters)

    def prune(self) -> int:
        """Give back the kept connections found closed (the pool opens others); how many."""
        lost = [connection for connection in self._free if _lost(connection)]
        for connection in lost:
            self._free.remove(connection)
            self._give_back(connection)
        return len(lost)

    async def fetchval(self, sql: str, *arguments: Any) -> Any:
        return await self._run(lambda connection: connection.fetchval(sql, *arguments))

    async def fetchrow(self, sql: str, *arguments: Any) -> Any:
        return await self._run(lambda connection: connection.fetchrow(sql, *arguments))

    async def fetchmany(self, sql: str, arguments: Sequence[Sequence[Any]]) -> list[Any]:
        """`sql` for each set of `arguments`: one pipeline, in one transaction."""
        rows: list[Any] = await self._run(lambda connection: connection.fetchmany(sql, arguments))
        return rows

    async def _run(self, statement: Callable[[Any], Awaitable[Any]]) -> Any:
        if self._free and _lost(self._free[-1]):
            self.prune()
        connection = self._free.pop() if self._free else await self._take()
        if connection is None:
            async with self._pool.acquire() as own:
                return await statement(own)
        try:
            value = await statement(connection)
        except BaseException:
            self._give_back(connection)
            raise
        self._last_done = self._clock()
        self._done_with(connection)
        return value

    async def _take(self) -> Any:
        """A connection of the lane for a statement, once none is free; None for one the
        pool serves itself (the lane closed, full of connections still being borrowed, or
        full and not waiting)."""
        while not self._closed:
            if self._free:
                return self._free.pop()
            busy = self.borrowed - self._borrowing
            if self.borrowed < self._size and (busy == 0 or self._pool.has_one_at_once()):
                return await self._borrow()
            if busy == 0 or not self._waits:
                return None
            waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                connection = await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled() and waiter.result() is not None:
                    self._done_with(waiter.result())  # handed over as it was canceled
                elif waiter in self._waiters:
                    self._waiters.remove(waiter)
                raise
            if connection is not None:
                return connection
            # None: a connection left the lane; look again (borrow one in its place).
        return None

    def _done_with(self, connection: Any) -> None:
        """A connection whose statement went well: to the first statement waiting, else kept
        free."""
        if self._closed:
            self._give_back(connection)
            return
        if not self._hand(connection):
            self._free.append(connection)

    def _wake_one(self) -> None:
        """A statement waiting looks again: a connection left the lane, it may borrow
        another."""
        self._hand(None)

    def _hand(self, connection: Any) -> bool:
        """`connection` (None: look again) to the first statement still waiting; whether one
        was."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return True
        return False

    async def _borrow(self) -> Any:
        self.borrowed += 1
        self._borrowing += 1
        try:
            connection = await self._pool.acquire()
        except BaseException:
            self.borrowed -= 1
            raise
        finally:
            self._borrowing -= 1
        if self._trimming is None:
            self._trimming = asyncio.get_running_loop().call_later(self._idle_seconds, self._trim)
        return connection

    def _give_back(self, connection: Any) -> None:
        self.borrowed -= 1
        task = start_background(self._pool.release(connection), "lane-return")
        self._returns.add(task)
        task.add_done_callback(self._returns.discard)
        self._wake_one()

    def _trim(self) -> None:
        self._trimming = None
        if self._clock() - self._last_done >= self._idle_seconds:
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
        while self._waiters:
            self._wake_one()
        if self._returns:
            await asyncio.gather(*self._returns, return_exceptions=True)


def _lost(connection: Any) -> bool:
    try:
        return bool(connection.is_closed())
    except asyncpg.InterfaceError:  # the pool took back the connection it found closed
        return True
