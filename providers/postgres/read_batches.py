"""Compiled reads of one statement text that wait while one runs, run together next
(`statement_batches`: when reads wait, how a failed batch or a database that is down is
answered).

Under load, most of a small read's cost is the statement itself rather than what it reads.
Every read that waited is answered by ONE statement: the compiled text once per distinct set
of arguments, its placeholders renumbered, gathered in an array
(`SELECT ARRAY[(<read 1>), (<read 2>), ...]`). Each read is answered by a statement that
began after the read arrived, so a read sees every change committed before it (as its own
statement would).
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence
from functools import lru_cache
from typing import Any, Protocol

from providers.postgres.statement_batches import StatementBatches

_PLACEHOLDER = re.compile(r"\$(\d+)")
_BATCH_TEXT = 64_000
"""The longest batch statement: a large read gains little from company, and PostgreSQL
plans a batch as a whole."""
_QUOTED = re.compile(r"'(?:[^']|'')*'")


class _Reads(Protocol):
    async def fetchval(self, sql: str, /, *arguments: Any) -> Any: ...


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


class ReadBatches(StatementBatches):
    """`reads`: where statements run (the read lane). `most`: the most reads in one batch."""

    work_name = "read-batch"

    def __init__(self, reads: _Reads, *, most: int = 16) -> None:
        super().__init__(most=most)
        self._reads = reads

    async def fetchval(self, sql: str, /, *arguments: Any) -> Any:
        return await self._submit(sql, arguments)

    def _most_of(self, sql: str) -> int:
        if not batchable(sql):
            return 1
        return min(self._most, _BATCH_TEXT // (len(sql) + 4))

    async def _alone(self, sql: str, arguments: tuple[Any, ...]) -> Any:
        return await self._reads.fetchval(sql, *arguments)

    async def _together(self, sql: str, arguments: Sequence[tuple[Any, ...]]) -> list[Any]:
        distinct: dict[Hashable, tuple[Any, ...]] = {}
        for each in arguments:
            distinct.setdefault(_key(each), each)
        if len(distinct) == 1:
            value = await self._reads.fetchval(sql, *arguments[0])
            return [value] * len(arguments)
        flat = [argument for each in distinct.values() for argument in each]
        values = await self._reads.fetchval(batched(sql, len(distinct)), *flat)
        answers = dict(zip(distinct, values, strict=True))
        return [answers[_key(each)] for each in arguments]
