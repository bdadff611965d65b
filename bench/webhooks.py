"""`python -m bench.webhooks` (`make bench-webhooks`): webhook deliveries per second to a local
receiver, and how long deliveries take to catch up after the receiver was down for 30 s.

One Paved Road process (the composition root's `running`, its delivery worker with the
default settings) on an embedded PostgreSQL of its own under `bench/.work/webhooks`; events
written through the outbox as changes write them; the receiver is another process (aiohttp),
so that it does not share the worker's CPU time and can be stopped outright. Writes the
section "Webhooks" of `bench/RESULTS.md`."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx2 as httpx
from cryptography.fernet import Fernet
from pydantic import SecretStr

from api.bootstrap import migrate, running
from api.settings import Settings
from bench.results import replace_section
from domain.events.model import EventDraft, EventType, SubjectKind
from domain.webhooks.model import WebhookDraft
from providers.postgres import outbox
from providers.postgres.audited import AuditedTransactions, Connection
from providers.postgres.database import EmbeddedPostgres
from providers.postgres.webhooks import PostgresWebhookStore
from providers.webhooks.secret_box import SecretBox

BENCH_DIR = Path(__file__).resolve().parent
WORK_DIR = BENCH_DIR / ".work" / "webhooks"
BREAK = "  "
"""A Markdown line break."""


# --- the receiver (a process of its own) ---------------------------------------------------


def serve_receiver(port: int) -> None:
    from aiohttp import web

    seen: set[str] = set()
    counts = {"received": 0}

    async def hook(request: web.Request) -> web.Response:
        await request.read()
        counts["received"] += 1
        seen.add(request.headers["webhook-id"])
        return web.Response(text="ok")

    async def stats(_: web.Request) -> web.Response:
        return web.json_response({"received": counts["received"], "distinct": len(seen)})

    app = web.Application()
    app.add_routes([web.post("/hook", hook), web.get("/stats", stats)])
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


class Receiver:
    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}/hook"
        self._process: asyncio.subprocess.Process | None = None
        # One client: each new one loads the CA store, which costs more than a delivery.
        self._client = httpx.AsyncClient(verify=False)

    async def start(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.webhooks", "receiver", "--port", str(self.port),
            cwd=BENCH_DIR.parent,
        )  # fmt: skip
        for _ in range(600):
            if await self.distinct() is not None:
                return
            await asyncio.sleep(0.05)
        raise RuntimeError("the receiver did not start")

    async def close(self) -> None:
        await self.stop()
        await self._client.aclose()

    async def stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            await self._process.wait()
            self._process = None

    async def distinct(self) -> int | None:
        try:
            answer = await self._client.get(f"http://127.0.0.1:{self.port}/stats", timeout=2)
        except httpx.HTTPError:
            return None
        return int(answer.json()["distinct"])

    async def wait_for(self, count: int, deadline: float) -> float:
        """Seconds until `count` distinct messages arrived (gives up after `deadline`)."""
        started = time.monotonic()
        while (await self.distinct() or 0) < count:
            if time.monotonic() - started > deadline:
                raise RuntimeError(f"fewer than {count} messages after {deadline:.0f} s")
            await asyncio.sleep(0.05)
        return time.monotonic() - started


# --- the measurement -----------------------------------------------------------------------


async def write_events(transactions: AuditedTransactions, count: int, first: int) -> None:
    """`count` TEAM_CREATED events through the outbox, 100 per transaction."""
    for start in range(first, first + count, 100):

        async def work(connection: Connection, start: int = start) -> None:
            for subject in range(start, min(start + 100, first + count)):
                outbox.emit(
                    EventDraft(
                        EventType.TEAM_CREATED,
                        SubjectKind.TEAM,
                        subject,
                        {"slug": f"team-{subject}", "name": f"Team {subject}"},
                        team_id=subject,
                    )
                )

        await transactions.run(work)


async def _empty(dsn: str) -> None:
    """The outbox and the webhooks of an earlier run gone, before any worker starts."""
    await migrate(dsn)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(
            "TRUNCATE webhook_deliveries, webhooks, events, webhook_dispatch "
            "RESTART IDENTITY CASCADE"
        )
    finally:
        await connection.close()


async def measure(events: int, outage_events: int, outage_seconds: float) -> dict[str, Any]:
    embedded = EmbeddedPostgres(WORK_DIR)
    dsn = await asyncio.to_thread(embedded.start)
    port = 18_000 + os.getpid() % 1_000
    receiver = Receiver(port)
    try:
        await _empty(dsn)
        settings = Settings(
            database_url=dsn,
            demo=False,
            data_dir=WORK_DIR,
            webhook_encryption_key=SecretStr(Fernet.generate_key().decode()),
        )
        async with running(settings) as container:
            pool = container.pool
            await receiver.start()
            secret = "whsec_" + "A" * 43 + "="
            key = settings.webhook_encryption_key
            assert key is not None
            store = PostgresWebhookStore(pool, SecretBox(key.get_secret_value().encode()))
            await store.create(
                WebhookDraft(receiver.url, (EventType.TEAM_CREATED,), None, "bench"), secret
            )
            transactions = AuditedTransactions(pool)

            started = time.monotonic()
            await write_events(transactions, events, 1)
            written = time.monotonic() - started
            elapsed = await receiver.wait_for(events, 600) + written
            throughput = events / elapsed

            await receiver.stop()
            outage_started = time.monotonic()
            await write_events(transactions, outage_events, events + 1)
            await asyncio.sleep(max(0.0, outage_seconds - (time.monotonic() - outage_started)))
            await receiver.start()
            recovery = await receiver.wait_for(outage_events, 900)
            attempts = await pool.fetchrow(
                "SELECT max(attempt) AS most, avg(attempt)::float AS mean, "
                "count(*) FILTER (WHERE state <> 'SUCCEEDED') AS undelivered "
                "FROM webhook_deliveries WHERE id > $1",
                events,
            )
            return {
                "events": events,
                "seconds": elapsed,
                "per_second": throughput,
                "outage_events": outage_events,
                "outage_seconds": outage_seconds,
                "recovery_seconds": recovery,
                "most_attempts": attempts["most"] if attempts else None,
                "mean_attempts": attempts["mean"] if attempts else None,
                "undelivered": attempts["undelivered"] if attempts else None,
            }
    finally:
        await receiver.close()
        await asyncio.to_thread(embedded.stop)


def write_section(results: dict[str, Any]) -> None:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    recovery = results["recovery_seconds"]
    most, mean = results["most_attempts"], results["mean_attempts"]
    per_second = results["per_second"]
    section = f"""Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC{BREAK}
Command: `make bench-webhooks` (`python -m bench.webhooks`), commit {commit or "?"}{BREAK}
Machine: {os.cpu_count()} CPUs, Python {platform.python_version()}; one Paved Road process
(default webhook settings: batch of 32 in flight, 1 s poll), its embedded PostgreSQL and an
aiohttp receiver on the same machine.

| measurement | value |
|---|---|
| events delivered (one webhook, receiver answering 200 at once) | {results["events"]:,} |
| from the first event written to the last delivery received | {results["seconds"]:.1f} s |
| **deliveries per second** | **{results["per_second"]:.0f}** |
| events written while the receiver was down | {results["outage_events"]:,} |
| receiver down for | {results["outage_seconds"]:.0f} s |
| **recovery: from the receiver back up to every event delivered** | **{recovery:.1f} s** |
| attempts per event in the outage (most / mean) | {most} / {mean:.1f} |
| undelivered at the end | {results["undelivered"]} |

Default settings (`PAVED_WEBHOOK_DISABLE_AFTER` 50). While the receiver fails, only the oldest
waiting delivery is tried, as a probe on the retry schedule (5 s, 30 s, 2 min... each ±20 %);
the rest of the backlog waits without failing, so the outage costs a few failed attempts, not
one per event, and does not disable the webhook. Recovery is the wait for the probe's next
attempt after the receiver is back, then the backlog at the worker's pace
({per_second:.0f} per second).
"""
    replace_section("Webhooks", section)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.webhooks")
    parser.add_argument("mode", nargs="?", default="measure", choices=["measure", "receiver"])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--events", type=int, default=2_000)
    parser.add_argument("--outage-events", type=int, default=200)
    parser.add_argument("--outage-seconds", type=float, default=30.0)
    args = parser.parse_args(argv)
    if args.mode == "receiver":
        serve_receiver(args.port)
        return 0
    results = asyncio.run(measure(args.events, args.outage_events, args.outage_seconds))
    print(json.dumps(results, indent=2))
    write_section(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
