"""How fast do events reach their subscribers?

1. Fan-out: N subscribers of `Subscription.events` over GraphQL over SSE on one `paved serve`
   process, a mutation every `--interval` seconds on the same process: the time from an event's
   commit (its `occurredAt`) to its receipt at every subscriber (p50, p99, max), events missed,
   and the SQL statements that read the outbox per event, counted by pg_stat_statements. Run at
   a small N first: the statements per event must not grow with N.
2. Across processes: subscribers on process B, mutations on process A (one PostgreSQL):
   commit to receipt on B.

Writes the "Events" section of bench/RESULTS.md (bench.results keeps the other sections).
Usage: python -m bench.events [--subscribers 1000] [--events 50] [--interval 0.1]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx2 as httpx
import orjson

from bench.database import BenchDatabase
from bench.latency import percentile
from bench.results import replace_section
from bench.server import PavedServer, find_paved

log = logging.getLogger("bench")

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
WORK_DIR = BENCH_DIR / ".work"
READY_TIMEOUT_SECONDS = 90.0
SUBSCRIPTION = (
    'subscription { events(filter: { types: [SERVICE_UPDATED], service: "fanout" }) '
    "{ id occurredAt } }"
)
SERVER_SETTINGS = {
    "PAVED_MAX_SUBSCRIPTIONS_PER_ACTOR": "100000",
    "PAVED_MAX_CONCURRENT_PER_ACTOR": "1000",
    "PAVED_LOG_LEVEL": "warning",
}


@dataclass
class Subscriber:
    received: dict[str, float] = field(default_factory=dict)
    """Event id -> wall-clock time of receipt."""
    expected: int = 0
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    """Set once `expected` events arrived (or the subscription failed)."""
    error: str | None = None


@dataclass(frozen=True, slots=True)
class PhaseResult:
    name: str
    subscribers: int
    events: int
    latencies_ms: list[float]
    missed: int
    outbox_reads: int
    statements: int
    failed: int

    def row(self) -> str:
        p50 = percentile(self.latencies_ms, 0.5) if self.latencies_ms else float("nan")
        p99 = percentile(self.latencies_ms, 0.99) if self.latencies_ms else float("nan")
        worst = max(self.latencies_ms, default=float("nan"))
        return (
            f"| {self.name} | {self.subscribers} | {self.events} | {p50:.1f} | {p99:.1f} | "
            f"{worst:.1f} | {self.missed} | {self.failed} | "
            f"{self.outbox_reads / max(self.events, 1):.2f} | "
            f"{self.statements / max(self.events, 1):.1f} |"
        )


async def _subscribe(client: httpx.AsyncClient, url: str, subscriber: Subscriber) -> None:
    headers = {"accept": "text/event-stream", "content-type": "application/json"}
    body = orjson.dumps({"query": SUBSCRIPTION})
    try:
        async with client.stream("POST", url, content=body, headers=headers) as response:
            if response.status_code != 200:
                subscriber.error = f"HTTP {response.status_code}"
                subscriber.ready.set()
                return
            subscriber.ready.set()
            event_name = ""
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    event_name = line[6:].strip()
                elif line.startswith("data:") and event_name == "next":
                    at = time.time()
                    payload = orjson.loads(line[5:])
                    event = (payload.get("data") or {}).get("events")
                    if event is None:
                        subscriber.error = str(payload.get("errors"))[:200]
                        return
                    subscriber.received[event["id"]] = at
                    if len(subscriber.received) >= subscriber.expected:
                        subscriber.done.set()
    except (httpx.HTTPError, asyncio.CancelledError) as error:
        if not isinstance(error, asyncio.CancelledError):
            subscriber.error = type(error).__name__
        subscriber.ready.set()


async def _mutate(client: httpx.AsyncClient, url: str, name: str) -> None:
    query = (
        "mutation($input: UpdateServiceInput!) { updateService(input: $input) "
        "{ errors { code message } } }"
    )
    variables = {"input": {"service": "fanout", "name": name}}
    response = await client.post(url, json={"query": query, "variables": variables})
    response.raise_for_status()
    errors = response.json()["data"]["updateService"]["errors"]
    if errors:
        raise RuntimeError(f"updateService refused: {errors}")


async def _setup(client: httpx.AsyncClient, url: str) -> None:
    for query, variables in (
        (
            "mutation($input: CreateTeamInput!) { createTeam(input: $input) { errors { code } } }",
            {"input": {"slug": "bench", "name": "Bench"}},
        ),
        (
            "mutation($input: CreateServiceInput!) "
            "{ createService(input: $input) { errors { code } } }",
            {"input": {"slug": "fanout", "name": "Fan-out", "owner": "bench"}},
        ),
    ):
        response = await client.post(url, json={"query": query, "variables": variables})
        response.raise_for_status()


async def _statement_counts(dsn: str) -> tuple[int, int]:
    """(statements reading the outbox, all statements) since the last reset."""
    connection = await asyncpg.connect(dsn)
    try:
        row = await connection.fetchrow(
            "SELECT coalesce(sum(calls) FILTER (WHERE query ILIKE '%FROM events%' "
            "AND query NOT ILIKE '%INSERT INTO events%'), 0) AS outbox, "
            "coalesce(sum(calls), 0) AS everything FROM pg_stat_statements "
            "WHERE query NOT ILIKE '%pg_stat_statements%'"
        )
        assert row is not None
        return int(row["outbox"]), int(row["everything"])
    finally:
        await connection.close()


async def _reset_statements(dsn: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        await connection.execute("SELECT pg_stat_statements_reset()")
    finally:
        await connection.close()


async def _occurred(dsn: str) -> dict[str, datetime]:
    """Each event's commit time, by the global ID the subscribers received."""
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            "SELECT id, occurred_at FROM events WHERE type = 'SERVICE_UPDATED'"
        )
    finally:
        await connection.close()
    from resolvers.global_ids import encode_id

    return {encode_id("Event", row["id"]): row["occurred_at"] for row in rows}


async def _all_received(crowd: list[Subscriber], seconds: float) -> None:
    """Until every working subscriber has all the events it waits for, or `seconds` passed."""
    waiting = [s.done.wait() for s in crowd if s.error is None]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*waiting), seconds)
    await asyncio.sleep(0.5)


async def run_phase(
    name: str,
    dsn: str,
    subscribe_url: str,
    mutate_url: str,
    subscribers: int,
    events: int,
    interval: float,
) -> PhaseResult:
    limits = httpx.Limits(max_connections=subscribers + 10, max_keepalive_connections=10)
    timeout = httpx.Timeout(30.0, read=None)
    async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:
        crowd = [Subscriber(expected=events) for _ in range(subscribers)]
        tasks = [asyncio.create_task(_subscribe(client, subscribe_url, s)) for s in crowd]
        await asyncio.wait_for(asyncio.gather(*(s.ready.wait() for s in crowd)), 120)
        await asyncio.sleep(1.0)
        await _reset_statements(dsn)
        started_names = time.time()
        for index in range(events):
            await _mutate(client, mutate_url, f"fan-out {started_names:.0f} {index}")
            await asyncio.sleep(interval)
        await _all_received(crowd, seconds=10)
        outbox, everything = await _statement_counts(dsn)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    occurred = await _occurred(dsn)
    latencies: list[float] = []
    missed = 0
    for subscriber in crowd:
        if subscriber.error is None:
            missed += max(0, events - len(subscriber.received))
        for event_id, at in subscriber.received.items():
            committed = occurred.get(event_id)
            if committed is not None:
                latencies.append((at - committed.timestamp()) * 1000)
    failed = sum(1 for s in crowd if s.error is not None)
    for subscriber in crowd:
        if subscriber.error is not None:
            log.warning("a subscriber failed: %s", subscriber.error)
            break
    return PhaseResult(name, subscribers, events, latencies, missed, outbox, everything, failed)


def _markdown(results: list[PhaseResult], command: str, started: datetime) -> str:
    lines = [
        f"Date: {started:%Y-%m-%d %H:%M} UTC  ",
        f"Command: `{command}`  ",
        f"Machine: {os.cpu_count()} cores, shared by the servers, PostgreSQL and the "
        "subscribers (one Python process, httpx).",
        "",
        "Latency is from an event's `occurredAt` (written just before its commit) to its "
        "receipt by a subscriber, over every subscriber x event. Outbox reads per event counts "
        "the statements that read `events` (pg_stat_statements), across every process: one "
        "read per process per wake-up whatever the number of subscribers.",
        "",
        "| phase | subscribers | events | p50 ms | p99 ms | max ms | missed | failed "
        "subscribers | outbox reads / event | all statements / event |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *(result.row() for result in results),
    ]
    return "\n".join(lines)


async def _measure(args: argparse.Namespace, dsn: str) -> list[PhaseResult]:
    paved = find_paved(REPO_DIR)
    results: list[PhaseResult] = []
    with contextlib.ExitStack() as stack:
        first = PavedServer(paved, dsn, WORK_DIR / "events-a.log", REPO_DIR, SERVER_SETTINGS)
        stack.callback(first.stop)
        first.wait_ready(READY_TIMEOUT_SECONDS)
        async with httpx.AsyncClient(timeout=30) as client:
            await _setup(client, first.graphql_url)
        for count in (args.small, args.subscribers):
            results.append(
                await run_phase(
                    "fan-out, one process",
                    dsn,
                    first.graphql_url,
                    first.graphql_url,
                    count,
                    args.events,
                    args.interval,
                )
            )
        second = PavedServer(paved, dsn, WORK_DIR / "events-b.log", REPO_DIR, SERVER_SETTINGS)
        stack.callback(second.stop)
        second.wait_ready(READY_TIMEOUT_SECONDS)
        results.append(
            await run_phase(
                "mutation on A, subscribers on B",
                dsn,
                second.graphql_url,
                first.graphql_url,
                args.small,
                args.events,
                args.interval,
            )
        )
    return results


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--small", type=int, default=10, help="subscribers of the baseline run")
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--interval", type=float, default=0.1)
    args = parser.parse_args(argv)
    started = datetime.now(UTC)
    database = BenchDatabase(WORK_DIR / "events")
    dsn = database.start()
    try:
        asyncio.run(_reset_database(dsn))
        results = asyncio.run(_measure(args, dsn))
    finally:
        database.stop()
    command = "python -m bench.events " + " ".join(argv if argv is not None else sys.argv[1:])
    section = _markdown(results, command.strip(), started)
    replace_section("Events", section)
    print(section)
    return 0 if all(r.missed == 0 and r.failed == 0 for r in results) else 1


async def _reset_database(dsn: str) -> None:
    """A fresh schema for every run: the phases count the events they make."""
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public")
    finally:
        await connection.close()


if __name__ == "__main__":
    raise SystemExit(main())
