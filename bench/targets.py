"""The issue's targets for Paved Road, judged on a run's numbers: each with what was measured
and whether it is met, or by how much it is missed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench.measure import QueryResult, Row
from bench.memory import MemoryResult
from bench.queries import MATRIX_KEY, MATRIX_PAGE
from bench.systems import PAVED, POSTGRAPHILE

MIN_RATIO = 1.0
MAX_P99_OVER_P50 = 2.0
MAX_RSS_GROWTH = 0.10
MATRIX_MAX_MS = 100.0
# "A bounded number of SQL statements": the same few per page whatever the page size and the
# history (matrix.py reads the page of services, then every cell of the page, in two).
MATRIX_MAX_STATEMENTS = 3
TARGET_QUERIES = {1: "lookup", 2: "services50", 3: "services100", 6: MATRIX_KEY, 7: MATRIX_KEY}


@dataclass(frozen=True, slots=True)
class Target:
    number: int
    requirement: str
    measured: str
    met: bool | None  # None: not measured in this run
    shortfall: str = ""

    @property
    def status(self) -> str:
        if self.met is None:
            return "not measured"
        return "met" if self.met else f"NOT met ({self.shortfall})"


def _mib(kib: int) -> str:
    return f"{kib / 1024:,.1f} MiB"


def _load_errors(row: Row) -> str:
    return f"{row.failures:,} errors during load" if row.failures else ""


def _throughput(number: int, result: QueryResult | None) -> Target:
    title = result.query.title if result else TARGET_QUERIES[number]
    requirement = f"{title}: Paved Road req/s ≥ {MIN_RATIO:.1f}x PostGraphile's"
    paved = result.rows.get(PAVED) if result else None
    peer = result.rows.get(POSTGRAPHILE) if result else None
    ratio = result.ratio("requests_per_second") if result else None
    if paved is None or peer is None or ratio is None:
        return Target(number, requirement, "needs both systems", None)
    measured = (
        f"{paved.requests_per_second:,.1f} vs {peer.requests_per_second:,.1f} req/s = {ratio:.2f}x"
    )
    problems = []
    if ratio < MIN_RATIO:
        short = peer.requests_per_second * MIN_RATIO - paved.requests_per_second
        problems.append(
            f"{short:,.1f} req/s short, Paved Road needs +{(MIN_RATIO / ratio - 1) * 100:.0f} %"
        )
    if paved.failures:
        problems.append(_load_errors(paved))
    return Target(number, requirement, measured, not problems, "; ".join(problems))


def _tail_latency(number: int, result: QueryResult | None) -> Target:
    base = _throughput(number, result)
    requirement = f"{base.requirement}, and Paved Road p99 ≤ {MAX_P99_OVER_P50:.0f}x its p50"
    paved = result.rows.get(PAVED) if result else None
    if paved is None:
        return Target(number, requirement, "not measured", None)
    spread = paved.p99_ms / paved.p50_ms if paved.p50_ms else float("inf")
    latency = f"p99 {paved.p99_ms:,.2f} ms = {spread:.2f}x p50 {paved.p50_ms:,.2f} ms"
    measured = f"{base.measured}; {latency}" if base.met is not None else latency
    problems = [base.shortfall] if base.met is False else []
    if spread > MAX_P99_OVER_P50:
        over = paved.p99_ms - MAX_P99_OVER_P50 * paved.p50_ms
        problems.append(f"p99 {over:,.2f} ms over {MAX_P99_OVER_P50:.0f}x p50")
    met = None if base.met is None and not problems else not problems
    return Target(number, requirement, measured, met, "; ".join(problems))


def _statements(number: int, results: Sequence[QueryResult]) -> Target:
    requirement = "Paved Road: exactly 1 SQL statement per root field, every compiled query"
    parts, problems = [], []
    for result in results:
        if not result.query.compiled:
            continue
        row = result.rows.get(PAVED)
        if row is None or row.statements is None:
            continue
        expected = result.query.root_fields
        count = row.statements
        part = f"{result.query.title}: {count.queries:.1f}"
        if count.total != count.queries:
            part += f" ({count.total:.1f} with housekeeping)"
        parts.append(part)
        if count.queries != expected:
            problems.append(f"{result.query.title}: {count.queries - expected:+.1f}")
    if not parts:
        return Target(number, requirement, "not counted (pg_stat_statements unavailable)", None)
    measured = "; ".join(parts) + " (each query has 1 root field)"
    return Target(number, requirement, measured, not problems, "; ".join(problems))


def _matrix_statements(number: int, result: QueryResult | None) -> Target:
    requirement = (
        "release matrix: Paved Road answers in a bounded number of SQL statements (the same "
        f"per page on every page, at most {MATRIX_MAX_STATEMENTS})"
    )
    row = result.rows.get(PAVED) if result else None
    single = result.single.get(PAVED) if result else None
    if row is None or row.statements is None:
        return Target(number, requirement, "not counted (pg_stat_statements unavailable)", None)
    page = row.statements.queries
    measured = f"page of {MATRIX_PAGE}: {page:.1f} per request"
    per_page = [page]
    if single is not None and single.walk_statements is not None:
        walked = single.walk_statements.queries / single.walk.pages
        per_page.append(walked)
        measured += (
            f"; walking {single.walk.pages} pages ({single.walk.rows} services): "
            f"{single.walk_statements.queries:.0f} in all, {walked:.1f} per page"
        )
    problems = []
    if max(per_page) > MATRIX_MAX_STATEMENTS:
        problems.append(f"{max(per_page) - MATRIX_MAX_STATEMENTS:+.1f} over the bound")
    if max(per_page) != min(per_page) or any(value != round(value) for value in per_page):
        problems.append("the count varies from page to page")
    return Target(number, requirement, measured, not problems, "; ".join(problems))


def _matrix_latency(number: int, result: QueryResult | None) -> Target:
    requirement = (
        f"release matrix (page of {MATRIX_PAGE} services x 4 environments over the seeded "
        f"history): Paved Road under {MATRIX_MAX_MS:.0f} ms from one client, p50 and p99"
    )
    single = result.single.get(PAVED) if result else None
    if single is None:
        return Target(number, requirement, "not measured", None)
    latency, walk = single.latency, single.walk
    measured = (
        f"p50 {latency.p50_ms:,.2f} ms, p99 {latency.p99_ms:,.2f} ms over {latency.requests} "
        f"sequential requests; {walk.pages} pages ({walk.rows} services) walked in "
        f"{walk.median_ms:,.1f} ms (median of {len(walk.walks_ms)}, slowest {walk.max_ms:,.1f})"
    )
    problems = [
        f"{name} {value - MATRIX_MAX_MS:,.2f} ms over"
        for name, value in (("p50", latency.p50_ms), ("p99", latency.p99_ms))
        if value >= MATRIX_MAX_MS
    ]
    return Target(number, requirement, measured, not problems, "; ".join(problems))


def _memory(number: int, memory: MemoryResult | None) -> Target:
    requirement = (
        f"Paved Road RSS after 100,000 requests within {MAX_RSS_GROWTH * 100:.0f} % of "
        "RSS after 10,000"
    )
    if memory is None or len(memory.checkpoints) < 2:
        return Target(number, requirement, "not measured (--skip-memory)", None)
    first, last = memory.checkpoints[0], memory.checkpoints[-1]
    change = (last.rss_kib - first.rss_kib) / first.rss_kib
    measured = (
        f"{_mib(first.rss_kib)} after {first.requests:,}, {_mib(last.rss_kib)} after "
        f"{last.requests:,}: {change * 100:+.1f} %"
    )
    problems = []
    if abs(change) > MAX_RSS_GROWTH:
        allowed = first.rss_kib * MAX_RSS_GROWTH
        excess = abs(last.rss_kib - first.rss_kib) - allowed
        problems.append(
            f"{(abs(change) - MAX_RSS_GROWTH) * 100:.1f} points over, {_mib(round(excess))} "
            "beyond the allowance"
        )
    if memory.failures:
        problems.append(f"{memory.failures:,} errors during the requests")
    return Target(number, requirement, measured, not problems, "; ".join(problems))


def evaluate(results: Sequence[QueryResult], memory: MemoryResult | None) -> list[Target]:
    by_key = {result.query.key: result for result in results}
    return [
        _throughput(1, by_key.get(TARGET_QUERIES[1])),
        _tail_latency(2, by_key.get(TARGET_QUERIES[2])),
        _throughput(3, by_key.get(TARGET_QUERIES[3])),
        _statements(4, results),
        _memory(5, memory),
        _matrix_statements(6, by_key.get(TARGET_QUERIES[6])),
        _matrix_latency(7, by_key.get(TARGET_QUERIES[7])),
    ]
