"""What the floors share: a bare ASGI app on an asyncpg pool of at most 10 connections (as
Paved Road's), `GET /readyz` answering 200 once the pool is open, and every other request's
body handed to the floor's `answer`; served by one uvicorn worker, run by the bench as a
subprocess (`FloorProcess`)."""

from __future__ import annotations

import os
import sys
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from pathlib import Path
from typing import Any

import asyncpg

from bench.queries import post_graphql
from bench.server import ServerProcess, free_port

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

POOL_MAX = 10
UNKNOWN = 400, b'{"errors":[{"message":"unknown request"}]}'
_JSON = [(b"content-type", b"application/json")]


class FloorApp(ABC):
    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._pool: asyncpg.Pool | None = None

    @abstractmethod
    async def answer(self, pool: asyncpg.Pool, path: str, body: bytes) -> tuple[int, bytes]:
        """The status and JSON body answering `body`, sent to `path`."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["path"] == "/readyz":
            await _answer(send, 200 if self._pool else 503, b"{}")
        elif self._pool is None:
            await _answer(send, *UNKNOWN)
        else:
            await _answer(send, *await self.answer(self._pool, scope["path"], body))

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._pool = await asyncpg.create_pool(
                    self._dsn, min_size=2, max_size=POOL_MAX, reset=_no_session_reset
                )
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._pool is not None:
                    await self._pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _no_session_reset(_: asyncpg.Connection) -> None:
    """The floors leave no session state, so, like Paved Road's pool, they skip asyncpg's
    reset round trip on every release."""


async def _answer(send: Send, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": _JSON})
    await send({"type": "http.response.body", "body": body})


def serve(app: FloorApp, port: int) -> None:
    """One uvicorn worker on loopback, logging warnings only."""
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, workers=1)


class FloorProcess(ServerProcess):
    """`python -m <module> --port <free port> <options>`; ready when `/readyz` answers 200."""

    def __init__(
        self, module: str, options: Sequence[str], dsn: str, log_path: Path, cwd: Path
    ) -> None:
        port = free_port()
        command = [sys.executable, "-m", module, "--port", str(port), *options]
        environment = {**os.environ, "DATABASE_URL": dsn, "PYTHONPATH": str(cwd)}
        super().__init__(command, port, log_path, cwd, environment)

    def probe(self) -> str | None:
        try:
            status, payload = post_graphql(f"{self.base_url}/readyz", b"", timeout=2)
        except OSError as error:
            return str(error)
        return None if status == 200 else f"HTTP {status}: {payload[:200]!r}"
