"""Service use cases: the service, its owner teams and its dependencies."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import asyncpg

from domain.catalog.changes import OwnerAssignment, ServiceDraft, ServicePatch
from domain.catalog.records import Link, ServiceRecord
from domain.catalog.rules import check_not_self_dependency, check_owner_assignments
from domain.errors import Conflict, NotFound
from providers.postgres import rows
from providers.postgres.writes.common import (
    Connection,
    check_version,
    find_id,
    lock_row,
    patch_values,
    touch,
    update_row,
)


def _links_json(links: Sequence[Link]) -> list[dict[str, Any]]:
    return [asdict(link) for link in links]


async def create_service(connection: Connection, draft: ServiceDraft) -> ServiceRecord:
    owner_id = await find_id(connection, "teams", "slug", draft.owner, ["input", "owner"])
    try:
        row = await connection.fetchrow(
            "INSERT INTO services (slug, name, description, lifecycle, tier, tags, links, "
            "repository_url) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *",
            draft.slug, draft.name, draft.description, draft.lifecycle.value, draft.tier,
            list(draft.tags), _links_json(draft.links), draft.repository_url,
        )  # fmt: skip
    except asyncpg.UniqueViolationError:
        raise Conflict(
            f"a service with slug '{draft.slug}' already exists", ["input", "slug"]
        ) from None
    assert row is not None
    await connection.execute(
        "INSERT INTO service_owners (service_id, team_id, role) VALUES ($1, $2, 'PRIMARY')",
        row["id"], owner_id,
    )  # fmt: skip
    return rows.service(row)


async def update_service(
    connection: Connection, slug: str, expected_version: int | None, patch: ServicePatch
) -> ServiceRecord:
    row = await lock_row(connection, "services", "slug", slug, ["input", "service"])
    check_version(row, expected_version, "services", slug)
    values = patch_values(patch)
    if "lifecycle" in values:
        values["lifecycle"] = values["lifecycle"].value
    if "tags" in values:
        values["tags"] = list(values["tags"])
    if "links" in values:
        values["links"] = _links_json(values["links"])
    return rows.service(await update_row(connection, "services", row["id"], values))


async def delete_service(
    connection: Connection, slug: str, expected_version: int | None
) -> ServiceRecord:
    row = await lock_row(connection, "services", "slug", slug, ["input", "service"])
    check_version(row, expected_version, "services", slug)
    await connection.execute("DELETE FROM services WHERE id = $1", row["id"])
    return rows.service(row)


async def set_service_owners(
    connection: Connection, slug: str, owners: Sequence[OwnerAssignment]
) -> ServiceRecord:
    check_owner_assignments(owners)
    row = await lock_row(connection, "services", "slug", slug, ["input", "service"])
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
    return rows.service(await touch(connection, "services", row["id"]))


async def add_service_dependency(
    connection: Connection, slug: str, depends_on: str
) -> ServiceRecord:
    check_not_self_dependency(slug, depends_on)
    row = await lock_row(connection, "services", "slug", slug, ["input", "service"])
    target = await find_id(connection, "services", "slug", depends_on, ["input", "dependsOn"])
    added = await connection.fetchval(
        "INSERT INTO service_dependencies (service_id, depends_on_id) VALUES ($1, $2) "
        "ON CONFLICT DO NOTHING RETURNING 1",
        row["id"], target,
    )  # fmt: skip
    if added is None:
        return rows.service(row)
    return rows.service(await touch(connection, "services", row["id"]))


async def remove_service_dependency(
    connection: Connection, slug: str, depends_on: str
) -> ServiceRecord:
    row = await lock_row(connection, "services", "slug", slug, ["input", "service"])
    target = await find_id(connection, "services", "slug", depends_on, ["input", "dependsOn"])
    removed = await connection.fetchval(
        "DELETE FROM service_dependencies WHERE service_id = $1 AND depends_on_id = $2 RETURNING 1",
        row["id"], target,
    )  # fmt: skip
    if removed is None:
        raise NotFound(
            f"service '{slug}' does not depend on '{depends_on}'", ["input", "dependsOn"]
        )
    return rows.service(await touch(connection, "services", row["id"]))
