"""Statements of one text that come while one of that text runs wait, and run together next.

Under load, much of a small statement's cost is the statement itself rather than its work: a
round trip, PostgreSQL's start and end of a statement (and, for a write, of a transaction and
its commit), asyncpg's messages. A statement that comes while one of the same text is running
waits; when that one is done, every statement that waited runs together (how is the
subclass's: one statement for reads, `read_batches`; one pipeline in one transaction for
writes, `write_batches`). A statement alone runs at once: nothing waits for company. A full
batch goes at once.

Each statement of a batch began after its caller arrived, so it sees every change committed
before. A batch that fails runs again statement by statement, each getting its own answer or
error, unless the database is down (no connection in time, a connection lost): then every
caller waiting fails with it at once, as it would have alone. A caller canceled while waiting
is left out. Batches run as background work: their statements count toward no request.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from domain.background import start_background
from providers.postgres.availability import outage


class Settled(Exception):
    """Raised by `_together` when its statements ran but their answers cannot be handed out:
    every caller of the batch fails with it, and none runs again (a write would be written
    twice)."""


@dataclass(slots=True)
class Waiting:
    arguments: tuple[Any, ...]
    answer: asyncio.Future[Any] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class StatementBatches(ABC):
    """`most`: the most statements in one batch (1: none waits, each runs alone)."""

    work_name = "statement-batch"
    """The name batches run under as background work."""

    def __init__(self, *, most: int = 16) -> None:
        self._most = most
        self._waiting: dict[str, list[Waiting]] = {}
        """Per statement text running now, the callers waiting for the next."""
        self._batches: set[asyncio.Task[None]] = set()
        self.batches = 0
        """Batches that answered more than one caller."""

    @abstractmethod
    async def _alone(self, sql: str, arguments: tuple[Any, ...]) -> Any:
        """`sql` run once with `arguments`: its answer."""

    @abstractmethod
    async def _together(self, sql: str, arguments: Sequence[tuple[Any, ...]]) -> list[Any]:
        """`sql` run for each set of `arguments` (at least two): their answers, in order."""

    def _most_of(self, sql: str) -> int:
        return self._most

    async def _submit(self, sql: str, arguments: tuple[Any, ...]) -> Any:
        waiting = self._waiting.get(sql)
        if waiting is not None:
            caller = Waiting(arguments)
            waiting.append(caller)
            if len(waiting) >= self._most_of(sql):  # a full batch goes now
                self._waiting[sql] = []
                self._start(sql, waiting)
            return await caller.answer
        if self._most_of(sql) < 2:
            return await self._alone(sql, arguments)
        self._waiting[sql] = []
        try:
            answer = await self._alone(sql, arguments)
        except Exception as error:
            self._next(sql, error if outage(error) is not None else None)
            raise
        except BaseException:
            self._next(sql)
            raise
        self._next(sql)
        return answer

    def _next(self, sql: str, down: Exception | None = None) -> None:
        """A statement of `sql` ended: the callers that waited meanwhile run now; when it met
        a database that is down (`down`), they fail with it at once rather than wait for
        the database in their turn."""
        waiting = [caller for caller in self._waiting.get(sql, ()) if not caller.answer.done()]
        if down is not None:
            self._waiting.pop(sql, None)
            for caller in waiting:
                caller.answer.set_exception(down)
            return
        if not waiting:
            self._waiting.pop(sql, None)
            return
        self._waiting[sql] = []
        self._start(sql, waiting)

    def _start(self, sql: str, callers: list[Waiting]) -> None:
        batch = start_background(self._answer(sql, callers), self.work_name)
        self._batches.add(batch)
        batch.add_done_callback(self._batches.discard)

    async def _answer(self, sql: str, callers: list[Waiting]) -> None:
        down: Exception | None = None
        try:
            await self._run(sql, callers)
        except Settled as error:
            _fail(callers, error)
        except Exception as error:
            if outage(error) is None:
                await self._one_by_one(sql, callers)
            else:
                down = error
                _fail(callers, error)
        finally:
            for caller in callers:
                if not caller.answer.done():
                    caller.answer.cancel()
            self._next(sql, down)

    async def _run(self, sql: str, callers: list[Waiting]) -> None:
        live = [caller for caller in callers if not caller.answer.done()]
        if not live:
            return
        if len(live) == 1:
            try:
                answers = [await self._alone(sql, live[0].arguments)]
            except Exception as error:
                if outage(error) is not None:
                    raise
                _fail(live, error)  # it ran alone already: running it again would repeat it
                return
        else:
            answers = await self._together(sql, [caller.arguments for caller in live])
            self.batches += 1
        for caller, answer in zip(live, answers, strict=True):
            if not caller.answer.done():
                caller.answer.set_result(answer)

    async def _one_by_one(self, sql: str, callers: list[Waiting]) -> None:
        await asyncio.gather(*(self._each(sql, caller) for caller in callers))

    async def _each(self, sql: str, caller: Waiting) -> None:
        if caller.answer.done():
            return
        try:
            answer = await self._alone(sql, caller.arguments)
        except Exception as error:
            if not caller.answer.done():
                caller.answer.set_exception(error)
        else:
            if not caller.answer.done():
                caller.answer.set_result(answer)

    async def close(self) -> None:
        """Until the batches running now have answered."""
        if self._batches:
            await asyncio.gather(*self._batches, return_exceptions=True)


def _fail(callers: list[Waiting], error: Exception) -> None:
    for caller in callers:
        if not caller.answer.done():
            caller.answer.set_exception(error)
