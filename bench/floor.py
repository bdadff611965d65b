"""The floor: each bench read answered by one hand-written SQL statement that builds the whole
JSON answer, served by a bare ASGI app on uvicorn (one worker, an asyncpg pool of at most 10
connections, as Paved Road's). No GraphQL: a request's body selects its statement, so the
numbers say what the database and the HTTP stack cost without any API layer.

    DATABASE_URL=postgresql://... python -m bench.floor --port 5679 --lookup-slug svc-00042

It answers exactly the bodies the bench sends to Paved Road (`BenchQuery.body(PAVED)`), with
Paved Road's JSON, so the bench compares its answers like the two systems'."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import asyncpg

from bench.floor_app import UNKNOWN, FloorApp, FloorProcess, serve

# Paved Road's global id: base64url of "Service:<id>" without padding.
_SERVICE_ID = (
    "rtrim(translate(encode(convert_to('Service:' || {0}.id, 'UTF8'), 'base64'), '+/', '-_'), '=')"
)
_PRIMARY_OWNER = """(SELECT json_build_object({fields})
     FROM service_owners so JOIN teams t ON t.id = so.team_id
     WHERE so.service_id = {service}.id AND so.role = 'PRIMARY')"""
_OWNERS = """(SELECT coalesce(json_agg(json_build_object('role', so.role,
                'team', json_build_object('slug', t.slug)) ORDER BY so.role DESC, t.name, t.id),
            '[]')
     FROM service_owners so JOIN teams t ON t.id = so.team_id
     WHERE so.service_id = s.id)"""


def _page(root: str, size: int, node: str) -> str:
    return f"""SELECT json_build_object('data', json_build_object('{root}',
    json_build_object('nodes', coalesce(json_agg({node} ORDER BY s.name, s.id), '[]'))))::text
FROM (SELECT * FROM services ORDER BY name, id LIMIT {size}) s"""


LOOKUP_SQL = f"""SELECT json_build_object('data', json_build_object('service', (
    SELECT json_build_object('id', {_SERVICE_ID.format("s")}, 'slug', s.slug, 'name', s.name,
        'owner', {_PRIMARY_OWNER.format(fields="'slug', t.slug, 'name', t.name", service="s")})
    FROM services s WHERE s.slug = $1)))::text"""

SERVICES50_SQL = _page(
    "services",
    50,
    f"""json_build_object('slug', s.slug, 'name', s.name, 'tier', s.tier,
        'owner', {_PRIMARY_OWNER.format(fields="'slug', t.slug, 'name', t.name", service="s")},
        'owners', {_OWNERS},
        'dependsOn', (SELECT coalesce(json_agg(json_build_object('slug', d.slug,
                'owner', {_PRIMARY_OWNER.format(fields="'slug', t.slug", service="d")})
                ORDER BY d.name, d.id), '[]')
            FROM service_dependencies sd JOIN services d ON d.id = sd.depends_on_id
            WHERE sd.service_id = s.id))""",
)

SERVICES100_SQL = _page(
    "services",
    100,
    f"""json_build_object('id', {_SERVICE_ID.format("s")}, 'name', s.name, 'tags', s.tags,
        'owner', {_PRIMARY_OWNER.format(fields="'name', t.name", service="s")},
        'owners', {_OWNERS})""",
)

MATRIX_SQL = _page(
    "releaseMatrix",
    100,
    """json_build_object('service', json_build_object('slug', s.slug),
        'cells', (SELECT json_agg(json_build_object(
                'environment', json_build_object('slug', e.slug),
                'current', (SELECT json_build_object('version', d.version, 'state', d.state,
                        'finishedAt', d.finished_at)
                    FROM deployments d
                    WHERE d.service_id = s.id AND d.environment_id = e.id
                      AND d.state = 'SUCCEEDED')) ORDER BY wanted.position)
            FROM unnest($1::text[]) WITH ORDINALITY AS wanted (slug, position)
            JOIN environments e ON e.slug = wanted.slug))""",
)


def statements(lookup_slug: str, environments: list[str]) -> dict[str, tuple[str, tuple[Any, ...]]]:
    """Query key -> (SQL, arguments)."""
    return {
        "lookup": (LOOKUP_SQL, (lookup_slug,)),
        "services50": (SERVICES50_SQL, ()),
        "services100": (SERVICES100_SQL, ()),
        "matrix": (MATRIX_SQL, (environments,)),
    }


class ReadFloorApp(FloorApp):
    """POST /graphql with one of the known bodies runs its statement."""

    def __init__(self, dsn: str, routes: dict[bytes, tuple[str, tuple[Any, ...]]]) -> None:
        super().__init__(dsn)
        self._routes = routes

    async def answer(self, pool: asyncpg.Pool, path: str, body: bytes) -> tuple[int, bytes]:
        route = self._routes.get(body) if path == "/graphql" else None
        if route is None:
            return UNKNOWN
        sql, arguments = route
        text: str = await pool.fetchval(sql, *arguments)
        return 200, text.encode()


def routes_for(lookup_slug: str) -> dict[bytes, tuple[str, tuple[Any, ...]]]:
    from bench.queries import bench_queries
    from bench.seed import ENVIRONMENT_SLUGS
    from bench.systems import PAVED

    environments = list(ENVIRONMENT_SLUGS)
    by_key = statements(lookup_slug, environments)
    return {q.body(PAVED): by_key[q.key] for q in bench_queries(lookup_slug, environments)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--lookup-slug", required=True)
    args = parser.parse_args(argv)
    serve(ReadFloorApp(os.environ["DATABASE_URL"], routes_for(args.lookup_slug)), args.port)
    return 0


class FloorServer(FloorProcess):
    """`python -m bench.floor` on a free port."""

    name = "floor"

    def __init__(self, dsn: str, lookup_slug: str, log_path: Path, cwd: Path) -> None:
        super().__init__("bench.floor", ["--lookup-slug", lookup_slug], dsn, log_path, cwd)


if __name__ == "__main__":
    sys.exit(main())
