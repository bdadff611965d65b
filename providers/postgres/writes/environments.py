"""Environment use cases."""

from __future__ import annotations

from domain.catalog.changes import EnvironmentDraft, EnvironmentPatch
from domain.catalog.records import EnvironmentRecord
from domain.events import describe
from domain.events.model import EventType, SubjectKind
from providers.postgres import rows
from providers.postgres.outbox import emit
from providers.postgres.writes.common import (
    ENVIRONMENTS,
    Connection,
    delete_row,
    insert_row,
    lock_row,
    stored_values,
    update_row,
)

_KIND = SubjectKind.ENVIRONMENT


async def create_environment(connection: Connection, draft: EnvironmentDraft) -> EnvironmentRecord:
    environment = rows.environment(await insert_row(connection, ENVIRONMENTS, stored_values(draft)))
    emit(describe.created(EventType.ENVIRONMENT_CREATED, _KIND, environment))
    return environment


async def update_environment(
    connection: Connection, slug: str, expected_version: int | None, patch: EnvironmentPatch
) -> EnvironmentRecord:
    before, environment = await patch_environment(connection, slug, expected_version, patch)
    emit(describe.updated(EventType.ENVIRONMENT_UPDATED, _KIND, before, environment))
    return environment


async def patch_environment(
    connection: Connection, slug: str, expected_version: int | None, patch: EnvironmentPatch
) -> tuple[EnvironmentRecord, EnvironmentRecord]:
    """The environment before and after `patch`, which its caller describes in an event."""
    row = await lock_row(connection, ENVIRONMENTS, slug, expected_version)
    updated = await update_row(connection, ENVIRONMENTS, row["id"], stored_values(patch))
    return rows.environment(row), rows.environment(updated)


async def delete_environment(
    connection: Connection, slug: str, expected_version: int | None
) -> EnvironmentRecord:
    environment = rows.environment(
        await delete_row(connection, ENVIRONMENTS, slug, expected_version)
    )
    emit(describe.deleted(EventType.ENVIRONMENT_DELETED, _KIND, environment))
    return environment
