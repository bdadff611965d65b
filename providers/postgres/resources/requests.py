"""Requesting resources: one (`request`), or a template's new service with all of its
resources and first deployments (`create_service_with_resources`). Both run inside a
transaction the caller opened; an idempotency key is used under a transaction-scoped advisory
lock on (requester, key), so a replay racing its first request waits and finds it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from domain.catalog.services import ServiceDraft, ServiceRecord
from domain.deployments.model import Requester
from domain.errors import Conflict, NotFound
from domain.events import describe
from domain.events.model import EventType
from domain.resources.model import ResourceDraft, ResourceRecord, ResourceState
from domain.resources.ports import FirstDeployment
from providers.postgres import rows as catalog_rows
from providers.postgres.outbox import emit
from providers.postgres.resources import rows
from providers.postgres.resources.rows import add_status_event, lock_key, plain
from providers.postgres.writes.common import Connection
from providers.postgres.writes.services import create_service

S = ResourceState

_INSERT = """
INSERT INTO resources (
    name, service_id, environment_id, class_id, state, parameters, requested_by_kind,
    requested_by_id, requested_by_name, required_approvals, idempotency_key,
    idempotency_fingerprint, action_started_at)
VALUES ($1, $2, $3, $4, $5::text, $6, $7, $8, $9, $10, $11, $12,
        CASE WHEN $5::text = 'REQUESTED' THEN clock_timestamp() END)
RETURNING *
"""

_REFERENCES = {
    "resources_service_id_fkey": ("service", "service"),
    "resources_environment_id_fkey": ("environment", "environment"),
    "resources_class_id_fkey": ("resource class", "resourceClass"),
}
"""Each foreign key of a resource: what it names, and the input field that names it."""


@dataclass(frozen=True, slots=True)
class Paths:
    """Where refusals of one insert point: the input field that names the resource (its
    `name`), and, by field of `_REFERENCES`, what names its service, environment or class."""

    name: tuple[str, ...] = ("input", "name")
    references: tuple[str, ...] | None = None

    def of(self, field: str) -> list[str]:
        return list(self.references) if self.references is not None else ["input", field]


async def request(
    connection: Connection, draft: ResourceDraft, fingerprint: str | None
) -> tuple[ResourceRecord, bool]:
    if draft.idempotency_key is not None:
        await lock_key(connection, "resources", draft.requester, draft.idempotency_key)
        first = await connection.fetchrow(
            "SELECT * FROM resources WHERE requested_by_kind = $1 "
            "AND coalesce(requested_by_id, 0) = coalesce($2::bigint, 0) AND idempotency_key = $3",
            draft.requester.kind.value, draft.requester.actor_id, draft.idempotency_key,
        )  # fmt: skip
        if first is not None:
            if first["idempotency_fingerprint"] != fingerprint:
                raise Conflict(
                    f"idempotency key '{draft.idempotency_key}' was used for another request "
                    f"(resource {first['id']})",
                    ["input", "idempotencyKey"],
                )
            return rows.resource(first), False
    return await insert(connection, draft, draft.service_id, fingerprint, Paths()), True


async def insert(
    connection: Connection,
    draft: ResourceDraft,
    service_id: int,
    fingerprint: str | None,
    paths: Paths,
) -> ResourceRecord:
    """A new resource of `service_id` (REQUESTED, or WAITING_APPROVAL when it needs
    approvals), its first history row and its events."""
    state = S.WAITING_APPROVAL if draft.required_approvals > 0 else S.REQUESTED
    who = draft.requester
    try:
        async with connection.transaction():  # a savepoint: the slugs are read after an error
            row = await connection.fetchrow(
                _INSERT,
                draft.name, service_id, draft.environment_id, draft.class_id, state.value,
                plain(draft.parameters), who.kind.value, who.actor_id, who.name,
                draft.required_approvals, draft.idempotency_key, fingerprint,
            )  # fmt: skip
    except asyncpg.UniqueViolationError as error:
        if error.constraint_name != "resources_live_name":
            raise
        where = await _where(connection, service_id, draft.environment_id)
        raise Conflict(
            f"a resource named '{draft.name}' already exists for {where}", list(paths.name)
        ) from None
    except asyncpg.ForeignKeyViolationError as error:
        noun, field = _REFERENCES.get(error.constraint_name or "", ("row", "input"))
        raise NotFound(f"no such {noun}", paths.of(field)) from None
    assert row is not None
    await add_status_event(connection, row["id"], state, "requested", "api")
    created = rows.resource(row)
    emit(
        describe.resource(
            EventType.RESOURCE_REQUESTED, created, state=state, parameters=created.parameters
        )
    )
    if state is S.WAITING_APPROVAL:
        emit(
            describe.resource(
                EventType.RESOURCE_APPROVAL_REQUESTED,
                created,
                requiredApprovals=draft.required_approvals,
            )
        )
    return created


async def _where(connection: Connection, service_id: int, environment_id: int) -> str:
    found = await connection.fetchrow(
        "SELECT (SELECT slug FROM services WHERE id = $1) AS service, "
        "(SELECT slug FROM environments WHERE id = $2) AS environment",
        service_id, environment_id,
    )  # fmt: skip
    assert found is not None
    return f"service '{found['service']}' in '{found['environment']}'"


_TEMPLATE_PATHS = Paths(name=("input", "template"), references=("input", "template"))
"""A template's resources are refused as the template's fault: the input only names it."""


async def create_service_with_resources(
    connection: Connection,
    service: ServiceDraft,
    resources: Sequence[ResourceDraft],
    first_deployments: Sequence[FirstDeployment],
    requester: Requester | None,
    idempotency_key: str | None,
    fingerprint: str | None,
) -> tuple[ServiceRecord, list[ResourceRecord], bool]:
    """The drafts' `service_id`s are ignored: their service is the new one."""
    if idempotency_key is not None:
        assert requester is not None, "an idempotency key belongs to a requester"
        await lock_key(connection, "template-runs", requester, idempotency_key)
        replayed = await _replay(connection, requester, idempotency_key, fingerprint)
        if replayed is not None:
            return replayed
    created = await create_service(connection, service)
    made = [
        await insert(connection, draft, created.id, None, _TEMPLATE_PATHS) for draft in resources
    ]
    await _remember(connection, created.id, first_deployments)
    if idempotency_key is not None:
        assert requester is not None
        await connection.execute(
            "INSERT INTO template_runs (requested_by_kind, requested_by_id, idempotency_key, "
            "fingerprint, service_id, resource_ids) VALUES ($1, $2, $3, $4, $5, $6)",
            requester.kind.value, requester.actor_id, idempotency_key, fingerprint, created.id,
            [resource.id for resource in made],
        )  # fmt: skip
    return created, made, True


async def _replay(
    connection: Connection, requester: Requester, idempotency_key: str, fingerprint: str | None
) -> tuple[ServiceRecord, list[ResourceRecord], bool] | None:
    run = await connection.fetchrow(
        "SELECT * FROM template_runs WHERE requested_by_kind = $1 "
        "AND coalesce(requested_by_id, 0) = coalesce($2::bigint, 0) AND idempotency_key = $3",
        requester.kind.value, requester.actor_id, idempotency_key,
    )  # fmt: skip
    if run is None:
        return None
    service_row = await connection.fetchrow(
        "SELECT * FROM services WHERE id = $1", run["service_id"]
    )
    assert service_row is not None  # the run goes with its service
    if run["fingerprint"] != fingerprint:
        raise Conflict(
            f"idempotency key '{idempotency_key}' was used for another request "
            f"(service '{service_row['slug']}')",
            ["input", "idempotencyKey"],
        )
    found = await connection.fetch(
        "SELECT * FROM resources WHERE id = ANY($1::bigint[]) ORDER BY id", run["resource_ids"]
    )
    return catalog_rows.service(service_row), [rows.resource(row) for row in found], False


async def _remember(
    connection: Connection, service_id: int, first_deployments: Sequence[FirstDeployment]
) -> None:
    try:
        await connection.executemany(
            "INSERT INTO first_deployments (service_id, environment_id, version, "
            "requested_by_kind, requested_by_id, requested_by_name) "
            "VALUES ($1, $2, $3, $4, $5, $6)",
            [
                (service_id, first.environment_id, first.version, first.requester.kind.value,
                 first.requester.actor_id, first.requester.name)
                for first in first_deployments
            ],
        )  # fmt: skip
    except asyncpg.ForeignKeyViolationError:
        raise NotFound("no such environment", list(_TEMPLATE_PATHS.of("environment"))) from None
    except asyncpg.UniqueViolationError:
        raise Conflict(
            "two first deployments to one environment", list(_TEMPLATE_PATHS.name)
        ) from None


_DUE = """
DELETE FROM first_deployments f
WHERE f.service_id = $1
  AND NOT EXISTS (SELECT 1 FROM resources r
                  WHERE r.service_id = f.service_id AND r.environment_id = f.environment_id
                    AND r.state NOT IN ('READY', 'DELETED'))
RETURNING *
"""


async def due_first_deployments(pool: asyncpg.Pool, service_id: int) -> list[FirstDeployment]:
    """Taken in one statement: a concurrent caller waits for the rows and then finds them gone,
    so each first deployment is returned once."""
    found = await pool.fetch(_DUE, service_id)
    return [
        FirstDeployment(
            row["service_id"], row["environment_id"], row["version"], rows.requester(row)
        )
        for row in sorted(found, key=lambda row: row["environment_id"])
    ]
