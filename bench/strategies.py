"""`python -m bench.strategies --dsn URL`: the two ways to answer a compiled read, timed.

1. JSON from PostgreSQL: the statement Paved Road compiles for the query builds the
   response with json_build_object/json_agg; Python only wraps the text.
2. Shaped rows + orjson: one statement returns the page's rows with their related
   objects as nested arrays; Python builds the response dicts and serialises them with
   orjson. This is a hand-written best case for that approach (no generic plan walking),
   so if it loses, a general implementation of it would lose by more.

Both answer "page of 50 services with owner, owners { role team { slug } },
dependsOn { slug owner { slug } }" against a seeded database (`make bench` seeds one;
so does `python -m bench.seed`-style setup), from 16 concurrent tasks in one process,
and report answers per second, latency, and the API process's CPU time per answer (on
a 2-core machine shared with PostgreSQL, that CPU is what the server's throughput is
made of).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import orjson
from graphql import parse

from providers.postgres.graph_sql import compile_plan
from reads.planner import plan_operation
from schema.build import build_schema

PAGE_QUERY = (
    "query { services(first: 50) { nodes { slug name tier owner { slug name } "
    "owners { role team { slug } } dependsOn { slug owner { slug } } } } }"
)
_PRIMARY = (
    "(SELECT {t}.{column} FROM service_owners {o} JOIN teams {t} ON {t}.id = {o}.team_id "
    "WHERE {o}.service_id = {s}.id AND {o}.role = 'PRIMARY')"
)
SHAPED_ROWS_SQL = f"""
SELECT s.slug, s.name, s.tier,
  (SELECT ARRAY[t.slug, t.name] FROM service_owners o JOIN teams t ON t.id = o.team_id
   WHERE o.service_id = s.id AND o.role = 'PRIMARY') AS owner,
  ARRAY(SELECT ARRAY[o.role, t.slug] FROM service_owners o JOIN teams t ON t.id = o.team_id
        WHERE o.service_id = s.id ORDER BY o.role DESC, t.name, t.id) AS owners,
  ARRAY(SELECT ARRAY[d2.slug, {_PRIMARY.format(t="t2", o="o2", s="d2", column="slug")}]
        FROM service_dependencies d JOIN services d2 ON d2.id = d.depends_on_id
        WHERE d.service_id = s.id ORDER BY d2.name, d2.id) AS depends_on
FROM services s ORDER BY s.name, s.id LIMIT 51
"""


def _owner(pair: list[str] | None) -> dict[str, str] | None:
    return {"slug": pair[0], "name": pair[1]} if pair else None


def _shaped_body(rows: list[asyncpg.Record]) -> bytes:
    nodes = [
        {
            "slug": row["slug"],
            "name": row["name"],
            "tier": row["tier"],
            "owner": _owner(row["owner"]),
            "owners": [{"role": role, "team": {"slug": slug}} for role, slug in row["owners"]],
            "dependsOn": [
                {"slug": slug, "owner": {"slug": owner} if owner else None}
                for slug, owner in row["depends_on"]
            ],
        }
        for row in rows[:50]
    ]
    return orjson.dumps({"data": {"services": {"nodes": nodes}}})


async def _measure(
    answer: Callable[[], Awaitable[bytes]], requests: int, concurrency: int
) -> tuple[float, float, float, float]:
    latencies: list[float] = []

    async def worker(count: int) -> None:
        for _ in range(count):
            started = time.perf_counter()
            await answer()
            latencies.append(time.perf_counter() - started)

    started, cpu_started = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker(requests // concurrency) for _ in range(concurrency)))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    answered = len(latencies)
    return (
        answered / elapsed,
        statistics.median(latencies) * 1000,
        p99 * 1000,
        cpu / answered * 1000,
    )


async def main(dsn: str, requests: int, concurrency: int) -> None:
    statement = compile_plan(plan_operation(build_schema()._schema, parse(PAGE_QUERY), None, None))
    pool = await asyncpg.create_pool(dsn, min_size=concurrency, max_size=concurrency)
    assert pool is not None
    try:

        async def json_from_postgres() -> bytes:
            text: str = await pool.fetchval(statement.sql, *statement.arguments)
            return b'{"data":' + text.encode() + b"}"

        async def shaped_rows() -> bytes:
            return _shaped_body(await pool.fetch(SHAPED_ROWS_SQL))

        compiled, shaped = await json_from_postgres(), await shaped_rows()
        if orjson.loads(compiled) != orjson.loads(shaped):
            raise SystemExit("the two strategies answer differently; fix the shaped-rows SQL")
        results: dict[str, list[tuple[float, float, float, float]]] = {"json": [], "rows": []}
        for _ in range(3):
            results["json"].append(await _measure(json_from_postgres, requests, concurrency))
            results["rows"].append(await _measure(shaped_rows, requests, concurrency))
        print("| strategy | answers/s (median of 3) | p50 ms | p99 ms | Python CPU ms/answer |")
        print("|---|---:|---:|---:|---:|")
        for name, label in (("json", "JSON built by PostgreSQL"), ("rows", "shaped rows + orjson")):
            runs: Any = sorted(results[name])
            rate, p50, p99, cpu = runs[1]
            print(f"| {label} | {rate:,.0f} | {p50:.2f} | {p99:.2f} | {cpu:.3f} |")
    finally:
        await pool.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.strategies", description=__doc__)
    parser.add_argument("--dsn", required=True, help="a seeded database (see bench/README.md)")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.dsn, arguments.requests, arguments.concurrency))
