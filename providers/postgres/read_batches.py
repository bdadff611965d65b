"""Compiled reads of one statement text that wait while one runs, run together next.

Under load, most of a small read's cost is the statement itself rather than what it reads:
a round trip, PostgreSQL's start and end of a statement, asyncpg's messages. When a read
comes while a read of the same compiled text is running, it waits; when that one is done,
every read that waited is answered by ONE statement: the compiled text once per distinct
set of arguments, its placeholders renumbered, gathered in an array
(`SELECT ARRAY[(<read 1>), (<read 2>), ...]`). A read alone runs its own statement at once,
as without batches: nothing waits for company.

Each read is answered by a statement that began after the read arrived, so a read sees every
change committed before it (as its own statement would). A batch that fails is run again
read by read, each getting its own answer or error, unless the database is down (no
connection in time, a connection lost): then every read waiting fails with it at once, as
it would have alone. A read canceled while waiting is left out. Batches run as background
work: their statements count toward no request.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Hashable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

from domain.background import start_background
from providers.postgres.availability import outage

_PLACEHOLDER = re.compile(r"\$(\d+)")
_BATCH_TEXT = 64_000
"""The longest batch statement: a large read gains little from company, and PostgreSQL
plans a batch as a whole."""
_QUOTED = re.compile(r"'(?:[^']|'')*'")


class _Reads(Protocol):
    async def fetchval(self, sql: str, /, *arguments: Any) -> Any: ...


@dataclass(slots=True)
class _Waiting:
    arguments: tuple[Any, ...]
    answer: asyncio.Future[Any] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


@lru_cache(maxsize=1024)
def batchable(sql: str) -> bool:
    """Whether copies of `sql` can be renumbered safely: one `SELECT` whose placeholders are
    all outside quoted text, and no dollar-quoted text."""
    outside = _QUOTED.sub("''", sql)
    return (
        sql.startswith("SELECT ")
        and "$$" not in sql
        and len(_PLACEHOLDER.findall(outside)) == len(_PLACEHOLDER.findall(sql))
    )


@lru_cache(maxsize=1024)
def _placeholders(sql: str) -> int:
    return max((int(number) for number in _PLACEHOLDER.findall(sql)), default=0)


@lru_cache(maxsize=1024)
def batched(sql: str, count: int) -> str:
    """`count` copies of `sql`, the n-th one's placeholders after those of the ones before,
    answered as one array."""
    width = _placeholders(sql)
    copies = [_renumbered(sql, index * width) for index in range(count)]
    return "SELECT ARRAY[" + ", ".join(f"({copy})" for copy in copies) + "]::text[]"


def _renumbered(sql: str, after: int) -> str:
    def moved(match: re.Match[str]) -> str:
        return f"${int(match[1]) + after}"

    return _PLACEHOLDER.sub(moved, sql)


def _key(arguments: tuple[Any, ...]) -> Hashable:
    try:
        hash(arguments)
    except TypeError:
        return repr(arguments)
    return arguments


class ReadBatches:
    """`reads`: where statements run (the read lane). `most`: the most reads in one batch."""

    def __init__(self, reads: _Reads, *, most: int = 16) -> None:
        self._reads = reads
        self._most = most
        self._waiting: dict[str, list[_Waiting]] = {}
        """Per statement text running now, the reads waiting for the next."""
        self._batches: set[asyncio.Task[None]] = set()
        self.batches = 0
        """Statements that answered more than one read."""

    async def fetchval(self, sql: str, /, *arguments: Any) -> Any:
        waiting = self._waiting.get(sql)
        if waiting is not None:
            read = _Waiting(arguments)
            waiting.append(read)
            if len(waiting) >= self._most_of(sql):  # a full batch goes now
                self._waiting[sql] = []
                self._start(sql, waiting)
            return await read.answer
        if self._most_of(sql) < 2:
            return await self._reads.fetchval(sql, *arguments)
        self._waiting[sql] = []
        try:
            value = await self._reads.fetchval(sql, *arguments)
        except Exception as error:
            self._next(sql, error if outage(error) is not None else None)
            raise
        except BaseException:
            self._next(sql)
            raise
        self._next(sql)
        return value

    def _most_of(self, sql: str) -> int:
        if not batchable(sql):
            return 1
        return min(self._most, _BATCH_TEXT // (len(sql) + 4))

    def _next(self, sql: str, down: Exception | None = None) -> None:
        """A statement of `sql` ended: the reads that waited meanwhile run now; when it met
        a database that is down (`down`), they fail with it at once rather than wait for
        the database in their turn."""
        waiting = [read for read in self._waiting.get(sql, ()) if not read.answer.done()]
        if down is not None:
            self._waiting.pop(sql, None)
            for read in waiting:
                read.answer.set_exception(down)
            return
        if not waiting:
            self._waiting.pop(sql, None)
            return
        self._waiting[sql] = []
        self._start(sql, waiting)

    def _start(self, sql: str, reads: list[_Waiting]) -> None:
        batch = start_background(self._answer(sql, reads), "read-batch")
        self._batches.add(batch)
        batch.add_done_callback(self._batches.discard)

    async def _answer(self, sql: str, reads: list[_Waiting]) -> None:
        down: Exception | None = None
        try:
            await self._run(sql, reads)
        except Exception as error:
            if outage(error) is None:
                await self._one_by_one(sql, reads)
            else:
                down = error
                for read in reads:
                    if not read.answer.done():
                        read.answer.set_exception(error)
        finally:
            for read in reads:
                if not read.answer.done():
                    read.answer.cancel()
            self._next(sql, down)

    async def _run(self, sql: str, reads: list[_Waiting]) -> None:
        distinct: dict[Hashable, tuple[Any, ...]] = {}
        for read in reads:
            distinct.setdefault(_key(read.arguments), read.arguments)
        if len(distinct) == 1:
            values = [await self._reads.fetchval(sql, *reads[0].arguments)]
        else:
            flat = [argument for arguments in distinct.values() for argument in arguments]
            values = await self._reads.fetchval(batched(sql, len(distinct)), *flat)
        if len(reads) > 1:
            self.batches += 1
        answers = dict(zip(distinct, values, strict=True))
        for read in reads:
            if not read.answer.done():
                read.answer.set_result(answers[_key(read.arguments)])

    async def _one_by_one(self, sql: str, reads: list[_Waiting]) -> None:
        await asyncio.gather(*(self._alone(sql, read) for read in reads if not read.answer.done()))

    async def _alone(self, sql: str, read: _Waiting) -> None:
        try:
            value = await self._reads.fetchval(sql, *read.arguments)
        except Exception as error:
            if not read.answer.done():
                read.answer.set_exception(error)
        else:
            if not read.answer.done():
                read.answer.set_result(value)

    async def close(self) -> None:
        """Until the batches running now have answered."""
        if self._batches:
            await asyncio.gather(*self._batches, return_exceptions=True)
