"""The measuring phases on running servers: check and compare the answers, count SQL
statements per request, and run the interleaved wrk load; then the medians per system."""

from __future__ import annotations

import logging
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.equivalence import require_equivalent
from bench.load import WrkResult, WrkSettings, run_wrk, write_script
from bench.queries import BenchQuery, QueryCheckError, fetch_data, post_graphql
from bench.server import ServerProcess
from bench.statements import StatementCount, count_statements
from bench.systems import LABELS, PAVED, POSTGRAPHILE

log = logging.getLogger("bench")

STATEMENT_SAMPLE_REQUESTS = 20
STATEMENT_WARM_REQUESTS = 5

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
class QueryResult:
    query: BenchQuery
    rows: dict[str, Row]

    def ratio(self, field: str) -> float | None:
        """Paved Road / PostGraphile for a Row field, when both were measured."""
        paved, peer = self.rows.get(PAVED), self.rows.get(POSTGRAPHILE)
        if paved is None or peer is None:
            return None
        denominator = float(getattr(peer, field))
        return float(getattr(paved, field)) / denominator if denominator else None


def check_answers(servers: Servers, queries: Sequence[BenchQuery]) -> None:
    """Every system answers every query with data, and (with two systems) the same data."""
    for query in queries:
        answers: dict[str, Any] = {}
        for system, server in servers.items():
            try:
                answers[system] = fetch_data(server.graphql_url, query, system)
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
        summary.append(QueryResult(query, rows))
    return summary
