"""asyncpg's pool, with connections handed out first come, first served, and a bounded wait.

asyncpg hands connections out through an `asyncio.Queue`, which does not queue its callers
fairly: a connection put back wakes the first caller waiting, but a caller that asks before
the woken one runs takes it, and the woken one goes back to the end of the line. Under
steady load (a flood of heavy queries, each taking and returning connections for its
loaders) a request that asked early can be overtaken again and again. Here each `acquire`
first takes a turn (a FIFO semaphore of the pool's size) and only then asks asyncpg's queue,
which by then always has a connection for it, or room to open one.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg


class FairPool(asyncpg.Pool):
    """`acquire_timeout`: seconds an `acquire` may wait, for its turn and its connection
    together, unless told otherwise (with the database away or every connection busy, a
    request fails fast with `TimeoutError`, answered UNAVAILABLE, instead of piling up)."""

    acquire_timeout: float | None = None
    _turns: asyncio.Semaphore | None = None
    _holding: set[int] | None = None
    """The connections (their proxies' ids) handed out with a turn and not released yet."""

    @property
    def waiting(self) -> int:
        """How many `acquire` calls wait for their turn."""
        turns = self._turns
        waiters = getattr(turns, "_waiters", None) or ()
        return sum(1 for waiter in waiters if not waiter.done())

    def has_one_at_once(self) -> bool:
        """Whether an `acquire` now would get a connection without waiting."""
        turns = self._turns
        if turns is not None and turns.locked():
            return False
        return self.get_idle_size() > 0 or self.get_size() < self.get_max_size()

    def acquire(self, *, timeout: float | None = None) -> Any:
        return _FairAcquire(self, self.acquire_timeout if timeout is None else timeout)

    async def release(
        self,
        connection: Any,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 (asyncpg's signature)
    ) -> None:
        # A connection released twice, or not this pool's, gives back no second turn. One
        # whose server went away while it was held (asyncpg already detached its proxy)
        # gives its turn back all the same: otherwise each such loss kept a turn for good.
        holds_turn = self._holding is not None and id(connection) in self._holding
        if self._holding is not None:
            self._holding.discard(id(connection))
        try:
            await super().release(connection, timeout=timeout)
        finally:
            if holds_turn:
                self._turn_over()

    async def _take(self, wait_seconds: float | None) -> Any:
        turns = self._turns
        if turns is None:
            turns = self._turns = asyncio.Semaphore(self.get_max_size())
        async with asyncio.timeout(wait_seconds):
            await turns.acquire()
            try:
                connection = await super().acquire()
            except BaseException:
                turns.release()
                raise
        if self._holding is None:
            self._holding = set()
        self._holding.add(id(connection))
        return connection

    def _turn_over(self) -> None:
        if self._turns is not None:
            self._turns.release()


class _FairAcquire:
    """What `acquire` returns: awaited, a connection; or `async with`, released after."""

    __slots__ = ("_connection", "_pool", "_timeout")

    def __init__(self, pool: FairPool, timeout: float | None) -> None:
        self._pool = pool
        self._timeout = timeout
        self._connection: Any = None

    def __await__(self) -> Any:
        return self._pool._take(self._timeout).__await__()

    async def __aenter__(self) -> Any:
        self._connection = await self._pool._take(self._timeout)
        return self._connection

    async def __aexit__(self, *_: object) -> None:
        connection, self._connection = self._connection, None
        await self._pool.release(connection)
