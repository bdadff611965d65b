"""Environment use cases."""

from __future__ import annotations

from domain.catalog.changes import EnvironmentDraft, EnvironmentPatch
from domain.catalog.records import EnvironmentRecord
from providers.postgres import rows
from providers.postgres.writes.common import (
    ENVIRONMENTS,
    Connection,
    delete_row,
    insert_row,
    patch_row,
    stored_values,
)


async def create_environment(connection: Connection, draft: EnvironmentDraft) -> EnvironmentRecord:
    return rows.environment(await insert_row(connection, ENVIRONMENTS, stored_values(draft)))


async def update_environment(
    connection: Connection, slug: str, expected_version: int | None, patch: EnvironmentPatch
) -> EnvironmentRecord:
    return rows.environment(
        await patch_row(connection, ENVIRONMENTS, slug, expected_version, stored_values(patch))
    )


async def delete_environment(
    connection: Connection, slug: str, expected_version: int | None
) -> EnvironmentRecord:
    return rows.environment(await delete_row(connection, ENVIRONMENTS, slug, expected_version))
