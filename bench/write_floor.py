"""The writes' floor: `createTeam` and `createService` answered by one hand-written SQL
statement each, served by a bare ASGI app on uvicorn (one worker, an asyncpg pool of at most
10 connections, as Paved Road's). No GraphQL, no authentication, no rate limit, no batching:
each request's JSON is read, its statement runs, its answer is written.

    DATABASE_URL=postgresql://... python -m bench.write_floor --port 5680 [--rows one]

`--rows paved` (the default) writes what Paved Road writes for the mutation: the row (and the
service's primary owner), its audit record and its outbox event. `--rows
one` writes only the row, as PostGraphile's generated mutations do. Either answers the bodies
the bench sends to Paved Road (`bench.writes`, input in variables) with Paved Road's JSON, so
the numbers say how fast this HTTP stack and database can take these writes at all."""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from bench.floor_app import UNKNOWN, FloorApp, FloorProcess, serve

PAVED_ROWS, ONE_ROW = "paved", "one"

# The audit record and the event as Paved Road writes them for an anonymous request on
# loopback in development mode (the local admin). Paved Road wakes the event listeners after
# the commit, outside the write's transaction; the floor leaves that out.
_RECORDED = """recorded AS (
    INSERT INTO audit_events (actor_kind, actor_name, operation, targets, input, outcome,
                              request_id)
    SELECT 'local-admin', 'local admin', $3, ARRAY[$4 || ':' || $1], $5::text::jsonb,
           'ACCEPTED', $6 FROM changed),
appended AS (
    INSERT INTO events (tx, type, actor_kind, actor_name, request_id, subject_kind, subject_id,
                        service_id, team_id, data)
    SELECT greatest(pg_current_xact_id(), (SELECT tx FROM events ORDER BY tx DESC LIMIT 1)),
           $7, 'local-admin', 'local admin', $6, $4, changed.id, {service_id}, {team_id},
           $8::text::jsonb
    FROM changed RETURNING id)
SELECT changed.slug, (SELECT max(id) FROM appended) FROM changed"""

TEAM_SQL = {
    PAVED_ROWS: "WITH changed AS (INSERT INTO teams (slug, name) VALUES ($1, $2) RETURNING *), "
    + _RECORDED.format(service_id="NULL", team_id="changed.id"),
    ONE_ROW: "INSERT INTO teams (slug, name) VALUES ($1, $2) RETURNING slug",
}
SERVICE_SQL = {
    PAVED_ROWS: """WITH owner AS (SELECT id FROM teams WHERE slug = $9),
changed AS (INSERT INTO services (slug, name) SELECT $1, $2 FROM owner RETURNING *),
owned AS (INSERT INTO service_owners (service_id, team_id, role)
    SELECT changed.id, owner.id, 'PRIMARY' FROM changed, owner), """
    + _RECORDED.format(service_id="changed.id", team_id="(SELECT id FROM owner)"),
    ONE_ROW: "INSERT INTO services (slug, name) VALUES ($1, $2) RETURNING slug",
}


class Write:
    """One mutation's statement and answer."""

    def __init__(self, field: str, kind: str, event: str, sql: str, rows: str) -> None:
        self.field = field
        self.kind = kind  # the subject's kind: the audit record's target and the event's
        self.event = event
        self.sql = sql
        self.rows = rows

    def arguments(self, given: Mapping[str, Any]) -> tuple[object, ...]:
        slug, name = given["slug"], given["name"]
        if self.rows == ONE_ROW:
            return slug, name
        owner = () if self.kind == "Team" else (given["owner"],)
        data = {"name": name, "slug": slug, "description": None}
        if owner:
            data |= {"owner": given["owner"], "tags": [], "tier": None, "links": []}
            data |= {"system": None, "lifecycle": "EXPERIMENTAL", "repositoryUrl": None}
        else:
            data["parentId"] = None
        input_json = orjson.dumps(dict(given)).decode()
        request_id = uuid.uuid4().hex
        event_data = orjson.dumps(data).decode()
        return (
            slug,
            name,
            self.field,
            self.kind,
            input_json,
            request_id,
            self.event,
            event_data,
            *owner,
        )

    def answer(self, slug: str | None) -> bytes:
        node = self.kind.lower()
        payload: dict[str, object]
        if slug is None:
            payload = {node: None, "errors": [{"message": "not written"}]}
        else:
            payload = {node: {"slug": slug}, "errors": []}
        return orjson.dumps({"data": {self.field: payload}})


def writes(rows: str) -> dict[str, Write]:
    """The query documents the bench sends (`bench.writes`, input in variables) -> their
    write."""
    from bench.systems import PAVED
    from bench.writes import MUTATIONS, VARIABLES

    made = {
        "createTeam": Write("createTeam", "Team", "TEAM_CREATED", TEAM_SQL[rows], rows),
        "createService": Write(
            "createService", "Service", "SERVICE_CREATED", SERVICE_SQL[rows], rows
        ),
    }
    return {
        orjson.loads(MUTATIONS[field, PAVED].body(VARIABLES))["query"]: write
        for field, write in made.items()
    }


class WriteFloorApp(FloorApp):
    """POST /graphql with one of the bench's mutation documents runs its statement."""

    def __init__(self, dsn: str, routes: dict[str, Write]) -> None:
        super().__init__(dsn)
        self._routes = routes

    async def answer(self, pool: asyncpg.Pool, path: str, body: bytes) -> tuple[int, bytes]:
        try:
            request = orjson.loads(body)
            write = self._routes[request["query"]] if path == "/graphql" else None
            arguments = write.arguments(request["variables"]["input"]) if write else None
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return UNKNOWN
        if write is None or arguments is None:
            return UNKNOWN
        try:
            slug = await pool.fetchval(write.sql, *arguments)
        except asyncpg.UniqueViolationError:
            slug = None
        return 200, write.answer(slug)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.write_floor", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rows", choices=(PAVED_ROWS, ONE_ROW), default=PAVED_ROWS)
    args = parser.parse_args(argv)
    serve(WriteFloorApp(os.environ["DATABASE_URL"], writes(args.rows)), args.port)
    return 0


class WriteFloorServer(FloorProcess):
    """`python -m bench.write_floor --rows <rows>` on a free port."""

    def __init__(self, dsn: str, rows: str, log_path: Path, cwd: Path) -> None:
        self.name = (
            "write floor (one row)" if rows == ONE_ROW else "write floor (Paved Road's rows)"
        )
        super().__init__("bench.write_floor", ["--rows", rows], dsn, log_path, cwd)


if __name__ == "__main__":
    sys.exit(main())
