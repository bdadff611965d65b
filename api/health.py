"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg
from starlette.requests import Request
from starlette.responses import JSONResponse


async def healthz(_: Request) -> JSONResponse:
    """The process answers."""
    return JSONResponse({"status": "ok"})


SHUTTING_DOWN = {"status": "shutting down"}
_DOWN = (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError)

_abandoned: set[asyncio.Task[object]] = set()
"""Checks past their deadline, left to end by themselves (kept here until they do)."""


def _forget(task: asyncio.Task[object]) -> None:
    _abandoned.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved: a check that failed late says nothing more


async def database_answers(pool: asyncpg.Pool, deadline_seconds: float) -> bool:
    """Whether `SELECT 1` is answered within the deadline. The check runs apart and is left
    behind at the deadline: cancelled, asyncpg cleans its connection up by asking the server
    to cancel the statement and waiting for it, which a server that hangs never answers."""
    check = asyncio.ensure_future(pool.fetchval("SELECT 1"))
    done, _ = await asyncio.wait((check,), timeout=deadline_seconds)
    if not done:
        check.cancel()
        _abandoned.add(check)
        check.add_done_callback(_forget)
        return False
    try:
        check.result()
    except _DOWN:
        return False
    return True


async def readyz(
    pool: asyncpg.Pool, deadline_seconds: float, draining: Callable[[], bool]
) -> JSONResponse:
    """The database answers within the deadline, and the server is not shutting down: an
    answer given once shutdown began says 503, so that a load balancer drains this replica."""
    if draining():
        return JSONResponse(SHUTTING_DOWN, status_code=503)
    if not await database_answers(pool, deadline_seconds):
        return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)
    if draining():
        return JSONResponse(SHUTTING_DOWN, status_code=503)
    return JSONResponse({"status": "ok", "database": "up"})
