"""The results: a Markdown table on stdout and `bench/RESULTS.md` with the context."""

from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

# Floor targets from the issue: median req/s a query must reach.
TARGETS = {"single lookup": 500.0, "page of 50 services": 60.0}


@dataclass(frozen=True, slots=True)
class Row:
    title: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    runs: list[float]
    queries_per_request: float | None = None
    statements_per_request: float | None = None
    failures: int = 0


@dataclass(frozen=True, slots=True)
class Context:
    server_version: str
    row_counts: dict[str, int]
    seed_seconds: float
    method: list[str]
    database: str
    queries: list[tuple[str, str]]


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


def machine(server_version: str) -> list[tuple[str, str]]:
    return [
        ("nproc", _nproc()),
        ("CPU", _cpu_model()),
        ("memory", _memory()),
        ("OS", f"{platform.system()} {platform.release()}"),
        ("Python", platform.python_version()),
        ("PostgreSQL", server_version),
    ]


def _number(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def table(rows: list[Row]) -> str:
    counted = any(row.statements_per_request is not None for row in rows)
    header = "| query | req/s median | p50 ms | p99 ms |"
    rule = "|---|---:|---:|---:|"
    if counted:
        header += " SQL queries/req | SQL statements/req |"
        rule += "---:|---:|"
    lines = [header, rule]
    for row in rows:
        line = (
            f"| {row.title} | {_number(row.requests_per_second)} | {_number(row.p50_ms, 2)} "
            f"| {_number(row.p99_ms, 2)} |"
        )
        if counted:
            line += f" {_number(row.queries_per_request)} | {_number(row.statements_per_request)} |"
        lines.append(line)
    return "\n".join(lines)


def targets(rows: list[Row]) -> str:
    by_title = {row.title: row for row in rows}
    lines = ["| query | floor | measured | status |", "|---|---:|---:|---|"]
    for title, floor in TARGETS.items():
        row = by_title.get(title)
        if row is None:
            lines.append(f"| {title} | ≥ {floor:,.0f} req/s | n/a | not measured |")
            continue
        met = row.requests_per_second >= floor and row.failures == 0
        lines.append(
            f"| {title} | ≥ {floor:,.0f} req/s | {_number(row.requests_per_second)} req/s "
            f"| {'met' if met else 'NOT met'} |"
        )
    return "\n".join(lines)


def results_markdown(rows: list[Row], context: Context, command: str) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "# Paved Road benchmark results",
        "",
        f"Date: {now}  ",
        f"Command: `{command}`",
        "",
        "## Machine",
        "",
        *(f"- {label}: {value}" for label, value in machine(context.server_version)),
        "",
        "The load generator, the API server and PostgreSQL all share this machine.",
        "",
        "## Dataset",
        "",
        f"Database: {context.database}; reseeded for this run in {context.seed_seconds:.1f} s.",
        "",
        *(f"- {table_name}: {count:,} rows" for table_name, count in context.row_counts.items()),
        "",
        "## Method",
        "",
        *(f"- {line}" for line in context.method),
        "",
        "## Queries",
        "",
        *(f"- {title}: `{document}`" for title, document in context.queries),
        "",
        "## Results",
        "",
        table(rows),
        "",
        "Per-run req/s: "
        + "; ".join(
            f"{row.title}: " + ", ".join(f"{run:,.1f}" for run in row.runs) for row in rows
        ),
        "",
    ]
    failures = [row for row in rows if row.failures]
    if failures:
        parts += [
            "Errors during load (non-2xx responses or socket errors): "
            + "; ".join(f"{row.title}: {row.failures:,}" for row in failures),
            "",
        ]
    parts += ["## Floor targets (from the issue)", "", targets(rows), ""]
    return "\n".join(parts)
