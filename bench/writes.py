"""`python -m bench.writes` (`make bench-writes`): mutations side by side.

- `createTeam` and `createService` with unique input, wrk at `--connections` (16), on Paved
  Road (development mode: an anonymous request on loopback is the local admin) and on
  PostGraphile's generated create mutations, on the same database: mutations/s, p50, p99, rows
  written, and SQL statements per mutation (pg_stat_statements over sequential mutations);
  each with the input in variables (one document, as clients send it) and as literals (a new
  document per request).
- `recordDeployment` on Paved Road from 16 simulated CI clients, each request a random service
  of the first 1,000 and a random environment, with a version of its own (PostGraphile has no
  such mutation: its generated `createDeployment` needs the number, the kind, the requester,
  and does not supersede the current deployment).
- The floors (`bench.write_floor`): the same `createTeam` and `createService` requests (input
  in variables) answered by one hand-written SQL statement each on a bare ASGI app, no
  GraphQL: one writing Paved Road's rows (the row, its audit record, its outbox event), one
  writing PostGraphile's one row. They say how fast this HTTP stack and database can take
  these writes at all.
- A 50/50 read/write mix: half the connections send the single-service lookup of `bench.run`
  and half `createTeam`, both at once; the reads' throughput is compared with the same reads
  on the same connections with the writers idle.

Writes the section "Writes" of `bench/RESULTS.md`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import shlex
import signal
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import NamedTuple

import asyncpg

from bench import peer
from bench.cpu import postmaster_pid, process_seconds, tree_seconds
from bench.database import BenchDatabase
from bench.load import RESULT_MARK, LoadError, WrkResult, WrkSettings, find_wrk, run_wrk
from bench.queries import QueryCheckError, bench_queries, parse_answer, post_graphql
from bench.report import load_average
from bench.results import replace_section
from bench.seed import ENVIRONMENT_SLUGS, Sizes, lookup_slug, prepare_database
from bench.server import PavedServer, ServerError, ServerProcess, find_paved
from bench.systems import LABELS, PAVED, POSTGRAPHILE
from bench.write_floor import ONE_ROW, PAVED_ROWS, WriteFloorServer

log = logging.getLogger("bench")

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
WORK_DIR = BENCH_DIR / ".work"
SECTION = "Writes"
READY_TIMEOUT_SECONDS = 120.0
WRK_THREADS = 2
WRK_TIMEOUT_SECONDS = 10
CI_SERVICES = 1_000
COUNT_MUTATIONS = 100
WAKE_UPS_SETTLE_SECONDS = 0.2
"""After the counted mutations: long enough for the wake-up that follows the last one."""


VARIABLES, LITERALS = "variables", "literals"
FORMS = (VARIABLES, LITERALS)
"""How a request carries its input: in variables, one document for all requests, or as
literals in its document, a new document each time."""


class EnumValue(str):
    """An enum value: a string in variables, a bare name as a literal."""


@dataclass(frozen=True, slots=True)
class Mutation:
    field: str
    input_type: str
    selection: str
    input: Mapping[str, object]

    def body(self, form: str = VARIABLES) -> str:
        """The JSON request body in `form`, placeholders left in."""
        if form == LITERALS:
            document = (
                f"mutation {{ {self.field}(input: {_literal(self.input)}) {{ {self.selection} }} }}"
            )
            return json.dumps({"query": document})
        document = (
            f"mutation($input: {self.input_type}!) "
            f"{{ {self.field}(input: $input) {{ {self.selection} }} }}"
        )
        return json.dumps({"query": document, "variables": {"input": self.input}})


def _literal(value: object) -> str:
    if isinstance(value, EnumValue):
        return str(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{key}: {_literal(item)}" for key, item in value.items()) + "}"
    return json.dumps(value)


# `{tag}` becomes a string unique to the run, the wrk thread and the request; `{service}`,
# `{environment}` and `{owner}` slugs. Each mutation is one document with its input in
# variables, as clients send them (the `paved` CLI, the portal, MCP's tools), or the same
# input as literals in the document, which makes every request a new document.
MUTATIONS: Mapping[tuple[str, str], Mutation] = {
    ("createTeam", PAVED): Mutation(
        "createTeam",
        "CreateTeamInput",
        "team { slug } errors { message }",
        {"slug": "t-{tag}", "name": "T {tag}"},
    ),
    ("createTeam", POSTGRAPHILE): Mutation(
        "createTeam",
        "CreateTeamInput",
        "team { slug }",
        {"team": {"slug": "t-{tag}", "name": "T {tag}"}},
    ),
    ("createService", PAVED): Mutation(
        "createService",
        "CreateServiceInput",
        "service { slug } errors { message }",
        {"slug": "s-{tag}", "name": "S {tag}", "owner": "{owner}"},
    ),
    ("createService", POSTGRAPHILE): Mutation(
        "createService",
        "CreateServiceInput",
        "service { slug }",
        {"service": {"slug": "s-{tag}", "name": "S {tag}"}},
    ),
    ("recordDeployment", PAVED): Mutation(
        "recordDeployment",
        "RecordDeploymentInput",
        "deployment { version } errors { message }",
        {
            "service": "{service}",
            "environment": "{environment}",
            "version": "2.{tag}",
            "state": EnumValue("SUCCEEDED"),
        },
    ),
}
MEASURED = ("createTeam", "createService")
"""The mutations measured on both systems, in both forms."""

FLOOR_ROWS, FLOOR_ONE_ROW = "floor-rows", "floor-one-row"
FLOORS = {FLOOR_ROWS: PAVED_ROWS, FLOOR_ONE_ROW: ONE_ROW}
"""The floors, and the rows each writes (`bench.write_floor`): they answer Paved Road's
requests, input in variables."""
WRITE_LABELS = {
    **LABELS,
    FLOOR_ROWS: "floor: Paved Road's rows",
    FLOOR_ONE_ROW: "floor: one row",
}
TABLES = {"createTeam": "teams", "createService": "services", "recordDeployment": "deployments"}

# A request() that fills `{tag}` (and a random service and environment) per request.
_SCRIPT = """\
-- Generated by bench/writes.py: POST a mutation with input unique to each request.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local template = [==[{template}]==]
local services = {{ {services} }}
local environments = {{ {environments} }}
local counter = 0
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end
init = function(args)
  math.randomseed(os.time() + thread_id * 7919)
end
request = function()
  counter = counter + 1
  local tag = "{run}-" .. thread_id .. "-" .. counter
  local body = template:gsub("{{tag}}", tag)
  body = body:gsub("{{service}}", services[math.random(#services)])
  body = body:gsub("{{environment}}", environments[math.random(#environments)])
  return wrk.format(nil, nil, nil, body)
end
{pause}done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "{mark} requests=%.0f duration_us=%.0f p50_us=%.0f p99_us=%.0f "
    .. "connect=%.0f read=%.0f write=%.0f status=%.0f timeout=%.0f\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def _lua_list(values: list[str]) -> str:
    return ", ".join(json.dumps(value) for value in values)


def query_body(document: str) -> str:
    """The JSON request body of a document without variables."""
    return json.dumps({"query": document})


def write_mutation_script(
    path: Path, body: str, services: list[str], run: str, pause_ms: float = 0
) -> Path:
    """`body`: the JSON request body, its placeholders filled per request. `pause_ms`: how
    long each connection waits after an answer before its next request (wrk's `delay()`;
    0: none, the connection sends as fast as it is answered)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pause = f"delay = function()\n  return {pause_ms:.0f}\nend\n" if pause_ms > 0 else ""
    path.write_text(
        _SCRIPT.format(
            template=body,
            services=_lua_list(services),
            environments=_lua_list(list(ENVIRONMENT_SLUGS)),
            run=run,
            mark=RESULT_MARK,
            pause=pause,
        )
    )
    return path


def fill(body: str, tag: str, service: str, environment: str, owner: str) -> str:
    return (
        body.replace("{tag}", tag)
        .replace("{service}", service)
        .replace("{environment}", environment)
        .replace("{owner}", owner)
    )


class Cell(NamedTuple):
    """What one measured cell sends: which mutation, to which system, in which form."""

    mutation: str
    system: str
    form: str = VARIABLES


@dataclass(frozen=True, slots=True)
class WriteRun:
    """One measured run of a cell."""

    result: WrkResult
    rows_written: int
    server_cpu_ms: float  # the server process's CPU per mutation
    database_cpu_ms: float | None  # PostgreSQL's (every process), when it runs here


@dataclass(frozen=True, slots=True)
class WriteRow:
    """A cell: its `--repeat` runs, reported by their medians."""

    mutation: str
    system: str
    form: str
    runs: list[WriteRun]
    statements: float | None  # data statements per mutation
    round_trips: float | None  # every statement per mutation, BEGIN/COMMIT/SET included
    wake_ups: float | None  # the event listeners' wake-ups per mutation, sent after commits

    @property
    def per_second(self) -> float:
        return statistics.median(run.result.requests_per_second for run in self.runs)

    @property
    def p50_ms(self) -> float:
        return statistics.median(run.result.p50_ms for run in self.runs)

    @property
    def p99_ms(self) -> float:
        return statistics.median(run.result.p99_ms for run in self.runs)

    @property
    def rows_written(self) -> float:
        return statistics.median(run.rows_written for run in self.runs)

    @property
    def errors(self) -> int:
        return sum(run.result.non_2xx + run.result.socket_errors for run in self.runs)

    @property
    def server_cpu_ms(self) -> float:
        return statistics.median(run.server_cpu_ms for run in self.runs)

    @property
    def database_cpu_ms(self) -> float | None:
        measured = [run.database_cpu_ms for run in self.runs if run.database_cpu_ms is not None]
        return statistics.median(measured) if measured else None


@dataclass(frozen=True, slots=True)
class MixRow:
    system: str
    reads_alone: WrkResult
    reads_mixed: WrkResult
    writes_mixed: WrkResult
    writes_offered: int | None = None
    """Writes per second the writers asked for (None: as many as they were answered)."""
    kept_runs: tuple[float, ...] = ()
    """What reads kept in each run of this mix (this row being the median one)."""

    @property
    def kept(self) -> float:
        alone = self.reads_alone.requests_per_second
        return self.reads_mixed.requests_per_second / alone if alone else 0.0


def median_mix(runs: list[MixRow]) -> MixRow:
    """The run whose reads kept the median share, with every run's share."""
    median = sorted(runs, key=lambda run: run.kept)[len(runs) // 2]
    return dataclasses.replace(median, kept_runs=tuple(run.kept for run in runs))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.writes", description=__doc__)
    parser.add_argument("--services", type=int, default=10_000, help="default 10000")
    parser.add_argument("--teams", type=int, default=500, help="default 500")
    parser.add_argument("--users", type=int, default=5_000, help="default 5000")
    parser.add_argument(
        "--deployments", type=int, default=100_000, help="history to seed (default 100000)"
    )
    parser.add_argument("--duration", type=int, default=10, help="measured seconds (10)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up seconds (3)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (16)")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="measured runs per mutation and system, and per mix and system, taken in turn (3);"
        " medians reported",
    )
    parser.add_argument(
        "--paced-writes",
        type=int,
        default=100,
        help="writes/s of the second mix, as a CI fleet would send them (100; 0: no such mix)",
    )
    parser.add_argument(
        "--forms",
        choices=(*FORMS, "both"),
        default="both",
        help="how createTeam and createService send their input: in variables (one document, "
        "as clients send it), as literals (a new document per request), or both (default)",
    )
    parser.add_argument("--no-peer", action="store_true", help="leave PostGraphile out")
    parser.add_argument("--no-floor", action="store_true", help="leave the hand-written floors out")
    return parser.parse_args(argv)


async def _first_slugs(dsn: str, table: str, limit: int) -> list[str]:
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(f"SELECT slug FROM {table} ORDER BY id LIMIT {limit}")
    finally:
        await connection.close()
    return [str(row["slug"]) for row in rows]


async def _count_rows(dsn: str, table: str) -> int:
    connection = await asyncpg.connect(dsn)
    try:
        return int(await connection.fetchval(f"SELECT count(*) FROM {table}"))
    finally:
        await connection.close()


async def _checkpoint(dsn: str) -> None:
    """Flush what earlier writes left in shared buffers, so that no measured run pays for a
    checkpoint of the writes before it."""
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("CHECKPOINT")
    finally:
        await connection.close()


async def _statement_calls(dsn: str, reset: bool) -> tuple[int, int, int]:
    """(data statements, all statements, wake-ups) since the last reset; resets when
    asked. A wake-up of the event listeners (`SELECT pg_notify`, sent after commits) is no
    data statement, but a round trip."""
    connection = await asyncpg.connect(dsn)
    try:
        if reset:
            await connection.execute("SELECT pg_stat_statements_reset()")
            return 0, 0, 0
        rows = await connection.fetch(
            "SELECT query, calls FROM pg_stat_statements WHERE dbid = "
            "(SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND query NOT ILIKE '%pg_stat_statements%'"
        )
    finally:
        await connection.close()
    housekeeping = ("BEGIN", "COMMIT", "ROLLBACK", "SET ", "RESET", "DISCARD", "SELECT 1")
    wake_up = "SELECT PG_NOTIFY("
    total = sum(int(row["calls"]) for row in rows)
    kinds = [(str(row["query"]).lstrip().upper(), int(row["calls"])) for row in rows]
    wake_ups = sum(calls for query, calls in kinds if query.startswith(wake_up))
    data = sum(
        calls
        for query, calls in kinds
        if not query.startswith(housekeeping) and not query.startswith(wake_up)
    )
    return data, total, wake_ups


def _count_statements(
    dsn: str, send: Callable[[str], None], mutations: int
) -> tuple[float, float, float] | None:
    """(data statements, round trips, wake-ups) per mutation."""
    try:
        asyncio.run(_statement_calls(dsn, reset=True))
    except asyncpg.PostgresError:
        return None
    for index in range(mutations):
        send(f"count-{index}")
    time.sleep(WAKE_UPS_SETTLE_SECONDS)
    data, total, wake_ups = asyncio.run(_statement_calls(dsn, reset=False))
    return data / mutations, total / mutations, wake_ups / mutations


def _sender(url: str, body: str, services: list[str], owner: str) -> Callable[[str], None]:
    def send(tag: str) -> None:
        filled = fill(body, f"{uuid.uuid4().hex[:8]}-{tag}", services[0], "qa", owner)
        label = f"{body[:60]}..."
        data = parse_answer(label, *post_graphql(url, filled.encode()))
        payload = next(iter(data.values()))
        if isinstance(payload, dict) and payload.get("errors"):
            raise QueryCheckError(f"{label}: {payload['errors']}")

    return send


def _start(server: ServerProcess, stack: contextlib.ExitStack) -> ServerProcess:
    stack.callback(server.stop)
    log.info("%s ready in %.1f s", server.name, server.wait_ready(READY_TIMEOUT_SECONDS))
    return server


def _describe(result: WrkResult) -> str:
    return (
        f"{result.requests_per_second:,.1f}/s, p50 {result.p50_ms:.2f} ms, "
        f"p99 {result.p99_ms:.2f} ms, {result.non_2xx} non-2xx, {result.socket_errors} errors"
    )


class Runner:
    def __init__(
        self, args: argparse.Namespace, dsn: str, wrk: str, servers: dict[str, ServerProcess]
    ) -> None:
        self.args = args
        self.dsn = dsn
        self.wrk = wrk
        self.servers = servers
        self.run = uuid.uuid4().hex[:8]
        self.scripts = 0
        self.services = asyncio.run(_first_slugs(dsn, "services", CI_SERVICES))
        self.postmaster = postmaster_pid(dsn)
        self.owner = asyncio.run(_first_slugs(dsn, "teams", 1))[0]

    def settings(self, connections: int) -> WrkSettings:
        return WrkSettings(connections, min(WRK_THREADS, connections), WRK_TIMEOUT_SECONDS)

    def body(self, mutation: str, system: str, form: str = VARIABLES) -> str:
        return MUTATIONS[mutation, POSTGRAPHILE if system == POSTGRAPHILE else PAVED].body(form)

    def script(self, name: str, body: str, pause_ms: float = 0) -> Path:
        body = body.replace("{owner}", self.owner)
        path = WORK_DIR / f"writes-{name}.lua"
        self.scripts += 1  # each script's tags its own: slugs stay unique across the runs
        run = f"{self.run}{self.scripts}"
        return write_mutation_script(path, body, self.services, run, pause_ms)

    def counted(self, cell: Cell) -> tuple[float, float, float] | None:
        """(data statements, round trips, wake-ups) per mutation, over sequential ones."""
        server = self.servers[cell.system]
        return _count_statements(
            self.dsn,
            _sender(server.graphql_url, self.body(*cell), self.services, self.owner),
            COUNT_MUTATIONS,
        )

    def _database_seconds(self) -> float | None:
        return None if self.postmaster is None else tree_seconds(self.postmaster)

    def measure(self, cell: Cell, *, warm_up: bool) -> WriteRun:
        mutation, system, form = cell
        server = self.servers[system]
        body = self.body(*cell)
        settings = self.settings(self.args.connections)
        if warm_up and self.args.warmup:
            script = self.script(f"{mutation}-{system}-{form}-warm", body)
            run_wrk(self.wrk, script, server.graphql_url, settings, self.args.warmup)
        script = self.script(f"{mutation}-{system}-{form}", body)
        asyncio.run(_checkpoint(self.dsn))
        before = asyncio.run(_count_rows(self.dsn, TABLES[mutation]))
        server_before, database_before = process_seconds(server.pid), self._database_seconds()
        result = run_wrk(self.wrk, script, server.graphql_url, settings, self.args.duration)
        server_used = process_seconds(server.pid) - server_before
        database_after = self._database_seconds()
        written = asyncio.run(_count_rows(self.dsn, TABLES[mutation])) - before
        server.require_running()
        mutations = max(1, written)
        database_cpu_ms = (
            None
            if database_before is None or database_after is None
            else (database_after - database_before) * 1000 / mutations
        )
        run = WriteRun(result, written, server_used * 1000 / mutations, database_cpu_ms)
        log.info(
            "%s (%s), %s: %s; %d rows; CPU ms per mutation: server %.3f, PostgreSQL %s",
            mutation,
            form,
            WRITE_LABELS[system],
            _describe(result),
            written,
            run.server_cpu_ms,
            "n/a" if database_cpu_ms is None else f"{database_cpu_ms:.3f}",
        )
        return run

    def mix(self, system: str, writes_per_second: int | None = None) -> MixRow:
        """Reads alone, then the same reads with as many writers; the writers send as fast
        as they are answered, or `writes_per_second` in all (each pausing between requests)."""
        server = self.servers[system]
        half = max(1, self.args.connections // 2)
        settings = self.settings(half)
        lookup = bench_queries(lookup_slug(self.sizes()), ENVIRONMENT_SLUGS)[0]
        read_script = self.script(f"read-{system}", query_body(lookup.document(system)))
        pause_ms = 0.0 if writes_per_second is None else half * 1000 / writes_per_second
        write_script = self.script(
            f"mix-{system}", self.body("createTeam", system), pause_ms=pause_ms
        )
        url, seconds = server.graphql_url, self.args.duration
        if self.args.warmup:
            run_wrk(self.wrk, read_script, url, settings, self.args.warmup)
        alone = run_wrk(self.wrk, read_script, url, settings, seconds)
        asyncio.run(_checkpoint(self.dsn))
        with ThreadPoolExecutor(2) as pool:
            reads = pool.submit(run_wrk, self.wrk, read_script, url, settings, seconds)
            writes = pool.submit(run_wrk, self.wrk, write_script, url, settings, seconds)
            row = MixRow(system, alone, reads.result(), writes.result(), writes_per_second)
        server.require_running()
        log.info(
            "mix (writes offered: %s), %s: reads alone %s; mixed %s; writes %s; reads keep %.0f %%",
            "all they can" if writes_per_second is None else f"{writes_per_second}/s",
            WRITE_LABELS[system],
            _describe(row.reads_alone),
            _describe(row.reads_mixed),
            _describe(row.writes_mixed),
            row.kept * 100,
        )
        return row

    def sizes(self) -> Sizes:
        a = self.args
        return Sizes(services=a.services, teams=a.teams, users=a.users, deployments=a.deployments)


def _markdown(
    args: argparse.Namespace,
    writes: list[WriteRow],
    mixes: list[MixRow],
    load_before: str,
    versions: str,
) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = shlex.join(["python", "-m", "bench.writes", *sys.argv[1:]])
    lines = [
        f"Date: {now}  ",
        f"Command: `{command}`  ",
        f"{versions}  ",
        f"Machine: {os.cpu_count()} CPUs; load average (1 min) {load_before} before the run, "
        f"{load_average()} after (the run's own load included); the load generator, both "
        "servers and PostgreSQL share the machine, whose other work varies: compare the "
        "columns of one run.",
        "",
        f"One `paved serve --no-demo` (development mode: anonymous on loopback is the local "
        f"admin; rate limiter with an unlimited bucket, 64 requests at once per actor: the one "
        "bench client stands for many, as 16 CI pipelines would be 16 actors) and "
        "PostGraphile (`bench/peer`, its "
        f"generated create mutations) on the same database, seeded as `bench.run` seeds it "
        f"({args.services:,} services, {args.teams:,} teams, {args.deployments:,} "
        f"deployments). wrk, {WRK_THREADS} threads, {args.connections} connections, a "
        f"{args.warmup} s warm-up, then {args.repeat} measured runs of {args.duration} s per "
        "cell, the cells taken in turn (a slow spell of the machine hits every cell alike); "
        "each column is the median of a cell's runs, and 'runs' lists each run's "
        "mutations/s. Every request's input is unique (slug from the run, the wrk thread and a "
        "counter). Input: 'variables' sends one document for every request with the input in "
        "its variables, as clients send mutations (the `paved` CLI, the portal, MCP's tools, "
        "client libraries), so each server parses, checks and plans the document once; "
        "'literals' writes the input into the document, so that every request is a new document"
        " to parse, validate and plan. A `CHECKPOINT` before each measured run, so that none "
        "pays for flushing the writes before it. Rows written: rows the table gained during a "
        "measured run (each accepted mutation writes one). CPU per mutation: the CPU time the "
        "server's process and PostgreSQL's processes (the cluster's: both servers' background "
        "work included) used during a run, from `/proc`, over the rows written. SQL per "
        f"mutation: pg_stat_statements over {COUNT_MUTATIONS} sequential mutations (the servers'"
        " background work included, which is small); 'round trips' counts every statement, "
        "BEGIN/COMMIT/SET included; 'wake-ups' are Paved Road's `SELECT pg_notify`, sent "
        "after the commits (not in the request's round trips; at most one per 10 ms, shared "
        "by the changes committed meanwhile), counted in 'round trips' but not in 'data "
        "statements'.",
        "",
        "| mutation | input | system | mutations/s | runs | p50 ms | p99 ms | rows written "
        "| errors | server CPU ms / mutation | PostgreSQL CPU ms / mutation "
        "| data statements / mutation | round trips / mutation | wake-ups / mutation |",
        "|---|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def number(value: float | None, digits: int = 2) -> str:
        return "n/a" if value is None else f"{value:.{digits}f}"

    for row in writes:
        runs = " / ".join(f"{run.result.requests_per_second:,.0f}" for run in row.runs)
        lines.append(
            f"| {row.mutation} | {row.form} | {WRITE_LABELS[row.system]} | {row.per_second:,.1f} "
            f"| {runs} "
            f"| {row.p50_ms:.2f} | {row.p99_ms:.2f} | {row.rows_written:,.0f} "
            f"| {row.errors} | {row.server_cpu_ms:.3f} | {number(row.database_cpu_ms, 3)} "
            f"| {number(row.statements)} | {number(row.round_trips)} "
            f"| {number(row.wake_ups)} |"
        )
    by = {Cell(row.mutation, row.system, row.form): row for row in writes}
    for form, mutation in ((form, mutation) for form in FORMS for mutation in MEASURED):
        paved = by.get(Cell(mutation, PAVED, form))
        other = by.get(Cell(mutation, POSTGRAPHILE, form))
        if paved and other and other.per_second:
            ratio = paved.per_second / other.per_second
            turns = ", ".join(
                f"{mine.result.requests_per_second / theirs.result.requests_per_second:.2f}x"
                for mine, theirs in zip(paved.runs, other.runs, strict=False)
                if theirs.result.requests_per_second
            )
            lines.append(
                f"\n{mutation} ({form}): Paved Road / PostGraphile = **{ratio:.2f}x** "
                "mutations/s, "
                f"medians (run by run: {turns}; target ≥ 1.0x, p99 ≤ 50 ms: Paved Road p99 "
                f"{paved.p99_ms:.1f} ms)."
            )
    for mutation in MEASURED:
        floors = [by.get(Cell(mutation, floor)) for floor in FLOORS]
        systems = [by.get(Cell(mutation, system)) for system in (PAVED, POSTGRAPHILE)]
        if all(floors) and all(systems):
            rows_floor, one_row_floor = (row.per_second for row in floors if row)
            paved_rate, peer_rate = (row.per_second for row in systems if row)
            lines.append(
                f"\n{mutation} (variables), each system against the floor of its own work: "
                f"Paved Road / floor of Paved Road's rows = **{paved_rate / rows_floor:.2f}x**; "
                f"PostGraphile / floor of one row = **{peer_rate / one_row_floor:.2f}x**; "
                f"floor of Paved Road's rows / PostGraphile = {rows_floor / peer_rate:.2f}x."
            )
    lines += [
        "",
        "Not the same work: Paved Road's `createTeam` and `createService` check the actor's "
        "permission, validate, write the audit record, the outbox event and (for "
        "`createService`) the primary owner row; PostGraphile's generated mutations insert "
        "the one row (its `createService` has no owner: a second mutation would need the new "
        "id). That is each system as it would be deployed. `recordDeployment` "
        f"(Paved Road only): {args.connections} simulated CI clients, each request a random "
        f"service of the first {CI_SERVICES:,} and a random environment, state SUCCEEDED "
        "(it supersedes the current deployment of that pair).",
        "",
        "The floors (`python -m bench.write_floor`, only with the input in variables): a bare "
        "ASGI app on uvicorn (one worker, an asyncpg pool of at most 10 connections, as Paved "
        "Road's) that reads each request's JSON and runs ONE hand-written statement per "
        "request, no GraphQL, no authentication, no rate limit, no batching. 'floor: Paved "
        "Road's rows' writes what Paved Road writes (the team, or the service and its primary "
        "owner; the audit record; the outbox event; not the wake-up of the event listeners, "
        "which Paved Road sends after the commit); 'floor: one row' writes PostGraphile's one "
        "row. Each floor is the most this HTTP stack and database can take of that work, one "
        "request at a time per connection.",
        "",
        f"50/50 read/write mix: {max(1, args.connections // 2)} connections send the "
        f"single-service lookup and {max(1, args.connections // 2)} send `createTeam` (input "
        f"in variables), both "
        f"at once for {args.duration} s; 'reads alone' is the same reads on the same "
        "connections with the writers idle, just before. The writers send as fast as they "
        "are answered ('all they can'), then, in a second mix, pause between requests so as "
        "to offer a fixed number of writes per second in all, as a CI fleet would (the "
        "reads still as fast as they are answered). Each mix runs "
        f"{args.repeat} times, the systems in turn; a row is the run whose reads kept the "
        "median share, and 'runs' lists what reads kept in each.",
        "",
        "| system | writes offered | reads alone req/s | reads mixed req/s | reads keep | runs "
        "| reads mixed p99 ms | writes mixed /s | writes mixed p99 ms |",
        "|---|---|---:|---:|---:|---|---:|---:|---:|",
    ]
    for mix in mixes:
        offered = "all they can" if mix.writes_offered is None else f"{mix.writes_offered}/s"
        lines.append(
            f"| {WRITE_LABELS[mix.system]} | {offered} "
            f"| {mix.reads_alone.requests_per_second:,.1f} "
            f"| {mix.reads_mixed.requests_per_second:,.1f} | {mix.kept * 100:.0f} % "
            f"| {' / '.join(f'{kept * 100:.0f} %' for kept in mix.kept_runs)} "
            f"| {mix.reads_mixed.p99_ms:.2f} | {mix.writes_mixed.requests_per_second:,.1f} "
            f"| {mix.writes_mixed.p99_ms:.2f} |"
        )
    return "\n".join(lines)


def _execute(args: argparse.Namespace, database: BenchDatabase) -> int:
    wrk = find_wrk()
    paved = find_paved(REPO_DIR)
    node = None if args.no_peer else peer.ensure_installed()
    load_before = load_average()
    dsn = database.start()
    sizes = Sizes(args.services, args.teams, args.users, args.deployments)
    asyncio.run(prepare_database(dsn, sizes))
    if node is not None:
        peer.apply_schema(dsn)
    with contextlib.ExitStack() as stack:
        servers: dict[str, ServerProcess] = {
            PAVED: _start(PavedServer(paved, dsn, WORK_DIR / "server-writes.log", REPO_DIR), stack)
        }
        if node is not None:
            server = peer.PostGraphileServer(node, dsn, WORK_DIR / "postgraphile-writes.log")
            servers[POSTGRAPHILE] = _start(server, stack)
        if not args.no_floor:
            for floor, rows in FLOORS.items():
                log_path = WORK_DIR / f"{floor}-writes.log"
                servers[floor] = _start(WriteFloorServer(dsn, rows, log_path, REPO_DIR), stack)
        runner = Runner(args, dsn, wrk, servers)
        forms = FORMS if args.forms == "both" else (args.forms,)
        cells = [
            *(
                Cell(mutation, system, form)
                for form in forms
                for mutation in MEASURED
                for system in servers
                if system not in FLOORS or form == VARIABLES
            ),
            Cell("recordDeployment", PAVED),
        ]
        counts = {cell: runner.counted(cell) for cell in cells}
        runs: dict[Cell, list[WriteRun]] = {cell: [] for cell in cells}
        for turn in range(max(1, args.repeat)):  # in turn: a slow spell hits every cell alike
            for cell in cells:
                runs[cell].append(runner.measure(cell, warm_up=turn == 0))
        writes = [
            WriteRow(*cell, runs[cell], *(counts[cell] or (None, None, None))) for cell in cells
        ]
        rates: list[int | None] = [None, *([args.paced_writes] if args.paced_writes > 0 else [])]
        mixed = [system for system in servers if system not in FLOORS]
        mixes = [mix for rate in rates for mix in _mixes(runner, mixed, rate)]
    versions = f"PostGraphile: {peer.postgraphile_version()}" if node else "PostGraphile: not run"
    replace_section(SECTION, _markdown(args, writes, mixes, load_before, versions))
    log.info("wrote the section %r of bench/RESULTS.md", SECTION)
    failed = any(row.errors for row in writes)
    return 1 if failed else 0


def _mixes(runner: Runner, systems: list[str], writes_per_second: int | None) -> list[MixRow]:
    """Each system's median mix over `--repeat` runs, the systems taken in turn."""
    runs: dict[str, list[MixRow]] = {system: [] for system in systems}
    for _ in range(max(1, runner.args.repeat)):
        for system in systems:
            runs[system].append(runner.mix(system, writes_per_second))
    return [median_mix(rows) for rows in runs.values()]


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    log.setLevel(logging.INFO)
    signal.signal(signal.SIGTERM, _on_sigterm)
    database = BenchDatabase(WORK_DIR)
    try:
        return _execute(args, database)
    except (LoadError, QueryCheckError, ServerError) as error:
        log.error("%s", error)
        return 1
    except KeyboardInterrupt:
        log.error("interrupted; stopping what the run started")
        return 130
    finally:
        database.stop()


if __name__ == "__main__":
    sys.exit(main())
