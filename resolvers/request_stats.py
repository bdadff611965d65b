"""What one request did, for its metrics, its span and its log line: filled in as it runs
(statements by the pool's query logger, the operation by the GraphQL endpoint, refusals by
the use cases) and read once it is answered (`api/observability`). Nothing here records
a value a client sent, only names, codes and counts."""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from domain.background import background_work


@dataclass(slots=True)
class RequestStats:
    statements: int = 0
    operation_name: str | None = None
    """The chosen operation's name as written in the document (None: anonymous)."""
    operation_type: str | None = None
    read_path: str | None = None
    """`fast` or `executor`: which path answered a GraphQL operation."""
    failure: str | None = None
    """`request_error` or `internal` when the request got no GraphQL result at all."""
    code: str = ""
    """The error code of that failure."""
    error_codes: list[str] = field(default_factory=list)
    """The codes of the GraphQL errors answered (`extensions.code`)."""
    refusals: list[str] = field(default_factory=list)
    """The codes of the user errors the use cases answered with."""
    rate_limited: str | None = None
    """Which limit refused the request: `points` or `concurrency`."""


current_stats: ContextVar[RequestStats | None] = ContextVar("paved_request_stats", default=None)


def count_statement(_: Any) -> None:
    """A query logger (asyncpg's): one statement more for the request it ran for. asyncpg
    calls it soon after the statement, in a copy of the request's context; background work
    a request started counts toward no request."""
    stats = current_stats.get()
    if stats is not None and background_work() is None:
        stats.statements += 1


def note_refusals(codes: Iterable[str]) -> None:
    stats = current_stats.get()
    if stats is not None:
        stats.refusals.extend(codes)
