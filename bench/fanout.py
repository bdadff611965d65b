"""`python -m bench.fanout`: how fast committed events reach subscribers.

Two `paved serve` processes (A and B) on one PostgreSQL (embedded in bench/.work, or
BENCH_DATABASE_URL), in development mode (anonymous subscribers, one actor). N subscribers
follow `subscription { events }` over SSE on A, a few more on B; a writer sends `createTeam`
to A every 100 ms. For each event and subscriber: receipt time minus the event's `occurredAt`
(its insert, just before the commit; one clock, one machine). Statements: from
pg_stat_statements, the outbox reads and all statements per event, for each subscriber count
(they must not grow with it). Writes its section of `bench/RESULTS.md`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx2 as httpx
import orjson

from bench.database import BenchDatabase
from bench.latency import percentile
from bench.results import replace_section
from bench.server import find_paved, free_port

BENCH_DIR = Path(__file__).resolve().parent
WORK_DIR = BENCH_DIR / ".work"
SECTION = "Events fan-out: commit to receipt"
DATABASE = "paved_fanout"
SUBSCRIPTION = "subscription { events(filter: {types: [TEAM_CREATED]}) { occurredAt } }"


@dataclass
class Run:
    subscribers: int
    events: int
    latencies_a: list[float]
    latencies_b: list[float]
    outbox_reads: int
    statements: int
    missing: int
    distinct: bool = False
    """Whether each subscriber sent a document of its own (no shared execution)."""


def _serve(dsn: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PAVED_") and key != "DATABASE_URL"
    }
    environment.update(
        DATABASE_URL=dsn,
        PAVED_DEMO="false",
        PAVED_PORT=str(port),
        PAVED_LOG_LEVEL="warning",
        PAVED_RATE_LIMIT_POINTS="0",
        PAVED_MAX_SUBSCRIPTIONS_PER_ACTOR="10000",
        PAVED_SUBSCRIBER_QUEUE_SIZE="10000",
        PAVED_POOL_MAX_SIZE="20",
    )
    paved = find_paved(BENCH_DIR.parent)
    return subprocess.Popen(
        [str(paved), "serve"], env=environment, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )


async def _ready(url: str) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(600):
            with contextlib.suppress(httpx.TransportError):
                if (await http.get(f"{url}/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} never became ready")


failures: list[str] = []
"""What went wrong for subscribers that got no events (reported with the results)."""


def _document(index: int | None) -> str:
    """The subscription; with `index`, a document of its own (an alias named after it)."""
    if index is None:
        return SUBSCRIPTION
    return SUBSCRIPTION.replace("{ occurredAt }", f"{{ occurredAt s{index}: type }}")


async def _subscriber(
    http: httpx.AsyncClient,
    url: str,
    latencies: list[float],
    opened: asyncio.Event,
    document: str = SUBSCRIPTION,
) -> None:
    try:
        await _follow(http, url, latencies, opened, document)
    except (httpx.HTTPError, OSError) as error:
        failures.append(repr(error)[:200])
        opened.set()


async def _follow(
    http: httpx.AsyncClient,
    url: str,
    latencies: list[float],
    opened: asyncio.Event,
    document: str,
) -> None:
    async with http.stream(
        "POST",
        f"{url}/graphql",
        json={"query": document},
        headers={"Accept": "text/event-stream"},
    ) as response:
        opened.set()
        if response.status_code != 200:
            failures.append(f"HTTP {response.status_code}: {(await response.aread())[:200]!r}")
            return
        async for line in response.aiter_lines():
            if line.startswith("data: {"):
                received = time.time()
                sent = orjson.loads(line[6:])
                if sent.get("data") is None:
                    failures.append(str(sent.get("errors"))[:200])
                    return
                occurred = sent["data"]["events"]["occurredAt"]
                latencies.append(received - datetime.fromisoformat(occurred).timestamp())


async def _run(
    dsn: str, url_a: str, url_b: str, subscribers: int, events: int, distinct: bool = False
) -> Run:
    latencies_a: list[float] = []
    latencies_b: list[float] = []
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    timeout = httpx.Timeout(30.0, read=None)
    async with httpx.AsyncClient(limits=limits, timeout=timeout) as http:
        tasks = []
        for index in range(subscribers + 5):
            opened = asyncio.Event()
            on_b = index >= subscribers
            tasks.append(
                asyncio.create_task(
                    _subscriber(http, url_b if on_b else url_a,
                                latencies_b if on_b else latencies_a, opened,
                                _document(index if distinct else None))
                )
            )  # fmt: skip
            await opened.wait()
        connection = await asyncpg.connect(dsn)
        try:
            await connection.execute("SELECT pg_stat_statements_reset()")
            for number in range(events):
                started = time.monotonic()
                created = await http.post(
                    f"{url_a}/graphql",
                    json={
                        "query": "mutation($i: CreateTeamInput!) { createTeam(input: $i) "
                        "{ errors { message } } }",
                        "variables": {
                            "i": {"slug": f"t-{subscribers}-{distinct:d}-{number}", "name": "t"}
                        },
                    },
                )
                created.raise_for_status()
                await asyncio.sleep(max(0.1 - (time.monotonic() - started), 0))
            expected = events * subscribers
            for _ in range(200):
                if len(latencies_a) >= expected and len(latencies_b) >= events * 5:
                    break
                await asyncio.sleep(0.05)
            reads = await connection.fetchval(
                "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements "
                "WHERE query LIKE '%FROM events WHERE (tx, id) >%'"
            )
            statements = await connection.fetchval(
                "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements "
                "WHERE query NOT LIKE '%pg_stat_statements%'"
            )
        finally:
            await connection.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return Run(
        subscribers, events, latencies_a, latencies_b, int(reads), int(statements),
        events * subscribers - len(latencies_a), distinct,
    )  # fmt: skip


def _ms(values: list[float], at: float) -> str:
    return f"{percentile(sorted(values), at) * 1000:.0f}" if values else "-"


def _report(runs: list[Run], seconds: float) -> str:
    lines = [
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC  ",
        "Command: `python -m bench.fanout " + " ".join(sys.argv[1:]) + "`  ",
        f"Machine: {os.cpu_count()} CPUs, {platform.platform()}; the subscribers' client, both "
        "servers and PostgreSQL share it.",
        "",
        "A writer creates a team on A every 100 ms; N SSE subscribers on A and 5 on B follow "
        "`events`. Latency: receipt minus the event's `occurredAt`. Statements: "
        "pg_stat_statements over both processes during the run (the mutations' own included). "
        "Subscribers sending the same document with the same credential (here: all of them, "
        "anonymous in development) share one execution per event; in the `distinct` rows each "
        "sends a document of its own (an alias named after it) and runs its own execution, as "
        "subscribers with different credentials do.",
        "",
        "| subscribers on A | documents | events | p50 A ms | p99 A ms | p50 A→B ms "
        "| p99 A→B ms | outbox reads / event | statements / event | not received |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        lines.append(
            f"| {run.subscribers} | {'distinct' if run.distinct else 'same'} | {run.events} "
            f"| {_ms(run.latencies_a, 0.50)} "
            f"| {_ms(run.latencies_a, 0.99)} | {_ms(run.latencies_b, 0.50)} "
            f"| {_ms(run.latencies_b, 0.99)} | {run.outbox_reads / run.events:.2f} "
            f"| {run.statements / run.events:.1f} | {run.missing} |"
        )
    lines += ["", f"Total time: {seconds:.0f} s.", ""]
    if failures:
        lines += [f"Subscribers refused or ended early: {len(failures)}; first: {failures[0]}", ""]
    return "\n".join(lines)


async def _on_fresh_servers(dsn: str, count: int, events: int, distinct: bool) -> Run:
    port_a, port_b = free_port(), free_port()
    servers = [
        _serve(dsn, port_a, WORK_DIR / "fanout-a.log"),
        _serve(dsn, port_b, WORK_DIR / "fanout-b.log"),
    ]
    try:
        url_a, url_b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
        await _ready(url_a)
        await _ready(url_b)
        return await _run(dsn, url_a, url_b, count, events, distinct)
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(30)


async def _main(counts: list[int], events: int, distinct: list[int]) -> str:
    database = BenchDatabase(WORK_DIR)
    server_dsn = await asyncio.to_thread(database.start)
    admin = await asyncpg.connect(server_dsn)
    await admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    await admin.execute(f"CREATE DATABASE {DATABASE}")
    await admin.close()
    parts = urlsplit(server_dsn)
    dsn = f"{parts.scheme}://{parts.netloc}/{DATABASE}" + (f"?{parts.query}" if parts.query else "")
    connection = await asyncpg.connect(dsn)
    await connection.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    await connection.close()
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    runs: list[Run] = []
    try:
        # Every run on servers of its own: nothing left of the last run's thousand streams.
        for count, own_documents in [(c, False) for c in counts] + [(c, True) for c in distinct]:
            runs.append(await _on_fresh_servers(dsn, count, events, own_documents))
    finally:
        await asyncio.to_thread(database.stop)
    return _report(runs, time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fanout")
    parser.add_argument("--subscribers", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument(
        "--distinct", type=int, nargs="*", default=[100, 1000],
        help="subscriber counts to run again with a document of their own each",
    )  # fmt: skip
    args = parser.parse_args()
    report = asyncio.run(_main(args.subscribers, args.events, args.distinct))
    replace_section(SECTION, report)
    print(report)


if __name__ == "__main__":
    main()
