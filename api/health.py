"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio

import asyncpg
from starlette.requests import Request
from starlette.responses import JSONResponse


async def healthz(_: Request) -> JSONResponse:
    """The process answers."""
    return JSONResponse({"status": "ok"})


async def readyz(pool: asyncpg.Pool, deadline_seconds: float) -> JSONResponse:
    """The database answers within the deadline."""
    try:
        async with asyncio.timeout(deadline_seconds):
            await pool.fetchval("SELECT 1")
    except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "up"})
