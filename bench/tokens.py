"""`python -m bench.tokens` (`make bench-tokens`): what a bearer API token costs.

The three catalog reads of `bench.run` (single lookup, page of 50, page of 100), each sent to
one `paved serve` without a credential (the local admin of development mode) and with a READ
token of a seeded user (`Authorization: Bearer paved_...`), and to PostGraphile anonymous when
it can run here (`bench/peer`, `npm ci`); SQL statements per request with
`pg_stat_statements`, then wrk load interleaved as in `bench.run` (for each repetition, each
query, each variant: a warm-up, then a measured run). Writes the section "API tokens" of
`bench/RESULTS.md`.

The database is reseeded as `bench.run` seeds it, without deployments by default (the
catalog reads do not read them; `--deployments` to add them)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import logging
import os
import shlex
import signal
import statistics
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

import asyncpg

from bench import peer
from bench.cpu import process_seconds
from bench.database import BenchDatabase
from bench.load import LoadError, WrkResult, WrkSettings, find_wrk, run_wrk, write_script
from bench.queries import BenchQuery, QueryCheckError, bench_queries, parse_answer
from bench.results import replace_section
from bench.seed import ENVIRONMENT_SLUGS, Sizes, lookup_slug, prepare_database, slug_width
from bench.server import PavedServer, ServerError, ServerProcess, find_paved
from bench.systems import PAVED, POSTGRAPHILE
from domain.access.tokens import new_token

log = logging.getLogger("bench")

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
WORK_DIR = BENCH_DIR / ".work"
SECTION = "API tokens"
READY_TIMEOUT_SECONDS = 120.0
WRK_THREADS = 2
WRK_TIMEOUT_SECONDS = 10
WARM_REQUESTS = 5
TARGET_RATIO = 1.2

ANONYMOUS = "paved"
TOKEN = "paved+token"
PEER = "postgraphile"
LABELS = {
    ANONYMOUS: "Paved Road, no credential",
    TOKEN: "Paved Road, READ token",
    PEER: "PostGraphile, anonymous",
}


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    server: ServerProcess
    schema: str  # whose query documents: PAVED or POSTGRAPHILE
    headers: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Row:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    runs: list[float]
    statements: Statements | None
    failures: int
    cpu_ms: float
    """The server process's CPU time per request, over sequential requests from one client:
    what the machine's other load changes least."""


# The single lookup once more, the service drawn at random for each request (a variable, so
# the text stays the same): no two requests in a row are likely to ask for the same row.
RANDOM_LOOKUP = {
    PAVED: "query($slug: String!) { service(slug: $slug) { id slug name owner { slug name } } }",
    POSTGRAPHILE: "query($slug: String!) { serviceBySlug(slug: $slug) "
    "{ id slug name owner { team { slug name } } } }",
}
_RANDOM_REQUEST = """
local query = [==[{query}]==]
request = function()
  local slug = string.format("svc-%0{width}d", math.random({services}))
  return wrk.format(nil, nil, nil,
    '{{"query":' .. query .. ',"variables":{{"slug":"' .. slug .. '"}}}}')
end
"""

CPU_REQUESTS = 1_000


def _cpu_per_request(variant: Variant, body: bytes) -> float:
    """Milliseconds of the server's CPU per request over `CPU_REQUESTS` sequential ones on
    one keep-alive connection (after a warm-up)."""
    parts = urlsplit(variant.server.graphql_url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    headers = {"Content-Type": "application/json", **variant.headers}

    def send() -> None:
        connection.request("POST", parts.path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise QueryCheckError(f"HTTP {response.status} from {variant.server.graphql_url}")

    try:
        for _ in range(50):
            send()
        before = process_seconds(variant.server.pid)
        for _ in range(CPU_REQUESTS):
            send()
        return (process_seconds(variant.server.pid) - before) * 1000 / CPU_REQUESTS
    finally:
        connection.close()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.tokens", description=__doc__)
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--teams", type=int, default=500)
    parser.add_argument("--users", type=int, default=5_000)
    parser.add_argument("--deployments", type=int, default=0)
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured run")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per run")
    parser.add_argument("--repeat", type=int, default=3, help="measured runs per cell")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--no-peer", action="store_true", help="leave PostGraphile out (no Node.js needed)"
    )
    return parser.parse_args(argv)


async def _issue_token(dsn: str) -> str:
    """A READ token of the first seeded user (stored as the product stores it: a hash)."""
    issued = new_token()
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(
            "INSERT INTO api_tokens (prefix, secret_hash, name, user_id, scopes) "
            "SELECT $1, $2, 'bench', min(id), ARRAY['read'] FROM users",
            issued.prefix,
            issued.secret_hash,
        )
    finally:
        await connection.close()
    return issued.secret


def _post(url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), bytes(error.read())


def _start(server: ServerProcess, stack: contextlib.ExitStack) -> ServerProcess:
    stack.callback(server.stop)
    log.info("%s ready in %.1f s", server.name, server.wait_ready(READY_TIMEOUT_SECONDS))
    return server


def _peer(dsn: str, stack: contextlib.ExitStack) -> tuple[ServerProcess | None, str]:
    """PostGraphile started, or None and why not."""
    try:
        node = peer.ensure_installed()
        peer.apply_schema(dsn)
        server = peer.PostGraphileServer(node, dsn, WORK_DIR / "tokens-postgraphile.log")
        return _start(server, stack), f"{peer.postgraphile_version()} on {peer.node_version(node)}"
    except (ServerError, OSError) as error:
        log.warning("PostGraphile cannot run here: %s", error)
        return None, f"not run: {error}"


# What the server runs in the background whatever the requests (the outbox's polling
# fallback, the webhook worker, leases and sweeps, the audit sealer's check for unsealed
# records, the token cache's batched last-use write, the LISTEN connections' `SELECT 1`
# probes); none of the catalog reads measured here names these tables.
_BACKGROUND = (
    " events",
    "webhook",
    "deployments",
    "resources",
    "audit_events",
    "last_used_at = greatest",
    "pg_notify",
)
# asyncpg's own statements on a connection's first use of a type it does not know yet (its
# type introspection, with JIT turned off around it): set-up of a connection, not work of
# a request.
_CONNECTION_SETUP = ("typeinfo_tree", "set_config(")
_TOKEN_LOOKUP = "FROM api_tokens t"
_HOUSEKEEPING = (
    "begin",
    "commit",
    "rollback",
    "set ",
    "show ",
    "reset all",
    "unlisten",
    "close all",
)


@dataclass(frozen=True, slots=True)
class Statements:
    """Per request over `COUNT_REQUESTS` sequential requests: the request's statements (the
    token's lookup included), the token lookups among them, and the background's."""

    per_request: float
    token_lookups: float
    background: float


COUNT_REQUESTS = 200


async def _reset_statements(dsn: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("SELECT pg_stat_statements_reset()")
    finally:
        await connection.close()


async def _statements(dsn: str) -> list[tuple[str, int]]:
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            "SELECT query, calls FROM pg_stat_statements WHERE dbid = "
            "(SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND query NOT ILIKE '%pg_stat_statements%'"
        )
    finally:
        await connection.close()
    return [(str(row["query"]), int(row["calls"])) for row in rows]


def _count(dsn: str, variant: Variant, query: BenchQuery) -> Statements:
    body = query.body(variant.schema)

    def send() -> object:
        return _post(variant.server.graphql_url, body, variant.headers)

    for _ in range(WARM_REQUESTS):
        send()
    asyncio.run(_reset_statements(dsn))
    for _ in range(COUNT_REQUESTS):
        send()
    found = asyncio.run(_statements(dsn))
    request = background = lookups = 0
    for text, calls in found:
        lowered = text.lstrip().lower()
        if (
            lowered.startswith(_HOUSEKEEPING)
            or "pg_advisory_unlock_all" in text
            or any(marker in text for marker in _CONNECTION_SETUP)
        ):
            continue
        if any(marker in text for marker in _BACKGROUND) or lowered.rstrip("; ") == "select $1":
            background += calls
            continue
        request += calls
        if _TOKEN_LOOKUP in text:
            lookups += calls
    return Statements(
        request / COUNT_REQUESTS, lookups / COUNT_REQUESTS, background / COUNT_REQUESTS
    )


def _measure(
    args: argparse.Namespace,
    dsn: str,
    statements: bool,
    variants: list[Variant],
    queries: list[BenchQuery],
    wrk: str,
) -> dict[tuple[str, str], Row]:
    for query in queries:
        for variant in variants:
            body = query.body(variant.schema)
            label = f"{query.title} ({LABELS[variant.name]})"
            parse_answer(label, *_post(variant.server.graphql_url, body, variant.headers))
    counts = {(q.key, v.name): _count(dsn, v, q) for q in queries for v in variants if statements}
    settings = WrkSettings(args.connections, WRK_THREADS, WRK_TIMEOUT_SECONDS)
    scripts = {
        (q.key, v.name): write_script(
            WORK_DIR / f"tokens-{q.key}-{v.name.replace('+', '-')}.lua",
            q.body(v.schema),
            headers=v.headers,
        )
        for q in queries
        for v in variants
    }
    cpu = {
        (q.key, v.name): _cpu_per_request(v, q.body(v.schema)) for q in queries for v in variants
    }
    runs: dict[tuple[str, str], list[WrkResult]] = {key: [] for key in scripts}
    for repetition in range(1, args.repeat + 1):
        for query in queries:
            for variant in variants:
                url, script = variant.server.graphql_url, scripts[query.key, variant.name]
                variant.server.require_running()
                if args.warmup:
                    run_wrk(wrk, script, url, settings, args.warmup)
                result = run_wrk(wrk, script, url, settings, args.duration)
                runs[query.key, variant.name].append(result)
                log.info(
                    "run %d/%d %s, %s: %.1f req/s, p50 %.2f ms, p99 %.2f ms",
                    repetition, args.repeat, query.title, LABELS[variant.name],
                    result.requests_per_second, result.p50_ms, result.p99_ms,
                )  # fmt: skip
    return {key: _medians(found, counts.get(key), cpu[key]) for key, found in runs.items()}


def _medians(found: list[WrkResult], statements: Statements | None, cpu_ms: float) -> Row:
    """A cell's row: the medians of its runs."""
    return Row(
        requests_per_second=statistics.median(r.requests_per_second for r in found),
        p50_ms=statistics.median(r.p50_ms for r in found),
        p99_ms=statistics.median(r.p99_ms for r in found),
        runs=[r.requests_per_second for r in found],
        statements=statements,
        failures=sum(r.non_2xx + r.socket_errors for r in found),
        cpu_ms=cpu_ms,
    )


def _random_lookups(args: argparse.Namespace, variants: list[Variant], wrk: str) -> dict[str, Row]:
    """The single lookup of a service drawn at random per request, with a token and from
    PostGraphile: medians of `--repeat` runs."""
    measured = [v for v in variants if v.name != ANONYMOUS]
    settings = WrkSettings(args.connections, WRK_THREADS, WRK_TIMEOUT_SECONDS)
    width = slug_width(args.services)
    scripts = {}
    for variant in measured:
        document = RANDOM_LOOKUP[variant.schema]
        body = json.dumps({"query": document, "variables": {"slug": f"svc-{1:0{width}d}"}})
        answer = _post(variant.server.graphql_url, body.encode(), variant.headers)
        parse_answer(f"random lookup ({LABELS[variant.name]})", *answer)
        request = _RANDOM_REQUEST.format(
            query=json.dumps(document), width=width, services=args.services
        )
        scripts[variant.name] = write_script(
            WORK_DIR / f"tokens-random-{variant.name.replace('+', '-')}.lua",
            b"",
            headers=variant.headers,
            request=request,
        )
    runs: dict[str, list[WrkResult]] = {variant.name: [] for variant in measured}
    for repetition in range(1, args.repeat + 1):
        for variant in measured:
            url = variant.server.graphql_url
            if args.warmup:
                run_wrk(wrk, scripts[variant.name], url, settings, args.warmup)
            result = run_wrk(wrk, scripts[variant.name], url, settings, args.duration)
            runs[variant.name].append(result)
            log.info(
                "run %d/%d random lookup, %s: %.1f req/s, p50 %.2f ms, p99 %.2f ms",
                repetition, args.repeat, LABELS[variant.name],
                result.requests_per_second, result.p50_ms, result.p99_ms,
            )  # fmt: skip
    return {name: _medians(found, None, 0.0) for name, found in runs.items()}


def _markdown(
    args: argparse.Namespace,
    queries: list[BenchQuery],
    variants: list[Variant],
    rows: dict[tuple[str, str], Row],
    peer_note: str,
    load: tuple[float, float],
    random: dict[str, Row],
) -> str:
    names = [v.name for v in variants]
    lines = [
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC  ",
        f"Command: `{shlex.join(['python', '-m', 'bench.tokens', *sys.argv[1:]])}`  ",
        f"PostGraphile: {peer_note}  ",
        f"Machine: {os.cpu_count()} CPUs; load average (1 min) {load[0]:.2f} before the run, "
        f"{load[1]:.2f} after (other work shares this machine: compare columns of one run)",
        "",
        "One `paved serve --no-demo` (development mode, one uvicorn worker, default settings "
        "but for the rate limiter's bucket of 10^9 points and 64 requests at once per actor, "
        "as the one bench client stands for many; token cache on) answers each query "
        "without a credential and with a READ token of a "
        "seeded user (`Authorization: Bearer paved_...`); PostGraphile answers anonymously. "
        f"wrk, {WRK_THREADS} threads, {args.connections} connections, a {args.warmup} s "
        f"warm-up then a {args.duration} s measured run per cell, {args.repeat} repetitions "
        "interleaved (for each repetition: for each query: for each variant); medians. SQL "
        f"statements per request: pg_stat_statements over {COUNT_REQUESTS} sequential "
        f"requests after {WARM_REQUESTS} warm-up ones, the token's lookups included; "
        "BEGIN/COMMIT/SET, pool resets, asyncpg's type introspection on a connection's first "
        "use of a type and what the server runs in the background whatever the requests (the "
        "outbox's polling fallback, the webhook worker, sweeps, the audit sealer's check, the "
        "token cache's batched last-use write: statements on tables these reads never name; "
        "the LISTEN connections' `SELECT 1` probes) left out, the "
        "background's given per variant below. The load generator, both servers and "
        "PostgreSQL share the machine.",
        "",
        "| query | " + " | ".join(f"{LABELS[n]} req/s" for n in names)
        + " | token / PostGraphile | token / no credential | "
        + " | ".join(f"SQL/request ({LABELS[n]})" for n in names) + " |",
        "|---|" + "---:|" * (2 * len(names) + 2),
    ]  # fmt: skip
    for query in queries:
        cells = [f"{rows[query.key, n].requests_per_second:,.1f}" for n in names]
        token = rows[query.key, TOKEN].requests_per_second
        anonymous = rows[query.key, ANONYMOUS].requests_per_second
        peer_row = rows.get((query.key, PEER))
        versus_peer = (
            f"{token / peer_row.requests_per_second:.2f}x"
            if peer_row and peer_row.requests_per_second
            else "n/a"
        )
        sql = []
        for name in names:
            counted = rows[query.key, name].statements
            sql.append("n/a" if counted is None else f"{counted.per_request:.2f}")
        lines.append(
            f"| {query.title} | {' | '.join(cells)} | {versus_peer} | "
            f"{token / anonymous:.2f}x | {' | '.join(sql)} |"
        )
    lines += [
        "",
        f"The server's CPU per request (ms; {CPU_REQUESTS:,} sequential requests from one "
        "client on a keep-alive connection, /proc utime + stime of the server process; less "
        "sensitive to the machine's other load than req/s):",
        "",
        "| query | " + " | ".join(LABELS[n] for n in names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    for query in queries:
        cells = [f"{rows[query.key, n].cpu_ms:.3f}" for n in names]
        lines.append(f"| {query.title} | {' | '.join(cells)} |")
    lines += ["", "p50 / p99 (ms) and each run's req/s:", ""]
    for query in queries:
        for name in names:
            row = rows[query.key, name]
            runs = ", ".join(f"{r:,.0f}" for r in row.runs)
            failures = f"; {row.failures} failed requests" if row.failures else ""
            background = (
                ""
                if row.statements is None
                else f"; background statements per request {row.statements.background:.3f}"
            )
            lines.append(
                f"- {query.title}, {LABELS[name]}: {row.p50_ms:.2f} / {row.p99_ms:.2f}; "
                f"runs {runs}{failures}{background}"
            )
    if random:
        lines += [
            "",
            "The single lookup again, the service drawn at random among the "
            f"{args.services:,} for each request (`$slug` a variable, so the text stays the "
            "same; concurrent lookups then ask for different rows):",
            "",
            "| query | system | req/s | p50 ms | p99 ms | runs |",
            "|---|---|---:|---:|---:|---|",
        ]
        for name, row in random.items():
            runs = ", ".join(f"{r:,.0f}" for r in row.runs)
            lines.append(
                f"| random service by slug with owner | {LABELS[name]} | "
                f"{row.requests_per_second:,.1f} | {row.p50_ms:.2f} | {row.p99_ms:.2f} | {runs} |"
            )
        if TOKEN in random and PEER in random and random[PEER].requests_per_second:
            ratio = random[TOKEN].requests_per_second / random[PEER].requests_per_second
            lines += ["", f"Random lookups, token / PostGraphile: {ratio:.2f}x."]
    lookup = queries[0]
    token_row, peer_row = rows[lookup.key, TOKEN], rows.get((lookup.key, PEER))
    counted_sql = token_row.statements
    target = f"Target: single lookup with a token ≥ {TARGET_RATIO:.1f}x PostGraphile's req/s"
    if peer_row is None:
        lines += ["", f"{target}: not measured (PostGraphile did not run)."]
    else:
        ratio = token_row.requests_per_second / peer_row.requests_per_second
        verdict = "met" if ratio >= TARGET_RATIO else "NOT met"
        lines += ["", f"{target}: {ratio:.2f}x, {verdict}."]
    if counted_sql is not None:
        verdict = "met" if counted_sql.per_request < 1.01 else "NOT met"
        lines.append(
            "Target: 1 SQL statement per request with a token: "
            f"{counted_sql.per_request:.3f} ({counted_sql.token_lookups:.3f} token lookups per "
            f"request), {verdict}."
        )
    return "\n".join(lines)


def _execute(args: argparse.Namespace, database: BenchDatabase) -> int:
    wrk = find_wrk()
    paved = find_paved(REPO_DIR)
    sizes = Sizes(args.services, args.teams, args.users, args.deployments)
    dsn = database.start()
    info = asyncio.run(prepare_database(dsn, sizes))
    secret = asyncio.run(_issue_token(dsn))
    load = os.getloadavg()[0]
    queries = bench_queries(lookup_slug(sizes), ENVIRONMENT_SLUGS)[:3]
    with contextlib.ExitStack() as stack:
        # This checkout's code, whatever the console script was installed from.
        server = PavedServer(
            paved, dsn, WORK_DIR / "tokens-server.log", REPO_DIR, {"PYTHONPATH": str(REPO_DIR)}
        )
        _start(server, stack)
        variants = [
            Variant(ANONYMOUS, server, PAVED, {}),
            Variant(TOKEN, server, PAVED, {"Authorization": f"Bearer {secret}"}),
        ]
        peer_server, peer_note = (
            (None, "left out (--no-peer)") if args.no_peer else _peer(dsn, stack)
        )
        if peer_server is not None:
            variants.append(Variant(PEER, peer_server, POSTGRAPHILE, {}))
        rows = _measure(args, dsn, info.statements_available, variants, queries, wrk)
        random = _random_lookups(args, variants, wrk)
    markdown = _markdown(
        args, queries, variants, rows, peer_note, (load, os.getloadavg()[0]), random
    )
    print(markdown)
    replace_section(SECTION, markdown)
    log.info("wrote the section %r of bench/RESULTS.md", SECTION)
    failed = any(row.failures for row in [*rows.values(), *random.values()])
    return 1 if failed else 0


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


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
