"""Inserts the demo's deployment history (`demo/history.py` plans it) in one transaction,
with one statement per table: the catalog it needs is read first (services with the members
of their owner teams and their CI client, the pipeline's environments and their approvers),
and the first releases of the services made from a template (`demo/resources.py`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import asyncpg

from demo.history import (
    PIPELINE,
    SIMULATED,
    DemoCatalog,
    DemoService,
    FirstRelease,
    plan_history,
)
from domain.access.model import ActorKind
from domain.deployments.model import Requester
from providers.postgres.writes.common import Connection

_SERVICES = """
SELECT s.id, s.slug, s.tier, s.lifecycle,
       ARRAY(SELECT DISTINCT ARRAY[u.id::text, u.name] FROM service_owners o
             JOIN team_members m ON m.team_id = o.team_id JOIN users u ON u.id = m.user_id
             WHERE o.service_id = s.id) AS requesters,
       (SELECT ARRAY[c.id::text, c.name] FROM service_owners o
        JOIN api_clients c ON c.team_id = o.team_id
        WHERE o.service_id = s.id AND o.role = 'PRIMARY' ORDER BY c.id LIMIT 1) AS ci_client
FROM services s ORDER BY s.slug
"""
_ENVIRONMENTS = """
SELECT e.id, e.slug,
       ARRAY(SELECT DISTINCT ARRAY[u.id::text, u.name] FROM environment_approver_teams a
             JOIN team_members m ON m.team_id = a.team_id JOIN users u ON u.id = m.user_id
             WHERE a.environment_id = e.id) AS approvers,
       e.required_approvals
FROM environments e WHERE e.slug = ANY($1::text[])
"""


def _users(pairs: list[list[str]]) -> tuple[Requester, ...]:
    return tuple(
        Requester(ActorKind.USER, int(key), name)
        for key, name in sorted(pairs, key=lambda p: int(p[0]))
    )


async def read_catalog(
    connection: Connection, first_releases: Mapping[int, FirstRelease] | None = None
) -> DemoCatalog:
    """`first_releases`: by service id, where the history of a service made from a template
    begins."""
    first_releases = first_releases or {}
    services = tuple(
        DemoService(
            id=row["id"],
            slug=row["slug"],
            tier=row["tier"],
            lifecycle=row["lifecycle"],
            requesters=_users(row["requesters"]),
            ci_client=None
            if row["ci_client"] is None
            else Requester(ActorKind.CLIENT, int(row["ci_client"][0]), row["ci_client"][1]),
            first_release=first_releases.get(row["id"]),
        )
        for row in await connection.fetch(_SERVICES)
    )
    environments: dict[str, int] = {}
    approvers: dict[str, tuple[Requester, ...]] = {}
    for row in await connection.fetch(_ENVIRONMENTS, list(PIPELINE)):
        environments[row["slug"]] = row["id"]
        if row["required_approvals"] > 0:
            approvers[row["slug"]] = _users(row["approvers"])
    missing = sorted(set(PIPELINE) - set(environments))
    if missing:
        raise ValueError(f"the demo's deployment history needs environment '{missing[0]}'")
    return DemoCatalog(services, environments, approvers)


_INSERT_DEPLOYMENTS = """
INSERT INTO deployments (
    id, service_id, environment_id, number, version, commit_sha, committed_at, description, kind,
    state, raw_status, status_message, provider, external_id, url, requested_by_kind,
    requested_by_id, requested_by_name, created_at, started_at, finished_at, promoted_from_id,
    rollback_of_id, previous_id, rollback_to_id)
OVERRIDING SYSTEM VALUE
SELECT * FROM unnest(
    $1::bigint[], $2::bigint[], $3::bigint[], $4::integer[], $5::text[], $6::text[],
    $7::timestamptz[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[],
    $14::text[], $15::text[], $16::text[], $17::bigint[], $18::text[], $19::timestamptz[],
    $20::timestamptz[], $21::timestamptz[], $22::bigint[], $23::bigint[], $24::bigint[],
    $25::bigint[])
"""
_INSERT_EVENTS = """
INSERT INTO deployment_events (deployment_id, state, raw_status, message, source, at)
SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[],
                     $6::timestamptz[])
"""
_INSERT_APPROVALS = """
INSERT INTO deployment_approvals (
    deployment_id, actor_kind, actor_id, actor_name, decision, comment, at)
SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[],
                     $7::timestamptz[])
"""


def _columns(rows: list[tuple[Any, ...]], width: int) -> list[list[Any]]:
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[]] * width


async def load_deployment_history(
    pool: asyncpg.Pool,
    now: datetime | None = None,
    first_releases: Mapping[int, FirstRelease] | None = None,
) -> int:
    """Insert the demo's deployment history (one transaction); the number of deployments.
    `now` (default: the database's clock) is where the history ends; `first_releases` (by
    service id) where the histories of services made from a template begin."""
    async with pool.acquire() as connection, connection.transaction():
        if now is None:
            now = await connection.fetchval("SELECT now()")
        assert now is not None
        planned = plan_history(await read_catalog(connection, first_releases), now)
        ids: list[int] = [
            row[0]
            for row in await connection.fetch(
                "SELECT nextval(pg_get_serial_sequence('deployments', 'id')) "
                "FROM generate_series(1, $1)",
                len(planned),
            )
        ]

        def id_of(index: int | None) -> int | None:
            return None if index is None else ids[index]

        deployments: list[tuple[Any, ...]] = []
        events: list[tuple[Any, ...]] = []
        approvals: list[tuple[Any, ...]] = []
        for d in planned:
            deployment_id = ids[d.index]
            external_id = d.external_id
            if external_id is None and d.provider == SIMULATED and d.started_at is not None:
                external_id = f"sim-{deployment_id}"
            deployments.append((
                deployment_id, d.service_id, d.environment_id, d.number, d.version,
                d.commit_sha, d.committed_at, d.description, d.kind.value, d.state.value,
                d.raw_status, d.status_message, d.provider, external_id, d.url,
                d.requester.kind.value, d.requester.actor_id, d.requester.name, d.created_at,
                d.started_at, d.finished_at, id_of(d.promoted_from), id_of(d.rollback_of),
                id_of(d.previous), id_of(d.rollback_to),
            ))  # fmt: skip
            events.extend(
                (deployment_id, e.state.value, e.raw_status, e.message, e.source, e.at)
                for e in d.events
            )
            approvals.extend(
                (deployment_id, a.actor.kind.value, a.actor.actor_id, a.actor.name,
                 a.decision.value, a.comment, a.at)
                for a in d.approvals
            )  # fmt: skip
        await connection.execute(_INSERT_DEPLOYMENTS, *_columns(deployments, 25))
        await connection.execute(_INSERT_EVENTS, *_columns(events, 6))
        await connection.execute(_INSERT_APPROVALS, *_columns(approvals, 7))
    return len(planned)
