"""The measuring phases on running servers: check and compare the answers, count SQL
statements per request, time single-client requests and page walks, and run the interleaved
wrk load; then the medians per system."""

from __future__ import annotations

import logging
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.equivalence import require_equivalent
from bench.latency import LatencyResult, WalkResult, sequential_latency, walk_pages
from bench.load import WrkResult, WrkSettings, run_wrk, write_script
from bench.queries import MATRIX_PAGES, BenchQuery, QueryCheckError, fetch_data, post_graphql
from bench.server import ServerProcess
from bench.statements import StatementCount, count_statements
from bench.systems import LABELS, PAVED, POSTGRAPHILE

log = logging.getLogger("bench")

STATEMENT_SAMPLE_REQUESTS = 20
STATEMENT_WARM_REQUESTS = 5
SINGLE_CLIENT_WARM_REQUESTS = 10

Servers = Mapping[str, ServerProcess]
RunKey = tuple[str, str]  # (query key, system)


@dataclass(frozen=True, slots=True)
class LoadPlan:
    settings: WrkSettings
    warmup_seconds: int
    seconds: int
    repeat: int


@dataclass(frozen=True, slots=True)
class Row:
    """One system on one query: medians over the repetitions, each column on its own."""

    system: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    runs: list[float]
    statements: StatementCount | None
    failures: int


@dataclass(frozen=True, slots=True)
class SingleClient:
    """One system, one query with a walk, measured with nothing else running: sequential
    requests on one connection, walks over several pages, and SQL statements per walk."""

    latency: LatencyResult
    walk: WalkResult
    walk_statements: StatementCount | None  # per walk of `walk.pages` pages


@dataclass(frozen=True, slots=True)
class QueryResult:
    query: BenchQuery
    rows: dict[str, Row]
    single: dict[str, SingleClient] = field(default_factory=dict)

    def ratio(self, field: str, of: str = PAVED, to: str = POSTGRAPHILE) -> float | None:
        """`of` / `to` (by default Paved Road / PostGraphile) for a Row field, when both were
        measured."""
        top, bottom = self.rows.get(of), self.rows.get(to)
        if top is None or bottom is None:
            return None
        denominator = float(getattr(bottom, field))
        return float(getattr(top, field)) / denominator if denominator else None


def check_answers(servers: Servers, queries: Sequence[BenchQuery]) -> None:
    """Every system answers every query with data, and (with two systems) the same data."""
    for query in queries:
        answers: dict[str, Any] = {}
        for system, server in servers.items():
            try:
                data = fetch_data(server.graphql_url, query, system)
                answers[system] = query.shaped(system, data)
            except QueryCheckError as error:
                raise QueryCheckError(f"{error}\n(server log: {server.log_path})") from error
        if len(answers) > 1:
            items = require_equivalent(query.title, answers)
            log.info(
                "%s: same data from %s (%d items)",
                query.title,
                " and ".join(LABELS[s] for s in answers),
                items,
            )
        else:
            log.info("%s: answered with data", query.title)


def count_all(
    servers: Servers, dsn: str, queries: Sequence[BenchQuery]
) -> dict[RunKey, StatementCount]:
    """pg_stat_statements over sequential requests, one system and query at a time."""
    counts: dict[RunKey, StatementCount] = {}
    for query in queries:
        for system, server in servers.items():
            body = query.body(system)

            def send(url: str = server.graphql_url, body: bytes = body) -> object:
                return post_graphql(url, body)

            for _ in range(STATEMENT_WARM_REQUESTS):  # warm pools and statement caches
                send()
            count = count_statements(dsn, send, STATEMENT_SAMPLE_REQUESTS)
            counts[query.key, system] = count
            log.info(
                "%s, %s: %.1f SQL statements per request (%.1f with housekeeping)",
                query.title,
                LABELS[system],
                count.queries,
                count.total,
            )
    return counts


def measure_single_client(
    servers: Servers, dsn: str | None, queries: Sequence[BenchQuery], requests: int
) -> dict[RunKey, SingleClient]:
    """For each query with a walk, each system (the other idle): `requests` sequential
    requests after a warm-up, then walks over the first pages, their SQL statements counted
    when `dsn` is given; with both systems, each page of the walk must be the same data."""
    found: dict[RunKey, SingleClient] = {}
    for query in (q for q in queries if q.walk):
        pages: dict[str, list[dict[str, Any]]] = {}
        for system, server in servers.items():
            if system not in query.walk:  # the floor answers the bench's bodies only
                continue
            label = f"{query.title} ({LABELS[system]})"
            url, document = server.graphql_url, query.walk[system]
            latency = sequential_latency(
                url, query.body(system), requests, SINGLE_CLIENT_WARM_REQUESTS
            )
            walk = walk_pages(label, url, document, MATRIX_PAGES)
            statements = None
            if dsn is not None:

                def send(url: str = url, document: str = document, label: str = label) -> object:
                    return walk_pages(label, url, document, MATRIX_PAGES, repeat=1)

                statements = count_statements(dsn, send, 1)
            pages[system] = walk.pages_data
            found[query.key, system] = SingleClient(latency, walk, statements)
            log.info(
                "%s, one client: p50 %.2f ms, p99 %.2f ms over %d requests; %d pages (%d rows) "
                "walked in %.1f ms (median of %d)",
                label,
                latency.p50_ms,
                latency.p99_ms,
                latency.requests,
                walk.pages,
                walk.rows,
                walk.median_ms,
                len(walk.walks_ms),
            )
        if len(pages) > 1:
            for index in range(MATRIX_PAGES):
                require_equivalent(
                    f"{query.title}, walk page {index + 1}",
                    {s: query.shaped(s, pages[s][index]) for s in pages},
                )
            log.info("%s: same data from both systems on %d pages", query.title, MATRIX_PAGES)
    return found


def _describe(result: WrkResult) -> str:
    text = (
        f"{result.requests_per_second:,.1f} req/s, p50 {result.p50_ms:.2f} ms, "
        f"p99 {result.p99_ms:.2f} ms"
    )
    if result.non_2xx or result.socket_errors:
        text += f", {result.non_2xx} non-2xx, {result.socket_errors} socket errors"
    return text


def run_load(
    servers: Servers, queries: Sequence[BenchQuery], plan: LoadPlan, wrk: str, work_dir: Path
) -> dict[RunKey, list[WrkResult]]:
    """For each repetition, each query, each system: a warm-up run, then a measured run."""
    scripts = {
        (q.key, s): write_script(work_dir / f"{q.key}-{s}.lua", q.body(s))
        for q in queries
        for s in servers
    }
    results: dict[RunKey, list[WrkResult]] = {key: [] for key in scripts}
    for repetition in range(1, plan.repeat + 1):
        for query in queries:
            for system, server in servers.items():
                server.require_running()
                script = scripts[query.key, system]
                if plan.warmup_seconds:
                    run_wrk(wrk, script, server.graphql_url, plan.settings, plan.warmup_seconds)
                result = run_wrk(wrk, script, server.graphql_url, plan.settings, plan.seconds)
                server.require_running()
                results[query.key, system].append(result)
                log.info(
                    "run %d/%d %s, %s: %s",
                    repetition,
                    plan.repeat,
                    query.title,
                    LABELS[system],
                    _describe(result),
                )
    return results


def summarize(
    queries: Sequence[BenchQuery],
    systems: Sequence[str],
    results: Mapping[RunKey, list[WrkResult]],
    counts: Mapping[RunKey, StatementCount],
    single: Mapping[RunKey, SingleClient],
) -> list[QueryResult]:
    summary: list[QueryResult] = []
    for query in queries:
        rows: dict[str, Row] = {}
        for system in systems:
            runs = results[query.key, system]
            rows[system] = Row(
                system=system,
                requests_per_second=statistics.median(r.requests_per_second for r in runs),
                p50_ms=statistics.median(r.p50_ms for r in runs),
                p99_ms=statistics.median(r.p99_ms for r in runs),
                runs=[r.requests_per_second for r in runs],
                statements=counts.get((query.key, system)),
                failures=sum(r.non_2xx + r.socket_errors for r in runs),
            )
        found = {s: single[query.key, s] for s in systems if (query.key, s) in single}
        summary.append(QueryResult(query, rows, found))
    return summary
