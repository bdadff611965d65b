"""Environment use cases."""

from __future__ import annotations

import asyncpg

from domain.catalog.changes import EnvironmentDraft, EnvironmentPatch
from domain.catalog.records import EnvironmentRecord
from domain.errors import Conflict
from providers.postgres import rows
from providers.postgres.writes.common import (
    Connection,
    check_version,
    lock_row,
    patch_values,
    update_row,
)


async def create_environment(connection: Connection, draft: EnvironmentDraft) -> EnvironmentRecord:
    try:
        row = await connection.fetchrow(
            "INSERT INTO environments (slug, name, description, tier) "
            "VALUES ($1, $2, $3, $4) RETURNING *",
            draft.slug, draft.name, draft.description, draft.tier.value,
        )  # fmt: skip
    except asyncpg.UniqueViolationError:
        raise Conflict(
            f"an environment with slug '{draft.slug}' already exists", ["input", "slug"]
        ) from None
    assert row is not None
    return rows.environment(row)


async def update_environment(
    connection: Connection, slug: str, expected_version: int | None, patch: EnvironmentPatch
) -> EnvironmentRecord:
    row = await lock_row(connection, "environments", "slug", slug, ["input", "environment"])
    check_version(row, expected_version, "environments", slug)
    values = patch_values(patch)
    if "tier" in values:
        values["tier"] = values["tier"].value
    return rows.environment(await update_row(connection, "environments", row["id"], values))


async def delete_environment(
    connection: Connection, slug: str, expected_version: int | None
) -> EnvironmentRecord:
    row = await lock_row(connection, "environments", "slug", slug, ["input", "environment"])
    check_version(row, expected_version, "environments", slug)
    await connection.execute("DELETE FROM environments WHERE id = $1", row["id"])
    return rows.environment(row)
