"""`python -m bench.run`: seed a large catalog and deployment history, serve it side by side
with `paved serve` and PostGraphile 5, check both answer four GraphQL queries alike, time the
release matrix from one client, load every query with wrk, measure Paved Road's memory, and
write the medians and targets to `bench/RESULTS.md`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import platform
import shlex
import signal
import subprocess
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from types import FrameType

from bench import peer
from bench.database import BenchDatabase
from bench.equivalence import EquivalenceError
from bench.floor import FloorServer
from bench.load import LoadError, WrkSettings, find_wrk
from bench.measure import (
    LoadPlan,
    QueryResult,
    check_answers,
    count_all,
    measure_single_client,
    run_load,
    summarize,
)
from bench.memory import CHECKPOINTS, MemoryResult, RequestDriver, measure_rss, vm_rss_kib
from bench.queries import MATRIX_PAGE, MATRIX_PAGES, BenchQuery, QueryCheckError, bench_queries
from bench.report import Context, load_average, results_markdown, tables, targets_table
from bench.results import write_keeping_sections
from bench.seed import ENVIRONMENT_SLUGS, DatabaseInfo, Sizes, lookup_slug, prepare_database
from bench.server import PavedServer, ServerError, ServerProcess, find_paved
from bench.statements import StatementCount
from bench.systems import FLOOR, LABELS, PAVED, POSTGRAPHILE, SYSTEMS, parse_systems
from bench.targets import evaluate

log = logging.getLogger("bench")

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
WORK_DIR = BENCH_DIR / ".work"
RESULTS_PATH = BENCH_DIR / "RESULTS.md"
READY_TIMEOUT_SECONDS = 90.0
WRK_THREADS = 2
WRK_TIMEOUT_SECONDS = 10
DEFAULT_RATE_GUESS = 500.0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _not_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, not {value}")
    return value


def _systems(text: str) -> tuple[str, ...]:
    try:
        return parse_systems(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--services", type=_positive, default=10_000, help="default 10000")
    parser.add_argument("--teams", type=_positive, default=500, help="default 500")
    parser.add_argument("--users", type=_positive, default=5_000, help="default 5000")
    parser.add_argument(
        "--deployments",
        type=_not_negative,
        default=1_000_000,
        help="deployment history to seed over services x 4 environments (default 1000000)",
    )
    parser.add_argument(
        "--duration", type=_positive, default=10, help="measured seconds per run (default 10)"
    )
    parser.add_argument(
        "--warmup", type=_not_negative, default=3, help="warm-up seconds before each run (3)"
    )
    parser.add_argument(
        "--connections", type=_positive, default=16, help="wrk connections (default 16)"
    )
    parser.add_argument(
        "--repeat", type=_positive, default=3, help="measured runs per query (default 3)"
    )
    parser.add_argument(
        "--latency-requests",
        type=_positive,
        default=200,
        help="sequential single-client requests of the release matrix (default 200)",
    )
    parser.add_argument(
        "--systems",
        type=_systems,
        default=SYSTEMS,
        help=f"comma-separated systems to run (default {','.join(SYSTEMS)})",
    )
    parser.add_argument(
        "--skip-memory",
        action="store_true",
        help="skip Paved Road's RSS after 10,000 and 100,000 requests",
    )
    return parser.parse_args(argv)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _output(command: Sequence[str]) -> str:
    try:
        completed = subprocess.run(
            list(command), capture_output=True, text=True, check=False, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return (completed.stdout or completed.stderr).strip()


def _wrk_version(wrk: str) -> str:
    first = _output([wrk, "-v"]).splitlines()
    return first[0].split(" Copyright")[0] if first else "wrk"


def _paved_version() -> str:
    try:
        version = metadata.version("pavedroad")
    except metadata.PackageNotFoundError:
        version = "unknown"
    commit = _output(["git", "-C", str(REPO_DIR), "rev-parse", "--short", "HEAD"])
    if not commit:
        return version
    dirty = _output(["git", "-C", str(REPO_DIR), "status", "--porcelain", "--untracked-files=no"])
    return f"{version}, commit {commit}" + (" with uncommitted changes" if dirty else "")


def _versions(
    args: argparse.Namespace, wrk: str, info: DatabaseInfo, node: Path | None
) -> list[tuple[str, str]]:
    versions = [
        ("Python", platform.python_version()),
        ("Paved Road", _paved_version()),
        ("PostgreSQL", info.server_version),
    ]
    if POSTGRAPHILE in args.systems and node is not None:
        versions += [
            ("Node.js", f"{peer.node_version(node)} (npm package `node`)"),
            (
                "PostGraphile",
                f"{peer.postgraphile_version()} (preset `postgraphile/presets/amber`)",
            ),
        ]
    versions.append(("wrk", _wrk_version(wrk)))
    return versions


def _method(args: argparse.Namespace, info: DatabaseInfo, memory: bool) -> list[str]:
    lines = [
        f"load generator: wrk, {WRK_THREADS} threads, {args.connections} connections, "
        f"`--latency`, `--timeout {WRK_TIMEOUT_SECONDS}s`, over loopback",
        f"per repetition, query and system: a {args.warmup} s warm-up run (discarded), then a "
        f"{args.duration} s measured run; {args.repeat} "
        f"{'repetition' if args.repeat == 1 else 'repetitions'}, interleaved across "
        "queries and systems (for each repetition: for each query: for each system); each "
        "column is the median over the repetitions",
        "each request: `POST /graphql` with `Content-Type: application/json` and body "
        '`{"query": ...}`; before any load each query was checked on each system (HTTP 200, '
        "no `errors`, non-empty data)",
        "Paved Road: `paved serve --no-demo` (one uvicorn worker, development mode: no "
        "credential needed on loopback) with `DATABASE_URL`, the rate limiter on but with a "
        "bucket of 10^9 points and 64 requests at once per actor (the one bench client stands "
        "for many), other settings default (asyncpg pool of 2 to 10 connections)",
    ]
    if POSTGRAPHILE in args.systems:
        lines += [
            "PostGraphile: one Node.js process running `bench/peer/server.mjs` "
            "(`postgraphile()` + grafserv on `node:http`), `NODE_ENV` and `GRAPHILE_ENV` "
            "production, no GraphiQL, "
            "no watch mode, no explain, no websockets, node-postgres pool of at most 10 "
            "connections, same `DATABASE_URL`",
            "PostGraphile's schema is the one its users would give this catalog "
            "(`bench/peer/schema.sql`, bench-only SQL applied after seeding): `owner`, "
            "`ownersList`, `dependsOnList` and `currentDeploymentsList` are relations to views "
            "with smart-tagged foreign keys (`@primaryKey`, `@foreignKey`), no computed columns, "
            "so PostGraphile inlines each into its one statement; lists ordered by `orderBy` on "
            "the views' columns with Paved Road's order; its page order is "
            "`[NAME_ASC, ROW_ID_ASC]` like Paved Road's name, id",
            "PostGraphile's release matrix is its page of services with "
            "`currentDeploymentsList(orderBy: ENVIRONMENT_ID_ASC)` (the SUCCEEDED deployment per "
            "environment; the bench asks for all four, in id order) and each one's "
            "`environment`; the comparison maps it to Paved Road's rows and cells",
        ]
    if FLOOR in args.systems:
        lines.append(
            "floor: `python -m bench.floor`, a bare ASGI app on uvicorn (one worker, asyncpg "
            "pool of at most 10 connections) that answers each query's exact body with one "
            "hand-written SQL statement building Paved Road's JSON answer (`json_build_object`, "
            "`json_agg`); no GraphQL parsing, validation or execution, no auth, no rate limit: "
            "the limit a GraphQL server on this database and HTTP stack can approach (no walk "
            "with cursors, so not in the one-client table)"
        )
    if len(args.systems) > 1:
        lines.append(
            "equivalence: each query's answers from every system were mapped to one plain "
            "structure (PostGraphile's reshaped to Paved Road's fields, global ids only "
            "checked non-empty) and had to be equal before any load"
        )
    if info.statements_available:
        lines.append(
            "SQL per request: pg_stat_statements calls over 20 sequential requests per query "
            "and system (the others idle; Paved Road's background work, small, included); "
            "'SQL statements' leaves out BEGIN/COMMIT/SET "
            "and the statements a pool runs to reset a connection, 'incl. housekeeping' "
            "counts all; for the release matrix also over one walk of its first pages"
        )
    lines.append(
        f"release matrix: `first` is at most {MATRIX_PAGE} in both systems, so the issue's "
        f"500 services x 4 environments is measured as a page of {MATRIX_PAGE} (under wrk "
        f"like the other queries, and from one client: {args.latency_requests} sequential "
        "requests on one keep-alive connection after 10 warm-up requests, nothing else "
        f"running, nearest-rank p50/p99) and as {MATRIX_PAGES} pages walked one after the "
        f"other with the cursor each page returns ({MATRIX_PAGES * MATRIX_PAGE} services; "
        "5 walks, median and slowest total)"
    )
    if memory:
        lines.append(
            "memory: after the load runs, a fresh `paved serve` takes "
            f"{' then '.join(f'{c:,}' for c in CHECKPOINTS)} requests in all of the first "
            "query (wrk threads stop at a quota), VmRSS read at each checkpoint"
        )
    return lines


def _start(server: ServerProcess, stack: contextlib.ExitStack) -> ServerProcess:
    stack.callback(server.stop)
    log.info("%s ready in %.1f s", server.name, server.wait_ready(READY_TIMEOUT_SECONDS))
    return server


def _start_servers(
    args: argparse.Namespace,
    dsn: str,
    paved: Path,
    node: Path | None,
    lookup: str,
    stack: contextlib.ExitStack,
) -> dict[str, ServerProcess]:
    servers: dict[str, ServerProcess] = {}
    if PAVED in args.systems:
        servers[PAVED] = _start(PavedServer(paved, dsn, WORK_DIR / "server.log", REPO_DIR), stack)
    if POSTGRAPHILE in args.systems and node is not None:
        server = peer.PostGraphileServer(node, dsn, WORK_DIR / "postgraphile.log")
        servers[POSTGRAPHILE] = _start(server, stack)
    if FLOOR in args.systems:
        floor = FloorServer(dsn, lookup, WORK_DIR / "floor.log", REPO_DIR)
        servers[FLOOR] = _start(floor, stack)
    return servers


def _rss(servers: dict[str, ServerProcess]) -> dict[str, int]:
    found: dict[str, int] = {}
    for system, server in servers.items():
        with contextlib.suppress(LoadError):
            found[system] = vm_rss_kib(server.pid)
    return found


def _measure_memory(
    args: argparse.Namespace,
    dsn: str,
    paved: Path,
    query: BenchQuery,
    wrk: str,
    rate_guess: float,
) -> MemoryResult:
    settings = WrkSettings(args.connections, WRK_THREADS, WRK_TIMEOUT_SECONDS)
    with contextlib.ExitStack() as stack:
        server = _start(PavedServer(paved, dsn, WORK_DIR / "server-memory.log", REPO_DIR), stack)
        body = query.body(PAVED)
        driver = RequestDriver(wrk, server.graphql_url, body, settings, WORK_DIR / "memory.lua")
        return measure_rss(driver, server.pid, query.title, rate_guess)


def _execute(args: argparse.Namespace, database: BenchDatabase) -> int:
    load_before = load_average()
    wrk = find_wrk()
    paved = find_paved(REPO_DIR)
    node = peer.ensure_installed() if POSTGRAPHILE in args.systems else None
    sizes = Sizes(
        services=args.services, teams=args.teams, users=args.users, deployments=args.deployments
    )
    dsn = database.start()
    info = asyncio.run(prepare_database(dsn, sizes))
    if node is not None:
        peer.apply_schema(dsn)
    queries = bench_queries(lookup_slug(sizes), ENVIRONMENT_SLUGS)
    plan = LoadPlan(
        WrkSettings(args.connections, WRK_THREADS, WRK_TIMEOUT_SECONDS),
        args.warmup,
        args.duration,
        args.repeat,
    )
    with contextlib.ExitStack() as stack:
        servers = _start_servers(args, dsn, paved, node, lookup_slug(sizes), stack)
        check_answers(servers, queries)
        counts: dict[tuple[str, str], StatementCount] = {}
        if info.statements_available:
            counts = count_all(servers, dsn, queries)
        statements_dsn = dsn if info.statements_available else None
        single = measure_single_client(servers, statements_dsn, queries, args.latency_requests)
        loads = run_load(servers, queries, plan, wrk, WORK_DIR)
        peak_rss = _rss(servers)
    results = summarize(queries, list(servers), loads, counts, single)
    print(tables(results))
    memory: MemoryResult | None = None
    if PAVED in args.systems and not args.skip_memory:
        lookup = results[0].rows[PAVED].requests_per_second
        memory = _measure_memory(args, dsn, paved, queries[0], wrk, lookup or DEFAULT_RATE_GUESS)
    return _write(args, database, info, results, memory, wrk, node, peak_rss, load_before)


def _write(
    args: argparse.Namespace,
    database: BenchDatabase,
    info: DatabaseInfo,
    results: list[QueryResult],
    memory: MemoryResult | None,
    wrk: str,
    node: Path | None,
    peak_rss: dict[str, int],
    load_before: str,
) -> int:
    targets = evaluate(results, memory)
    print(targets_table(targets))
    context = Context(
        versions=_versions(args, wrk, info, node),
        row_counts=info.row_counts,
        seed_seconds=info.seconds,
        method=_method(args, info, memory is not None),
        database="embedded PostgreSQL (bench/.work/pg)"
        if database.embedded
        else "BENCH_DATABASE_URL",
        systems=args.systems,
        peak_rss_kib=peak_rss,
        load_average=(load_before, load_average()),
    )
    command = shlex.join(["python", "-m", "bench.run", *sys.argv[1:]])
    write_keeping_sections(results_markdown(results, targets, memory, context, command))
    log.info("wrote %s", RESULTS_PATH)
    failed = any(row.failures for result in results for row in result.rows.values())
    if memory is not None and memory.failures:
        failed = True
    if failed:
        log.error("some requests failed during the load; see the errors in %s", RESULTS_PATH)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    log.setLevel(logging.INFO)
    signal.signal(signal.SIGTERM, _on_sigterm)
    log.info("systems: %s", ", ".join(LABELS[system] for system in args.systems))
    database = BenchDatabase(WORK_DIR)
    try:
        return _execute(args, database)
    except (LoadError, QueryCheckError, ServerError, EquivalenceError) as error:
        log.error("%s", error)
        return 1
    except KeyboardInterrupt:
        log.error("interrupted; stopping what the run started")
        return 130
    finally:
        database.stop()


if __name__ == "__main__":
    sys.exit(main())
