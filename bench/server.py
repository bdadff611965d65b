"""Run `paved serve` as a subprocess on a free loopback port and wait until it is ready."""

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


def find_paved(repo: Path) -> Path:
    """The `paved` console script: the project's .venv first, then next to this Python."""
    for candidate in (repo / ".venv" / "bin" / "paved", Path(sys.executable).parent / "paved"):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise ServerError(
        "cannot find the `paved` command; install the project first "
        "(`make bench` does, or `.venv/bin/pip install -e .`)"
    )


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


class PavedServer:
    def __init__(self, paved: Path, dsn: str, log_path: Path, cwd: Path) -> None:
        self.port = free_port()
        self.base_url = f"http://{HOST}:{self.port}"
        self.log_path = log_path
        env = {**os.environ, "DATABASE_URL": dsn}
        command = [str(paved), "serve", "--no-demo", "--port", str(self.port)]
        log.info("starting %s (log: %s)", " ".join(command), log_path)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_file: IO[bytes] = log_path.open("wb")
        # Own session: a Ctrl-C on the benchmark must not reach the server before we stop it.
        self.process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def graphql_url(self) -> str:
        return f"{self.base_url}/graphql"

    def wait_ready(self, timeout: float) -> float:
        """Poll GET /readyz until 200; returns the seconds it took."""
        started = time.monotonic()
        deadline = started + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(
                    f"paved serve exited with code {self.process.returncode} before it was "
                    f"ready; last lines of {self.log_path}:\n{_tail(self.log_path)}"
                )
            try:
                with urllib.request.urlopen(f"{self.base_url}/readyz", timeout=2) as response:
                    if response.status == 200:
                        return time.monotonic() - started
                    last = f"HTTP {response.status}"
            except urllib.error.HTTPError as error:
                last = f"HTTP {error.code}"
            except OSError as error:
                last = str(error)
            time.sleep(0.25)
        raise ServerError(
            f"GET /readyz not 200 after {timeout:.0f} s (last: {last}); "
            f"last lines of {self.log_path}:\n{_tail(self.log_path)}"
        )

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM, then SIGKILL if it has not exited within `timeout`; returns its exit code."""
        try:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(timeout)
                except subprocess.TimeoutExpired:
                    log.warning("paved serve ignored SIGTERM for %.0f s; killing it", timeout)
                    self.process.kill()
                    self.process.wait(5)
        finally:
            self._log_file.close()
        code = self.process.returncode
        how = "by SIGTERM" if code == -signal.SIGTERM else f"with exit code {code}"
        log.info("paved serve stopped %s", how)
        return code
