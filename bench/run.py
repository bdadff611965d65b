"""`python -m bench.run`: seed a large catalog, serve it with `paved serve`, load three
GraphQL queries with wrk and write the medians to `bench/RESULTS.md`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import shlex
import signal
import statistics
import subprocess
import sys
from pathlib import Path
from types import FrameType

from bench.database import BenchDatabase
from bench.load import LoadError, WrkResult, WrkSettings, find_wrk, run_wrk, write_script
from bench.queries import BenchQuery, QueryCheckError, bench_queries, check_query, post_graphql
from bench.report import Context, Row, results_markdown, table
from bench.seed import DatabaseInfo, Sizes, lookup_slug, prepare_database
from bench.server import PavedServer, ServerError, find_paved
from bench.statements import StatementCount, count_statements

log = logging.getLogger("bench")

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
WORK_DIR = BENCH_DIR / ".work"
RESULTS_PATH = BENCH_DIR / "RESULTS.md"
READY_TIMEOUT_SECONDS = 60.0
WRK_THREADS = 2
WRK_TIMEOUT_SECONDS = 10
STATEMENT_SAMPLE_REQUESTS = 20


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


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--services", type=_positive, default=10_000, help="default 10000")
    parser.add_argument("--teams", type=_positive, default=500, help="default 500")
    parser.add_argument("--users", type=_positive, default=5_000, help="default 5000")
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
    return parser.parse_args(argv)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _wrk_version(wrk: str) -> str:
    completed = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
    first = (completed.stdout or completed.stderr).strip().splitlines()
    return first[0].split(" Copyright")[0] if first else "wrk"


def _median_row(query: BenchQuery, results: list[WrkResult], count: StatementCount | None) -> Row:
    return Row(
        title=query.title,
        requests_per_second=statistics.median(r.requests_per_second for r in results),
        p50_ms=statistics.median(r.p50_ms for r in results),
        p99_ms=statistics.median(r.p99_ms for r in results),
        runs=[r.requests_per_second for r in results],
        queries_per_request=None if count is None else count.queries,
        statements_per_request=None if count is None else count.total,
        failures=sum(r.non_2xx + r.socket_errors for r in results),
    )


def _check_and_count(
    server: PavedServer, dsn: str, queries: list[BenchQuery], info: DatabaseInfo
) -> dict[str, StatementCount]:
    counts: dict[str, StatementCount] = {}
    for query in queries:
        try:
            size = check_query(server.graphql_url, query)
        except QueryCheckError as error:
            raise QueryCheckError(f"{error}\n(server log: {server.log_path})") from error
        log.info("checked %s: HTTP 200, no errors, %d bytes", query.title, size)
    if not info.statements_available:
        return counts
    for query in queries:
        body = query.body()

        def send(body: bytes = body) -> object:
            return post_graphql(server.graphql_url, body)

        for _ in range(5):  # warm the pool's connections and prepared statements first
            send()
        counts[query.key] = count_statements(dsn, send, STATEMENT_SAMPLE_REQUESTS)
        log.info(
            "%s: %.1f SQL queries per request (%.1f statements in all)",
            query.title,
            counts[query.key].queries,
            counts[query.key].total,
        )
    return counts


def _load(
    server: PavedServer, queries: list[BenchQuery], args: argparse.Namespace, wrk: str
) -> dict[str, list[WrkResult]]:
    settings = WrkSettings(args.connections, WRK_THREADS, WRK_TIMEOUT_SECONDS)
    scripts = {q.key: write_script(WORK_DIR / f"{q.key}.lua", q.body()) for q in queries}
    results: dict[str, list[WrkResult]] = {q.key: [] for q in queries}
    for repetition in range(1, args.repeat + 1):
        for query in queries:
            script = scripts[query.key]
            if args.warmup:
                run_wrk(wrk, script, server.graphql_url, settings, args.warmup)
            result = run_wrk(wrk, script, server.graphql_url, settings, args.duration)
            results[query.key].append(result)
            log.info(
                "run %d/%d %s: %.1f req/s, p50 %.2f ms, p99 %.2f ms%s",
                repetition,
                args.repeat,
                query.title,
                result.requests_per_second,
                result.p50_ms,
                result.p99_ms,
                f", {result.non_2xx} non-2xx, {result.socket_errors} socket errors"
                if result.non_2xx or result.socket_errors
                else "",
            )
    return results


def _method(args: argparse.Namespace, wrk: str, info: DatabaseInfo) -> list[str]:
    lines = [
        f"load generator: {_wrk_version(wrk)}, {WRK_THREADS} threads, {args.connections} "
        f"connections, `--latency`, `--timeout {WRK_TIMEOUT_SECONDS}s`, over loopback",
        f"per query and repetition: a {args.warmup} s warm-up run (discarded), then a "
        f"{args.duration} s measured run; {args.repeat} repetitions interleaved across the "
        "queries; each column is the median over the repetitions",
        "each request: `POST /graphql` with `Content-Type: application/json` and body "
        '`{"query": ...}`; each query was checked once first (HTTP 200, no `errors`, '
        "non-empty data)",
        "server: `paved serve --no-demo` with `DATABASE_URL`, other settings default",
    ]
    if info.statements_available:
        lines.append(
            f"SQL per request: pg_stat_statements calls over {STATEMENT_SAMPLE_REQUESTS} "
            "sequential requests per query; 'queries' leaves out BEGIN/COMMIT/SET and the "
            "statements asyncpg's pool runs to reset a connection, 'statements' counts all"
        )
    return lines


def _execute(args: argparse.Namespace, database: BenchDatabase) -> int:
    wrk = find_wrk()
    paved = find_paved(REPO_DIR)
    sizes = Sizes(services=args.services, teams=args.teams, users=args.users)
    dsn = database.start()
    info = asyncio.run(prepare_database(dsn, sizes))
    queries = bench_queries(lookup_slug(sizes))
    server = PavedServer(paved, dsn, WORK_DIR / "server.log", REPO_DIR)
    try:
        log.info("paved serve ready in %.1f s", server.wait_ready(READY_TIMEOUT_SECONDS))
        counts = _check_and_count(server, dsn, queries, info)
        results = _load(server, queries, args, wrk)
    finally:
        server.stop()
    rows = [_median_row(q, results[q.key], counts.get(q.key)) for q in queries]
    print(table(rows))
    context = Context(
        server_version=info.server_version,
        row_counts=info.row_counts,
        seed_seconds=info.seconds,
        method=_method(args, wrk, info),
        database="embedded PostgreSQL (bench/.work/pg)"
        if database.embedded
        else "BENCH_DATABASE_URL",
        queries=[(q.title, q.document) for q in queries],
    )
    command = shlex.join(["python", "-m", "bench.run", *sys.argv[1:]])
    RESULTS_PATH.write_text(results_markdown(rows, context, command))
    log.info("wrote %s", RESULTS_PATH)
    return 1 if any(row.failures for row in rows) else 0


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
    finally:
        database.stop()


if __name__ == "__main__":
    sys.exit(main())
