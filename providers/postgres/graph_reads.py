"""The fast read path's adapter: a plan compiled once into SQL that returns the JSON."""

from __future__ import annotations

from typing import Any, Protocol

from domain.errors import CatalogError
from domain.read_plan import ReadPlan
from providers.postgres.graph_sql import compile_plan
from providers.postgres.graph_values import NotCompilable


class _Reads(Protocol):
    async def fetchval(self, sql: str, /, *arguments: Any) -> Any: ...


class _CompiledRead:
    __slots__ = ("_arguments", "_pool", "_sql", "volatile")

    def __init__(self, pool: _Reads, sql: str, arguments: tuple[Any, ...], volatile: bool) -> None:
        self._pool = pool
        self._sql = sql
        self._arguments = arguments
        self.volatile = volatile

    async def __call__(self) -> str | None:
        value: str | None = await self._pool.fetchval(self._sql, *self._arguments)
        return value


class PostgresGraphReader:
    """`pool`: where the compiled statements run (the request pool, or a `StatementLane` on it)."""

    def __init__(self, pool: _Reads) -> None:
        self._pool = pool

    def prepare(self, plan: ReadPlan) -> _CompiledRead | None:
        try:
            statement = compile_plan(plan)
        except (NotCompilable, CatalogError):
            return None
        return _CompiledRead(self._pool, statement.sql, statement.arguments, plan.volatile)
