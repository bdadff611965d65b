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


async def readyz(
    pool: asyncpg.Pool, deadline_seconds: float, draining: Callable[[], bool]
) -> JSONResponse:
    """The database answers within the deadline, and the server is not shutting down: an
    answer given once shutdown began says 503, so that a load balancer drains this replica."""
    if draining():
        return JSONResponse(SHUTTING_DOWN, status_code=503)
    try:
        async with asyncio.timeout(deadline_seconds):
            await pool.fetchval("SELECT 1")
    except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)
    if draining():
        return JSONResponse(SHUTTING_DOWN, status_code=503)
    return JSONResponse({"status": "ok", "database": "up"})
