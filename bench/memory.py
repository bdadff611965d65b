"""Resident memory of a server process after a number of requests: wrk drives it with a
per-thread quota (so the count is exact up to the requests in flight when a thread stops),
and VmRSS is read from /proc/<pid>/status at each checkpoint."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

from bench.load import LoadError, WrkSettings, run_wrk, write_script

log = logging.getLogger("bench")

CHECKPOINTS = (10_000, 100_000)
MAX_RUN_SECONDS = 600
# A quota run lasts its whole --duration; leave this much headroom over the expected time.
HEADROOM = 1.2


@dataclass(frozen=True, slots=True)
class Checkpoint:
    requests: int
    rss_kib: int


@dataclass(frozen=True, slots=True)
class MemoryResult:
    query_title: str
    connections: int
    start_rss_kib: int
    checkpoints: list[Checkpoint]
    failures: int


def vm_rss_kib(pid: int) -> int:
    """VmRSS of a live process in KiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError as error:
        raise LoadError(f"cannot read the memory of process {pid}: {error}") from error
    raise LoadError(f"no VmRSS for process {pid}")


class RequestDriver:
    """Sends an exact number of requests with wrk, in runs sized from the observed rate."""

    def __init__(
        self, wrk: str, url: str, body: bytes, settings: WrkSettings, script_path: Path
    ) -> None:
        self.wrk = wrk
        self.url = url
        self.body = body
        self.settings = settings
        self.script_path = script_path
        self.sent = 0
        self.failures = 0

    def send(self, requests: int, rate_guess: float) -> float:
        """Send `requests` more; returns the rate to guess next time."""
        rate = max(rate_guess, 1.0)
        target = self.sent + requests
        while self.sent < target:
            remaining = target - self.sent
            per_thread = math.ceil(remaining / self.settings.threads)
            seconds = min(MAX_RUN_SECONDS, math.ceil(remaining / rate * HEADROOM) + 1)
            script = write_script(self.script_path, self.body, per_thread)
            result = run_wrk(self.wrk, script, self.url, self.settings, seconds)
            self.sent += result.requests
            self.failures += result.non_2xx + result.socket_errors
            if result.requests < per_thread * self.settings.threads:
                # The run ended before the quota: it ran flat out, so its rate is the rate.
                rate = max(result.requests_per_second, 1.0)
            log.info("memory run: %d requests so far (%d s run)", self.sent, seconds)
        return rate


def measure_rss(
    driver: RequestDriver,
    pid: int,
    query_title: str,
    rate_guess: float,
    checkpoints: tuple[int, ...] = CHECKPOINTS,
) -> MemoryResult:
    """RSS of `pid` before any request and once `driver` has sent each checkpoint's count."""
    start = vm_rss_kib(pid)
    measured: list[Checkpoint] = []
    rate = rate_guess
    for checkpoint in sorted(checkpoints):
        rate = driver.send(checkpoint - driver.sent, rate)
        rss = vm_rss_kib(pid)
        measured.append(Checkpoint(driver.sent, rss))
        log.info("RSS after %d requests: %.1f MiB", driver.sent, rss / 1024)
    return MemoryResult(query_title, driver.settings.connections, start, measured, driver.failures)
