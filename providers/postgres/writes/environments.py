"""Environment use cases."""

from __future__ import annotations

from domain.catalog.changes import EnvironmentDraft, EnvironmentPatch
from domain.catalog.records import EnvironmentRecord
from domain.catalog.rules import describe_names
from domain.errors import PreconditionFailed
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
    refuse_live_resources,
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
    """Refused (PRECONDITION_FAILED) while resources not DELETED are in the environment, and
    while it is the only environment of a resource class (which, left with none, would be
    offered everywhere). Its deployments and DELETED resources go with it."""
    row = await lock_row(connection, ENVIRONMENTS, slug, expected_version)
    await refuse_live_resources(
        connection, "r.environment_id", row["id"], f"environment '{slug}'", ENVIRONMENTS.path
    )
    only_here = await connection.fetch(
        "SELECT c.slug FROM resource_classes c JOIN resource_class_environments ce "
        "ON ce.class_id = c.id WHERE ce.environment_id = $1 AND NOT EXISTS ("
        "SELECT 1 FROM resource_class_environments other WHERE other.class_id = c.id "
        "AND other.environment_id <> $1) ORDER BY c.slug",
        row["id"],
    )
    if only_here:
        raise PreconditionFailed(
            f"environment '{slug}' is the only environment of resource classes "
            f"{describe_names([r['slug'] for r in only_here])}; change them first",
            ENVIRONMENTS.path,
        )
    environment = rows.environment(
        await delete_row(connection, ENVIRONMENTS, slug, expected_version)
    )
    emit(describe.deleted(EventType.ENVIRONMENT_DELETED, _KIND, environment))
    return environment
