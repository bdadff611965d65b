"""`python -m bench.isolation`: does one actor's flood of the heaviest allowed queries slow
another actor's lookups? Seeds a modest catalog, serves it with `paved serve` (development
mode: anonymous requests are the local admin, one actor per client address) and times one
client's sequential lookups from 127.0.0.2 alone, then while K clients from 127.0.0.1 send
a query just under the node limit in a loop: once with the default per-actor concurrency
bound, once with it effectively off. Writes the table to `bench/ISOLATION.md`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import logging
import os
import platform
import shlex
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import IO

import orjson

from api.query_limits import QueryChecker, QueryLimits, QueryRejected
from api.settings import Settings
from bench.database import BenchDatabase
from bench.flood import Record, outcome
from bench.latency import Client, percentile
from bench.queries import QueryCheckError, graphql_body, parse_answer
from bench.seed import DatabaseInfo, Sizes, lookup_slug, prepare_database
from bench.server import PavedServer, ServerError, ServerProcess, find_paved
from schema.build import build_schema

log = logging.getLogger("bench")

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
WORK_DIR = BENCH_DIR / ".work"
REPORT_PATH = BENCH_DIR / "ISOLATION.md"
READY_TIMEOUT_SECONDS = 90.0

HEAVY_ADDRESS = "127.0.0.1"
"""Actor A's client address (the server listens there too)."""
LOOKUP_ADDRESS = "127.0.0.2"
"""Actor B's: another loopback address, so another actor for the server."""
UNBOUNDED = 1_000
"""PAVED_MAX_CONCURRENT_PER_ACTOR's largest accepted value: more than any client count here."""
CLIENT_TIMEOUT_SECONDS = 30.0
MAX_LOOKUPS = 1_000_000
"""Per phase; the phase's duration ends it long before."""
SERVER_WARM_LOOKUPS = 50
SERVER_WARM_HEAVY = 3
FLOOD_SLACK_SECONDS = 60.0
"""The flood process's own deadline is the phase's length plus this, in case nobody stops it."""

DEFAULT_SIZES = Sizes(services=2_000, teams=100, users=500, deployments=20_000)

LOOKUP_QUERY = '{ service(slug: "%s") { slug name owner { slug } } }'

# The node estimate counts list items (a connection's page, a plain list's bound or 20), not
# the fields selected on each item: every field of the fragment is free, so this is the page
# of 100 services with two nested lists (dependsOn x dependents: 100 x 20 x 20) and as many
# fields and single objects on each service as it holds, just under the default 50,000.
HEAVY_QUERY = (
    "{ services(first: 100) { nodes { ...S dependsOn { ...S dependents { ...S } } "
    "owners { role team { slug name } } dependents { slug } } } } "
    "fragment S on Service { id slug name description lifecycle tier tags repositoryUrl "
    "version createdAt updatedAt owner { id slug name description parent { slug name } } "
    'currentDeployment(environment: "production") { version state finishedAt } }'
)


def _bounded_int(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}, not {value}")
        return value

    return parse


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.isolation", description=__doc__)
    parser.add_argument(
        "--seconds", type=_bounded_int(1, 600), default=20, help="measured seconds per phase (20)"
    )
    parser.add_argument(
        "--heavy-clients",
        type=_bounded_int(1, 64),
        default=12,
        help="actor A's concurrent clients (12)",
    )
    parser.add_argument(
        "--warmup",
        type=_bounded_int(0, 60),
        default=3,
        help="seconds of flood before the lookups are timed (3)",
    )
    parser.add_argument(
        "--services",
        type=_bounded_int(2, 100_000),
        default=DEFAULT_SIZES.services,
        help=f"services to seed ({DEFAULT_SIZES.services})",
    )
    return parser.parse_args(argv)


# --- the server's settings and the heavy query's estimate -----------------------------------


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """The defaults `paved serve` runs with here (the environment may override them)."""

    default_bound: int
    max_nodes: int
    request_timeout_seconds: float
    max_response_bytes: int
    pool_max_size: int


def server_settings() -> ServerSettings:
    settings = Settings()
    default_bound = Settings.model_fields["max_concurrent_per_actor"].default
    return ServerSettings(
        default_bound=int(default_bound),
        max_nodes=settings.max_nodes,
        request_timeout_seconds=settings.request_timeout_seconds,
        max_response_bytes=settings.max_response_bytes,
        pool_max_size=settings.pool_max_size,
    )


def heavy_estimate() -> int:
    """The heavy query's node estimate by the server's own checker and schema, with the
    limits the environment sets; raises QueryRejected if the server would refuse it."""
    settings = Settings()
    limits = QueryLimits(
        max_depth=settings.max_depth,
        max_aliases=settings.max_aliases,
        max_tokens=settings.max_tokens,
        max_nodes=settings.max_nodes,
        max_directives_per_field=settings.max_directives_per_field,
    )
    checker = QueryChecker(build_schema()._schema, limits)
    return checker.check(HEAVY_QUERY, None, None).nodes


# --- actor A: the flood, in its own process ----------------------------------------------------


class FloodProcess:
    """`python -m bench.flood` in its own session (a Ctrl-C reaches only this process, which
    then stops it); `stop` asks it to finish and returns its records."""

    def __init__(self, url: str, body: bytes, clients: int, seconds: float, log_path: Path):
        command = [
            sys.executable,
            "-m",
            "bench.flood",
            url,
            "--body",
            body.decode(),
            "--clients",
            str(clients),
            "--source",
            HEAVY_ADDRESS,
            "--seconds",
            str(seconds),
        ]
        self.log_path = log_path
        self._log: IO[bytes] = log_path.open("wb")
        self.process = subprocess.Popen(
            command,
            cwd=REPO_DIR,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._log,
            start_new_session=True,
        )

    def require_running(self) -> None:
        if self.process.poll() is not None:
            raise ServerError(
                f"the flood exited early with code {self.process.returncode}; see {self.log_path}"
            )

    def stop(self) -> list[Record]:
        self.process.send_signal(signal.SIGTERM)
        try:
            output, _ = self.process.communicate(timeout=90)
        finally:
            self.kill()
        if self.process.returncode != 0:
            raise ServerError(
                f"the flood exited with code {self.process.returncode}; see {self.log_path}"
            )
        return [Record(**item) for item in json.loads(output)]

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        self._log.close()


# --- actor B: sequential lookups -------------------------------------------------------------


@dataclass(slots=True)
class Lookups:
    latencies_ms: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    started: float = 0.0  # time.monotonic()
    ended: float = 0.0


def _lookup_problem(status: int, payload: bytes, slug: str) -> str | None:
    problem = outcome(status, payload)
    if problem is not None:
        return problem
    try:
        found = orjson.loads(payload)["data"]["service"]["slug"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return "unexpected answer"
    return None if found == slug else "wrong service"


def run_lookups(url: str, slug: str, seconds: float) -> Lookups:
    """Sequential lookups on one keep-alive connection from LOOKUP_ADDRESS for `seconds`,
    after one untimed lookup that opens the connection."""
    body = graphql_body(LOOKUP_QUERY % slug)
    client = Client(url, CLIENT_TIMEOUT_SECONDS, LOOKUP_ADDRESS)
    found = Lookups()
    try:
        client.post(body)
        found.started = time.monotonic()
        until = found.started + seconds
        for _ in range(MAX_LOOKUPS):
            if time.monotonic() >= until:
                break
            started = time.perf_counter()
            try:
                status, payload = client.post(body)
            except (OSError, http.client.HTTPException) as error:
                found.failures[type(error).__name__] += 1
                client.close()
                client = Client(url, CLIENT_TIMEOUT_SECONDS, LOOKUP_ADDRESS)
                continue
            elapsed = (time.perf_counter() - started) * 1000
            problem = _lookup_problem(status, payload, slug)
            if problem is None:
                found.latencies_ms.append(elapsed)
            else:
                found.failures[problem] += 1
        found.ended = time.monotonic()
    finally:
        client.close()
    return found


# --- phases --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Phase:
    key: str
    title: str
    bound: int
    flood: bool


@dataclass(frozen=True, slots=True)
class PhaseResult:
    phase: Phase
    lookups: Lookups
    heavy: list[Record] | None  # None: no flood in this phase

    def in_window(self) -> list[Record]:
        return [
            r for r in self.heavy or [] if self.lookups.started <= r.ended <= self.lookups.ended
        ]


@dataclass(frozen=True, slots=True)
class HeavyCheck:
    estimate: int
    cost_charged: int | None
    response_bytes: int
    milliseconds: float


def check_server(url: str, slug: str, estimate: int) -> HeavyCheck:
    """Both queries answer with data (lookup from LOOKUP_ADDRESS, heavy from HEAVY_ADDRESS);
    warms the server's caches and connections; times one heavy query alone."""
    lookup = graphql_body(LOOKUP_QUERY % slug)
    client = Client(url, CLIENT_TIMEOUT_SECONDS, LOOKUP_ADDRESS)
    try:
        for _ in range(SERVER_WARM_LOOKUPS):
            status, payload = client.post(lookup)
            parse_answer("lookup", status, payload)
            if _lookup_problem(status, payload, slug) is not None:
                raise QueryCheckError(f"lookup: unexpected answer {payload[:300]!r}")
    finally:
        client.close()
    heavy = graphql_body(HEAVY_QUERY)
    client = Client(url, CLIENT_TIMEOUT_SECONDS, HEAVY_ADDRESS)
    try:
        for _ in range(SERVER_WARM_HEAVY):
            started = time.perf_counter()
            status, payload = client.post(heavy)
            elapsed = (time.perf_counter() - started) * 1000
            parse_answer("heavy query", status, payload)
    finally:
        client.close()
    cost = orjson.loads(payload).get("extensions", {}).get("cost", {}).get("requested")
    charged = cost if isinstance(cost, int) else None
    if charged != estimate:
        log.warning(
            "the server charged %s for the heavy query, estimated here %s", charged, estimate
        )
    return HeavyCheck(estimate, charged, len(payload), elapsed)


def run_phase(
    server: ServerProcess, phase: Phase, args: argparse.Namespace, slug: str
) -> PhaseResult:
    log.info("phase %s: %s (%d s)", phase.key, phase.title, args.seconds)
    with contextlib.ExitStack() as stack:
        flood: FloodProcess | None = None
        if phase.flood:
            flood = FloodProcess(
                server.graphql_url,
                graphql_body(HEAVY_QUERY),
                args.heavy_clients,
                args.warmup + args.seconds + FLOOD_SLACK_SECONDS,
                WORK_DIR / f"isolation-flood-{phase.key}.log",
            )
            stack.callback(flood.kill)
            time.sleep(args.warmup)
            flood.require_running()
        server.require_running()
        lookups = run_lookups(server.graphql_url, slug, args.seconds)
        heavy = flood.stop() if flood is not None else None
    server.require_running()
    result = PhaseResult(phase, lookups, heavy)
    log.info("phase %s: %s", phase.key, _summary(result))
    return result


def _summary(result: PhaseResult) -> str:
    timings = result.lookups.latencies_ms
    text = f"{len(timings)} lookups"
    if timings:
        text += f", p50 {percentile(timings, 0.5):.1f} ms, p99 {percentile(timings, 0.99):.1f} ms"
    if result.heavy is not None:
        answered = sum(1 for r in result.in_window() if r.outcome is None)
        text += f", {answered} heavy answered"
    return text


# --- the report ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Context:
    command: str
    started: datetime
    machine: list[tuple[str, str]]
    settings: ServerSettings
    heavy: HeavyCheck
    database: DatabaseInfo
    database_kind: str
    args: argparse.Namespace


def _ms(value: float) -> str:
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def _failures(counts: Mapping[str, int]) -> str:
    return "; ".join(f"{n} x {name}" for name, n in sorted(counts.items())) or "none"


def _heavy_cells(result: PhaseResult) -> list[str]:
    if result.heavy is None:
        return ["-", "-", "-", "-"]
    window = result.in_window()
    seconds = max(result.lookups.ended - result.lookups.started, 1e-9)
    answered = [r for r in window if r.outcome is None]
    took = [(r.ended - r.started) * 1000 for r in answered]
    failed = Counter(r.outcome for r in window if r.outcome is not None)
    return [
        f"{len(answered):,}",
        f"{len(answered) / seconds:.1f}",
        _ms(percentile(took, 0.5)) if took else "-",
        _failures({str(k): v for k, v in failed.items()}),
    ]


HEADER = (
    "| phase | per-actor bound | lookups | lookup p50 ms | lookup p99 ms | lookup max ms "
    "| lookup failures | heavy answered | heavy/s | heavy p50 ms | heavy refused / errors |"
)


def table(results: Sequence[PhaseResult]) -> str:
    lines = [HEADER, "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---|"]
    for result in results:
        timings = result.lookups.latencies_ms
        stats = (
            [_ms(percentile(timings, p)) for p in (0.5, 0.99)] + [_ms(max(timings))]
            if timings
            else ["-", "-", "-"]
        )
        cells = [
            f"({result.phase.key}) {result.phase.title}",
            f"{result.phase.bound:,}",
            f"{len(timings):,}",
            *stats,
            _failures(result.lookups.failures),
            *_heavy_cells(result),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _whole_flood(results: Sequence[PhaseResult]) -> list[str]:
    lines = []
    for result in results:
        if result.heavy is None:
            continue
        answered = sum(1 for r in result.heavy if r.outcome is None)
        failed = Counter(r.outcome for r in result.heavy if r.outcome is not None)
        lines.append(
            f"- ({result.phase.key}) over the whole flood (warm-up, timed window and the "
            f"requests in flight at its end): {len(result.heavy):,} heavy requests, "
            f"{answered:,} answered, refused / errors: "
            f"{_failures({str(k): v for k, v in failed.items()})}"
        )
    return lines


def _p99(result: PhaseResult) -> float | None:
    timings = result.lookups.latencies_ms
    return percentile(timings, 0.99) if timings else None


def _verdict(results: Sequence[PhaseResult]) -> str:
    by_key = {result.phase.key: result for result in results}
    base, bounded, unbounded = (_p99(by_key[key]) for key in ("a", "b", "c"))
    if base is None or bounded is None or unbounded is None:
        return "Some phase has no successful lookup: see the failures in the table."
    text = (
        f"In this run the lookup's p99 was {_ms(base)} ms alone, {_ms(bounded)} ms "
        f"({bounded / base:.1f}x alone) during the flood with the bound of "
        f"{by_key['b'].phase.bound}, and {_ms(unbounded)} ms ({unbounded / base:.1f}x alone) "
        "during the same flood without it"
    )
    if bounded < unbounded:
        return text + f": the bound made it {unbounded / bounded:.1f}x lower."
    return text + ": the bound did NOT make it lower."


def _how_to_read(context: Context, results: Sequence[PhaseResult]) -> str:
    bound = context.settings.default_bound
    clients = context.args.heavy_clients
    pool = context.settings.pool_max_size
    return (
        "Each row is one phase of fixed length. *lookups* are the single-service reads actor "
        f"B ({LOOKUP_ADDRESS}) sent one after the other, each timed from request to complete "
        "answer on one keep-alive connection (nearest-rank percentiles over the successful "
        "ones; a failure is listed, not timed). *heavy* columns count actor A's "
        f"({HEAVY_ADDRESS}, {clients} clients) answers that completed inside the same "
        "window, and their own latency, which includes time spent waiting for one of A's "
        f"slots. With the bound, at most {bound} of A's queries run at once, up to "
        f"{4 * bound} more wait (each at most the request timeout) and the rest are refused "
        f"with 429, so B's lookup competes with {bound} heavy queries instead of {clients}: "
        "for CPU (A's queries are mostly PostgreSQL work: one large statement each on the "
        f"fast read path) and, once A runs more queries than the {pool} pooled database "
        "connections, for a connection, which B then waits for in line behind A's queries. "
        "The heavy columns show what the bound costs A. Compare (b) and (c) with (a), on the "
        "same machine only: the load generator, the server's one worker and PostgreSQL share "
        "its cores, and so does anything else running then (see the load averages). "
        + _verdict(results)
    )


def _machine() -> list[tuple[str, str]]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return [
        ("cores", f"{os.cpu_count()}" + (f" ({model})" if model else "")),
        ("system", platform.platform()),
        ("Python", platform.python_version()),
        ("load average (1, 5, 15 min) before the run", _load()),
    ]


def _load() -> str:
    """The machine is shared: what else ran shows in its load average."""
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def markdown(context: Context, results: Sequence[PhaseResult]) -> str:
    settings = context.settings
    args = context.args
    counts = context.database.row_counts
    machine = "\n".join(f"- {name}: {value}" for name, value in context.machine)
    heavy = context.heavy
    charged = f"{heavy.cost_charged:,}" if heavy.cost_charged is not None else "not reported"
    lines = [
        "# Isolation: one actor's lookups while another floods heavy queries",
        "",
        "Written by `python -m bench.isolation` (see [README.md](README.md#isolation)); "
        "issue 17, finding 1.",
        "",
        f"- date: {context.started:%Y-%m-%d %H:%M} UTC",
        f"- command: `{context.command}`",
        machine,
        f"- PostgreSQL {context.database.server_version} ({context.database_kind}), seeded: "
        f"{counts.get('services', 0):,} services, {counts.get('service_dependencies', 0):,} "
        f"dependencies, {counts.get('teams', 0):,} teams, "
        f"{counts.get('deployments', 0):,} deployments",
        "",
        "## Table",
        "",
        table(results),
        "",
        *_whole_flood(results),
        "",
        "## How to read it",
        "",
        _how_to_read(context, results),
        "",
        "## Settings",
        "",
        "- server: `paved serve --no-demo` (one uvicorn worker), development mode on "
        f"{HEAVY_ADDRESS}: anonymous requests are the local admin, one actor per client "
        "address; rate limiter on with a bucket of 10^9 points (never refuses); "
        f"request timeout {settings.request_timeout_seconds:g} s, response limit "
        f"{settings.max_response_bytes:,} bytes, node limit {settings.max_nodes:,}, pool of at "
        f"most {settings.pool_max_size} connections",
        f"- phases: {args.seconds} s each; (a) and (b) on one server with "
        f"`PAVED_MAX_CONCURRENT_PER_ACTOR={settings.default_bound}` (the default), (c) on a "
        f"restarted one with `PAVED_MAX_CONCURRENT_PER_ACTOR={UNBOUNDED}`; in (b) and (c) the "
        f"flood ran {args.warmup} s before the lookups were timed; after each start the server "
        f"got {SERVER_WARM_LOOKUPS} lookups and {SERVER_WARM_HEAVY} heavy queries untimed",
        f"- actor B (lookup): 1 client from {LOOKUP_ADDRESS}, Python `http.client`, "
        f"sequential: `{LOOKUP_QUERY % lookup_slug(_sizes(args))}`",
        f"- actor A (heavy): {args.heavy_clients} concurrent clients from {HEAVY_ADDRESS} "
        "(`httpx2`, one keep-alive connection each, in a separate process so that reading "
        "its answers does not delay B's clock), each sending in a loop (after a 429, "
        "again after its `Retry-After`):",
        "",
        "```graphql",
        HEAVY_QUERY,
        "```",
        "",
        f"  node estimate {heavy.estimate:,} of {settings.max_nodes:,} (the server charged "
        f"{charged}); answer {heavy.response_bytes:,} bytes, "
        f"{_ms(heavy.milliseconds)} ms alone. The estimate counts list items, not the fields "
        "selected on them, so this is a page of 100 services with `dependsOn` x `dependents` "
        "(20 x 20 each) carrying every scalar field and single object (owner, its parent, the "
        "current production deployment) a service has.",
        "",
    ]
    return "\n".join(lines)


# --- orchestration ---------------------------------------------------------------------------


def _sizes(args: argparse.Namespace) -> Sizes:
    return Sizes(
        services=args.services,
        teams=DEFAULT_SIZES.teams,
        users=DEFAULT_SIZES.users,
        deployments=DEFAULT_SIZES.deployments * args.services // DEFAULT_SIZES.services,
    )


def _serve(
    paved: Path, dsn: str, bound: int, name: str, stack: contextlib.ExitStack
) -> ServerProcess:
    settings = {
        "PAVED_ENV": "development",
        "PAVED_HOST": HEAVY_ADDRESS,
        "PAVED_MAX_CONCURRENT_PER_ACTOR": str(bound),
    }
    server = PavedServer(paved, dsn, WORK_DIR / f"isolation-server-{name}.log", REPO_DIR, settings)
    stack.callback(server.stop)
    log.info("%s ready in %.1f s", server.name, server.wait_ready(READY_TIMEOUT_SECONDS))
    return server


def _execute(args: argparse.Namespace, database: BenchDatabase) -> int:
    started = datetime.now(UTC)
    machine = _machine()
    settings = server_settings()
    estimate = heavy_estimate()
    log.info("heavy query: node estimate %s of %s", f"{estimate:,}", f"{settings.max_nodes:,}")
    paved = find_paved(REPO_DIR)
    sizes = _sizes(args)
    slug = lookup_slug(sizes)
    dsn = database.start()
    info = asyncio.run(prepare_database(dsn, sizes))
    bounded = Phase("b", "lookups + flood, bounded", settings.default_bound, True)
    unbounded = Phase("c", "lookups + flood, unbounded", UNBOUNDED, True)
    results: list[PhaseResult] = []
    with contextlib.ExitStack() as stack:
        server = _serve(paved, dsn, settings.default_bound, "bounded", stack)
        check = check_server(server.graphql_url, slug, estimate)
        baseline = Phase("a", "lookups alone", settings.default_bound, False)
        results.append(run_phase(server, baseline, args, slug))
        results.append(run_phase(server, bounded, args, slug))
    with contextlib.ExitStack() as stack:
        server = _serve(paved, dsn, UNBOUNDED, "unbounded", stack)
        check_server(server.graphql_url, slug, estimate)
        results.append(run_phase(server, unbounded, args, slug))
    print(table(results))
    machine.append(("load average (1, 5, 15 min) after it", _load()))
    context = Context(
        command=shlex.join(["python", "-m", "bench.isolation", *sys.argv[1:]]),
        started=started,
        machine=machine,
        settings=settings,
        heavy=check,
        database=info,
        database_kind="embedded, bench/.work/pg" if database.embedded else "BENCH_DATABASE_URL",
        args=args,
    )
    REPORT_PATH.write_text(markdown(context, results))
    log.info("wrote %s", REPORT_PATH)
    print(_verdict(results))
    failed = any(result.lookups.failures for result in results)
    if failed:
        log.error("some lookups failed; see %s", REPORT_PATH)
    return 1 if failed else 0


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
    except (QueryCheckError, ServerError, QueryRejected) as error:
        log.error("%s", error)
        return 1
    except KeyboardInterrupt:
        log.error("interrupted; stopping what the run started")
        return 130
    finally:
        database.stop()


if __name__ == "__main__":
    sys.exit(main())
