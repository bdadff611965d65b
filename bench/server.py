"""Servers under test as subprocesses on free loopback ports: start, wait until ready, stop.
`PavedServer` runs `paved serve`; the PostGraphile peer is in `bench.peer`."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

log = logging.getLogger("bench")

HOST = "127.0.0.1"


class ServerError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
    return port


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


class ServerProcess:
    """A server subprocess in its own session (a Ctrl-C on the benchmark must not reach it
    before the benchmark stops it), its output in `log_path`."""

    name = "server"

    def __init__(
        self,
        command: Sequence[str],
        port: int,
        log_path: Path,
        cwd: Path,
        env: Mapping[str, str],
    ) -> None:
        self.port = port
        self.base_url = f"http://{HOST}:{port}"
        self.log_path = log_path
        log.info("starting %s: %s (log: %s)", self.name, " ".join(command), log_path)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_file: IO[bytes] = log_path.open("wb")
        self.process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def graphql_url(self) -> str:
        return f"{self.base_url}/graphql"

    def probe(self) -> str | None:
        """None when the server is ready, else what it answered."""
        raise NotImplementedError

    def require_running(self) -> None:
        """Raise if the process has exited (or was stopped by someone else) since it started."""
        if self.process.poll() is not None:
            raise ServerError(
                f"{self.name} (pid {self.pid}) exited with code {self.process.returncode} "
                f"during the run; last lines of {self.log_path}:\n{tail(self.log_path)}"
            )

    def wait_ready(self, timeout: float) -> float:
        """Probe until ready; returns the seconds it took."""
        started = time.monotonic()
        deadline = started + timeout
        last: str | None = "no answer"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(
                    f"{self.name} exited with code {self.process.returncode} before it was "
                    f"ready; last lines of {self.log_path}:\n{tail(self.log_path)}"
                )
            last = self.probe()
            if last is None:
                return time.monotonic() - started
            time.sleep(0.25)
        raise ServerError(
            f"{self.name} not ready after {timeout:.0f} s (last: {last}); "
            f"last lines of {self.log_path}:\n{tail(self.log_path)}"
        )

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM, then SIGKILL if it has not exited within `timeout`; returns its exit code."""
        try:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(timeout)
                except subprocess.TimeoutExpired:
                    log.warning("%s ignored SIGTERM for %.0f s; killing it", self.name, timeout)
                    self.process.kill()
                    self.process.wait(5)
        finally:
            self._log_file.close()
        code = self.process.returncode
        how = "by SIGTERM" if code == -signal.SIGTERM else f"with exit code {code}"
        log.info("%s stopped %s", self.name, how)
        return code


def _get_status(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return None if response.status == 200 else f"HTTP {response.status}"
    except urllib.error.HTTPError as error:
        return f"HTTP {error.code}"
    except OSError as error:
        return str(error)


def find_paved(repo: Path) -> Path:
    """The `paved` console script: the project's .venv first, then next to this Python."""
    for candidate in (repo / ".venv" / "bin" / "paved", Path(sys.executable).parent / "paved"):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise ServerError(
        "cannot find the `paved` command; install the project first "
        "(`make bench` does, or `.venv/bin/pip install -e .`)"
    )


UNLIMITED_POINTS = 1_000_000_000
CONCURRENT_PER_ACTOR = 64
"""At least any bench's connections."""


class PavedServer(ServerProcess):
    """`paved serve --no-demo` (one uvicorn worker) with `DATABASE_URL`; ready when
    `GET /readyz` answers 200."""

    name = "paved serve"

    def __init__(
        self,
        paved: Path,
        dsn: str,
        log_path: Path,
        cwd: Path,
        settings: Mapping[str, str] | None = None,
    ) -> None:
        """`settings`: more environment variables (`PAVED_*`) for this server only."""
        port = free_port()
        command = [str(paved), "serve", "--no-demo", "--port", str(port)]
        # The rate limiter stays on (its cost is measured) but never refuses, and the actor
        # runs as many requests at once as the load generator has connections: a benchmark
        # client is one actor standing for many clients (16 CI pipelines are 16 actors, each
        # with its own allowance and PAVED_MAX_CONCURRENT_PER_ACTOR slots).
        environment = {
            **os.environ,
            "DATABASE_URL": dsn,
            "PAVED_RATE_LIMIT_POINTS": str(UNLIMITED_POINTS),
            "PAVED_RATE_LIMIT_REFILL_PER_SECOND": str(UNLIMITED_POINTS),
            "PAVED_MAX_CONCURRENT_PER_ACTOR": str(CONCURRENT_PER_ACTOR),
            **(settings or {}),
        }
        super().__init__(command, port, log_path, cwd, environment)

    def probe(self) -> str | None:
        return _get_status(f"{self.base_url}/readyz")
