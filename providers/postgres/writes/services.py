"""Service use cases: the service, its owner teams and its dependencies."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields

import asyncpg

from domain.catalog.changes import OwnerAssignment
from domain.catalog.rules import check_not_self_dependency, check_owner_assignments
from domain.catalog.services import ServiceDraft, ServicePatch, ServiceRecord
from domain.errors import Conflict, NotFound
from domain.events import describe
from domain.events.changes import described, described_values
from domain.events.model import EventType, SubjectKind
from providers.postgres import rows
from providers.postgres.audited import AuditedTransactions
from providers.postgres.outbox import NEW_ROW, NEW_ROW_OWNER, emit
from providers.postgres.writes.common import (
    SERVICES,
    Connection,
    delete_row,
    find_id,
    lock_row,
    refuse_live_resources,
    stored_values,
    touch,
    update_row,
)

_KIND = SubjectKind.SERVICE

_NOT_COLUMNS = frozenset({"owner"})
"""Draft fields stored elsewhere: the owner is a row of `service_owners`."""


def _created(values: dict[str, object]) -> str:
    """The `WITH` queries of a new service and its primary owner (`$1`, the owner's slug;
    `values` from `$2` on): the owner's team found, the service inserted only when it is, and
    the ownership with it; `changed` is the new service with its `owner_id`."""
    places = ", ".join(f"${n}" for n in range(2, len(values) + 2))
    return (
        "owner AS (SELECT id FROM teams WHERE slug = $1), "
        f"created AS (INSERT INTO services ({', '.join(values)}) "
        f"SELECT {places} FROM owner RETURNING *), "
        "owned AS (INSERT INTO service_owners (service_id, team_id, role) "
        "SELECT created.id, owner.id, 'PRIMARY' FROM created, owner), "
        "changed AS (SELECT created.*, owner.id AS owner_id FROM created, owner)"
    )


def _refused(draft: ServiceDraft) -> Conflict:
    return Conflict(f"a service with slug '{draft.slug}' already exists", ["input", "slug"])


def _missing_owner(draft: ServiceDraft) -> NotFound:
    return NotFound(f"no team '{draft.owner}'", ["input", "owner"])


async def create_service(connection: Connection, draft: ServiceDraft) -> ServiceRecord:
    """The service and its primary owner, in one statement."""
    values = stored_values(draft, leaving_out=_NOT_COLUMNS)
    try:
        row = await connection.fetchrow(
            f"WITH {_created(values)} SELECT * FROM changed", draft.owner, *values.values()
        )
    except asyncpg.UniqueViolationError:
        raise _refused(draft) from None
    if row is None:
        raise _missing_owner(draft)
    service = rows.service(row)
    data = {**described(service), "owner": draft.owner}
    emit(
        describe.about(EventType.SERVICE_CREATED, _KIND, service.id, data, team_id=row["owner_id"])
    )
    return service


async def create_service_alone(
    transactions: AuditedTransactions, draft: ServiceDraft
) -> ServiceRecord:
    """The service, its primary owner, its audit record and its event in one statement."""
    values = stored_values(draft, leaving_out=_NOT_COLUMNS)
    drafted = {f.name: getattr(draft, f.name) for f in fields(draft)}
    data = {**described_values(ServiceRecord, drafted), "owner": draft.owner}
    event = describe.about(EventType.SERVICE_CREATED, _KIND, NEW_ROW, data, team_id=NEW_ROW_OWNER)
    try:
        row = await transactions.insert_alone(
            _created(values), [draft.owner, *values.values()], [event], owner="owner_id"
        )
    except asyncpg.UniqueViolationError:
        raise _refused(draft) from None
    if row is None:
        raise _missing_owner(draft)
    return rows.service(row)


async def update_service(
    connection: Connection, slug: str, expected_version: int | None, patch: ServicePatch
) -> ServiceRecord:
    row = await lock_row(connection, SERVICES, slug, expected_version)
    service = rows.service(await update_row(connection, SERVICES, row["id"], stored_values(patch)))
    emit(describe.updated(EventType.SERVICE_UPDATED, _KIND, rows.service(row), service))
    return service


async def delete_service(
    connection: Connection, slug: str, expected_version: int | None
) -> ServiceRecord:
    """Refused (PRECONDITION_FAILED, naming them) while the service has resources not DELETED:
    they are infrastructure someone must remove first. Its DELETED resources go with it."""
    row = await lock_row(connection, SERVICES, slug, expected_version)
    await refuse_live_resources(
        connection, "r.service_id", row["id"], f"service '{slug}'", SERVICES.path
    )
    owners = await _owners(connection, row["id"])
    await delete_row(connection, SERVICES, slug, expected_version)
    service = rows.service(row)
    primary = next((owner["team_id"] for owner in owners if owner["role"] == "PRIMARY"), None)
    data = {**described(service), "owners": _described_owners(owners)}
    emit(describe.about(EventType.SERVICE_DELETED, _KIND, service.id, data, team_id=primary))
    return service


async def _owners(connection: Connection, service_id: int) -> list[asyncpg.Record]:
    return await connection.fetch(
        "SELECT o.team_id, t.slug, o.role FROM service_owners o JOIN teams t ON t.id = o.team_id "
        "WHERE o.service_id = $1 ORDER BY o.role DESC, t.slug",
        service_id,
    )


def _described_owners(owners: Sequence[asyncpg.Record]) -> list[dict[str, str]]:
    return [{"team": owner["slug"], "role": owner["role"]} for owner in owners]


async def set_service_owners(
    connection: Connection, slug: str, owners: Sequence[OwnerAssignment]
) -> ServiceRecord:
    check_owner_assignments(owners)
    row = await lock_row(connection, SERVICES, slug)
    found = await connection.fetch(
        "SELECT slug, id FROM teams WHERE slug = ANY($1::text[])", [owner.team for owner in owners]
    )
    team_ids = {r["slug"]: r["id"] for r in found}
    for index, owner in enumerate(owners):
        if owner.team not in team_ids:
            raise NotFound(f"no team '{owner.team}'", ["input", "owners", str(index), "team"])
    before = await _owners(connection, row["id"])
    await connection.execute("DELETE FROM service_owners WHERE service_id = $1", row["id"])
    await connection.executemany(
        "INSERT INTO service_owners (service_id, team_id, role) VALUES ($1, $2, $3)",
        [(row["id"], team_ids[owner.team], owner.role.value) for owner in owners],
    )
    old, new = _described_owners(before), _described_owners(await _owners(connection, row["id"]))
    data = {"service": slug, "owners": {"old": old, "new": new}}
    emit(describe.about(EventType.OWNERSHIP_CHANGED, _KIND, row["id"], data))
    return rows.service(await touch(connection, SERVICES, row["id"]))


async def add_service_dependency(
    connection: Connection, slug: str, depends_on: str
) -> ServiceRecord:
    check_not_self_dependency(slug, depends_on)
    row = await lock_row(connection, SERVICES, slug)
    target = await find_id(connection, SERVICES, depends_on, ["input", "dependsOn"])
    added = await connection.fetchval(
        "INSERT INTO service_dependencies (service_id, depends_on_id) VALUES ($1, $2) "
        "ON CONFLICT DO NOTHING RETURNING 1",
        row["id"], target,
    )  # fmt: skip
    if added is None:
        return rows.service(row)
    data = {"service": slug, "dependsOn": depends_on}
    emit(describe.about(EventType.DEPENDENCY_ADDED, _KIND, row["id"], data))
    return rows.service(await touch(connection, SERVICES, row["id"]))


async def remove_service_dependency(
    connection: Connection, slug: str, depends_on: str
) -> ServiceRecord:
    row = await lock_row(connection, SERVICES, slug)
    target = await find_id(connection, SERVICES, depends_on, ["input", "dependsOn"])
    removed = await connection.fetchval(
        "DELETE FROM service_dependencies WHERE service_id = $1 AND depends_on_id = $2 RETURNING 1",
        row["id"], target,
    )  # fmt: skip
    if removed is None:
        raise NotFound(
            f"service '{slug}' does not depend on '{depends_on}'", ["input", "dependsOn"]
        )
    data = {"service": slug, "dependsOn": depends_on}
    emit(describe.about(EventType.DEPENDENCY_REMOVED, _KIND, row["id"], data))
    return rows.service(await touch(connection, SERVICES, row["id"]))
