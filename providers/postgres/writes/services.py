"""Service use cases: the service, its owner teams and its dependencies."""

from __future__ import annotations

from collections.abc import Sequence

from domain.catalog.changes import OwnerAssignment
from domain.catalog.rules import check_not_self_dependency, check_owner_assignments
from domain.catalog.services import ServiceDraft, ServicePatch, ServiceRecord
from domain.errors import NotFound
from providers.postgres import rows
from providers.postgres.writes.common import (
    SERVICES,
    TEAMS,
    Connection,
    delete_row,
    find_id,
    insert_row,
    lock_row,
    patch_row,
    stored_values,
    touch,
)

_NOT_COLUMNS = frozenset({"owner"})
"""Draft fields stored elsewhere: the owner is a row of `service_owners`."""


async def create_service(connection: Connection, draft: ServiceDraft) -> ServiceRecord:
    owner_id = await find_id(connection, TEAMS, draft.owner, ["input", "owner"])
    row = await insert_row(connection, SERVICES, stored_values(draft, leaving_out=_NOT_COLUMNS))
    await connection.execute(
        "INSERT INTO service_owners (service_id, team_id, role) VALUES ($1, $2, 'PRIMARY')",
        row["id"], owner_id,
    )  # fmt: skip
    return rows.service(row)


async def update_service(
    connection: Connection, slug: str, expected_version: int | None, patch: ServicePatch
) -> ServiceRecord:
    return rows.service(
        await patch_row(connection, SERVICES, slug, expected_version, stored_values(patch))
    )


async def delete_service(
    connection: Connection, slug: str, expected_version: int | None
) -> ServiceRecord:
    return rows.service(await delete_row(connection, SERVICES, slug, expected_version))


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
    await connection.execute("DELETE FROM service_owners WHERE service_id = $1", row["id"])
    await connection.executemany(
        "INSERT INTO service_owners (service_id, team_id, role) VALUES ($1, $2, $3)",
        [(row["id"], team_ids[owner.team], owner.role.value) for owner in owners],
    )
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
    return rows.service(await touch(connection, SERVICES, row["id"]))
