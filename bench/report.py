"""The results: Markdown tables on stdout and `bench/RESULTS.md` with the context."""

from __future__ import annotations

import os
import platform
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.measure import QueryResult, Row
from bench.memory import MemoryResult
from bench.systems import FLOOR, LABELS, PAVED, POSTGRAPHILE
from bench.targets import Target


@dataclass(frozen=True, slots=True)
class Context:
    versions: list[tuple[str, str]]
    row_counts: dict[str, int]
    seed_seconds: float
    method: list[str]
    database: str
    systems: Sequence[str]
    peak_rss_kib: dict[str, int]
    load_average: tuple[str, str] = ("?", "?")  # 1-minute load average before, after the run


def load_average() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except (OSError, IndexError):
        return "?"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _nproc() -> str:
    try:
        return subprocess.run(
            ["nproc"], capture_output=True, text=True, check=True, timeout=5
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return str(len(os.sched_getaffinity(0)))


def machine() -> list[tuple[str, str]]:
    return [
        ("nproc", _nproc()),
        ("CPU", _cpu_model()),
        ("memory", _memory()),
        ("OS", f"{platform.system()} {platform.release()}"),
    ]


def _number(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def _row(row: Row) -> str:
    count = row.statements
    return (
        f"| {LABELS[row.system]} | {_number(row.requests_per_second)} | {_number(row.p50_ms, 2)} "
        f"| {_number(row.p99_ms, 2)} | {_number(count.queries if count else None)} "
        f"| {_number(count.total if count else None)} | {row.failures:,} |"
    )


def query_table(result: QueryResult) -> str:
    lines = [
        "| system | req/s median | p50 ms | p99 ms | SQL statements/req | incl. housekeeping "
        "| load errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *(_row(row) for row in result.rows.values()),
    ]
    if PAVED in result.rows and POSTGRAPHILE in result.rows:
        lines.append(
            f"| **Paved Road / PostGraphile** | **{_ratio(result.ratio('requests_per_second'))}**"
            f" | {_ratio(result.ratio('p50_ms'))} | {_ratio(result.ratio('p99_ms'))} | | | |"
        )
    for system in (PAVED, POSTGRAPHILE):
        if system in result.rows and FLOOR in result.rows:
            rate = _ratio(result.ratio("requests_per_second", system, FLOOR))
            lines.append(f"| {LABELS[system]} / floor | {rate} | | | | | |")
    return "\n".join(lines)


def single_client_table(result: QueryResult) -> str:
    first = next(iter(result.single.values()))
    walk = f"{first.walk.pages} pages ({first.walk.rows} rows) walked"
    lines = [
        f"| system | one client: p50 ms | p99 ms | max ms | {walk}: median ms | slowest ms "
        "| SQL statements per walk |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for system, single in result.single.items():
        count = single.walk_statements
        lines.append(
            f"| {LABELS[system]} | {_number(single.latency.p50_ms, 2)} "
            f"| {_number(single.latency.p99_ms, 2)} | {_number(single.latency.max_ms, 2)} "
            f"| {_number(single.walk.median_ms)} | {_number(single.walk.max_ms)} "
            f"| {_number(count.queries if count else None)} |"
        )
    return "\n".join(lines)


def tables(results: Sequence[QueryResult]) -> str:
    parts: list[str] = []
    for result in results:
        parts += [f"### {result.query.title}", "", query_table(result), ""]
        runs = "; ".join(
            f"{LABELS[row.system]}: " + ", ".join(f"{run:,.1f}" for run in row.runs)
            for row in result.rows.values()
        )
        parts += [f"Per-run req/s: {runs}", ""]
        if result.single:
            requests = next(iter(result.single.values())).latency.requests
            parts += [
                f"From one client, nothing else running ({requests} sequential requests on "
                "one keep-alive connection; walks: each page asked for with the previous "
                "page's cursor):",
                "",
                single_client_table(result),
                "",
            ]
    return "\n".join(parts)


def targets_table(targets: Sequence[Target]) -> str:
    lines = ["| # | target | measured | status |", "|---|---|---|---|"]
    lines += [f"| {t.number} | {t.requirement} | {t.measured} | {t.status} |" for t in targets]
    return "\n".join(lines)


def _memory_section(memory: MemoryResult | None, context: Context) -> list[str]:
    lines = ["## Memory", ""]
    if memory is None:
        lines += ["Paved Road RSS after 10,000 / 100,000 requests: not measured this run.", ""]
    else:
        lines += [
            f"A fresh `paved serve`, then `{memory.query_title}` with wrk at "
            f"{memory.connections} connections; VmRSS from `/proc/<pid>/status`.",
            "",
            "| Paved Road after | RSS |",
            "|---:|---:|",
            f"| start (ready, no request) | {memory.start_rss_kib / 1024:,.1f} MiB |",
            *(
                f"| {point.requests:,} requests | {point.rss_kib / 1024:,.1f} MiB |"
                for point in memory.checkpoints
            ),
            "",
        ]
    if context.peak_rss_kib:
        after = ", ".join(
            f"{LABELS[system]} {kib / 1024:,.1f} MiB"
            for system, kib in context.peak_rss_kib.items()
        )
        lines += [f"RSS of the servers at the end of the load runs: {after}.", ""]
    return lines


def results_markdown(
    results: Sequence[QueryResult],
    targets: Sequence[Target],
    memory: MemoryResult | None,
    context: Context,
    command: str,
) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    systems = " and ".join(LABELS[system] for system in context.systems)
    queries: list[str] = []
    for result in results:
        queries.append(f"{result.query.title}:")
        queries += [f"- {LABELS[s]}: `{result.query.document(s)}`" for s in context.systems]
        queries.append("")
    parts = [
        "# Paved Road benchmark results: Paved Road vs PostGraphile",
        "",
        f"Date: {now}  ",
        f"Command: `{command}`  ",
        f"Systems: {systems}",
        "",
        "## Machine",
        "",
        *(f"- {label}: {value}" for label, value in machine()),
        "",
        "The load generator, the servers under test and PostgreSQL all share this machine. "
        f"Load average (1 min): {context.load_average[0]} before the run, "
        f"{context.load_average[1]} after; well above the CPU count, other work shared the "
        "machine and took CPU from the systems unevenly: compare the columns of one run, "
        "not runs.",
        "",
        "## Versions",
        "",
        *(f"- {label}: {value}" for label, value in context.versions),
        "",
        "## Dataset",
        "",
        f"Database: {context.database}; reseeded for this run in {context.seed_seconds:.1f} s; "
        "both systems serve this same database.",
        "",
        *(f"- {table_name}: {count:,} rows" for table_name, count in context.row_counts.items()),
        "",
        "## Method",
        "",
        *(f"- {line}" for line in context.method),
        "",
        "## Queries",
        "",
        *queries,
        "## Results",
        "",
        tables(results),
    ]
    failures = [
        f"{r.query.title} ({LABELS[row.system]}): {row.failures:,}"
        for r in results
        for row in r.rows.values()
        if row.failures
    ]
    if failures:
        parts += [
            "Errors during load (non-2xx responses or socket errors): " + "; ".join(failures),
            "",
        ]
    parts += _memory_section(memory, context)
    parts += ["## Targets (from the issue)", "", targets_table(targets), ""]
    return "\n".join(parts)
