"""Several app processes on one database (`tests.support.replica`), for tests of what must
hold across replicas."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx2 as httpx

from tests.support.network import free_port
from tests.support.processes import clean_environment

HOST = "127.0.0.1"
READY_TIMEOUT = 60.0
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Replica:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def describe(self) -> str:
        tail = "\n".join(self.log_path.read_text(errors="replace").splitlines()[-40:])
        return f"replica {self.name} (exit code {self.process.poll()}); its log ends:\n{tail}"

    async def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        async with httpx.AsyncClient() as client:
            while time.monotonic() < deadline:
                assert self.process.poll() is None, f"exited early; {self.describe()}"
                try:
                    response = await client.get(f"{self.base_url}/readyz", timeout=2.0)
                except httpx.TransportError:
                    pass
                else:
                    if response.status_code == 200:
                        return
                await asyncio.sleep(0.1)
        raise AssertionError(f"not ready after {READY_TIMEOUT:.0f} s; {self.describe()}")

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, timeout=30.0)


@contextmanager
def replica(workdir: Path, name: str, **environment: str) -> Iterator[Replica]:
    """One app process with `environment` (PAVED_*, DATABASE_URL, COUNTING_PROVIDER_URL...);
    killed, if still running, when the block ends."""
    port = free_port(HOST)
    log_path = workdir / f"replica-{name}.log"
    log_file: IO[bytes]
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.replica"],
            cwd=ROOT,
            env=clean_environment(PAVED_PORT=str(port), PAVED_DEMO="false", **environment),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield Replica(name, process, port, log_path)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(10)


@contextmanager
def replicas(workdir: Path, names: tuple[str, ...], **environment: str) -> Iterator[list[Replica]]:
    with ExitStack() as stack:
        yield [stack.enter_context(replica(workdir, name, **environment)) for name in names]
