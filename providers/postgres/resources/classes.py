"""Resource classes (admins): created, changed and deleted inside a transaction the caller
opened. A class in use (resources not DELETED, templates) cannot be deleted; its DELETED
resources go with it."""

from __future__ import annotations

from domain.catalog.rules import describe_names
from domain.errors import PreconditionFailed
from domain.resources.model import ResourceClassDraft, ResourceClassPatch, ResourceClassRecord
from providers.postgres.resources import catalog, rows
from providers.postgres.resources.catalog import Kind, Link
from providers.postgres.resources.rows import CLASS_SELECT
from providers.postgres.writes.common import Connection, Table

CLASSES = Kind(
    Table("resource_classes", "slug", "resourceClass"),
    "resource class",
    frozenset({"environment_ids", "approver_team_ids"}),
    ResourceClassDraft,
)
_LINKS = {
    "environment_ids": Link(
        "resource_class_environments", "class_id", "environment_id", "environments",
        ("input", "environments"), "environment",
    ),
    "approver_team_ids": Link(
        "resource_class_approver_teams", "class_id", "team_id", "teams",
        ("input", "approverTeams"), "team",
    ),
}  # fmt: skip


async def read(connection: Connection, class_id: int) -> ResourceClassRecord:
    row = await connection.fetchrow(f"{CLASS_SELECT} WHERE c.id = $1", class_id)
    assert row is not None
    return rows.resource_class(row)


async def create_class(connection: Connection, draft: ResourceClassDraft) -> ResourceClassRecord:
    values = catalog.values_of(draft)
    class_id = await catalog.insert(connection, CLASSES, values)
    for name, link in _LINKS.items():
        await catalog.replace_links(connection, link, class_id, values[name])
    return await read(connection, class_id)


async def update_class(
    connection: Connection, slug: str, expected_version: int | None, patch: ResourceClassPatch
) -> ResourceClassRecord:
    row = await catalog.locked(connection, CLASSES, slug, expected_version)
    await catalog.update(connection, CLASSES, row["id"], patch.changes)
    for name, link in _LINKS.items():
        if name in patch.changes:
            await catalog.replace_links(connection, link, row["id"], patch.changes[name])
    return await read(connection, row["id"])


async def delete_class(connection: Connection, slug: str) -> ResourceClassRecord:
    row = await catalog.locked(connection, CLASSES, slug)
    before = await read(connection, row["id"])
    resources = await connection.fetch(
        "SELECT s.slug || '/' || r.name AS name, e.slug AS environment FROM resources r "
        "JOIN services s ON s.id = r.service_id JOIN environments e ON e.id = r.environment_id "
        "WHERE r.class_id = $1 AND r.state <> 'DELETED' ORDER BY s.slug, e.slug, r.name",
        row["id"],
    )
    templates = await connection.fetch(
        "SELECT DISTINCT t.slug FROM template_resources tr "
        "JOIN templates t ON t.id = tr.template_id WHERE tr.class_id = $1 ORDER BY t.slug",
        row["id"],
    )
    users = []
    if resources:
        users.append(f"resources: {rows.names(resources)}")
    if templates:
        users.append(f"templates: {describe_names([t['slug'] for t in templates])}")
    if users:
        raise PreconditionFailed(
            f"resource class '{slug}' is still used by {'; and by '.join(users)}",
            CLASSES.table.path,
        )
    await connection.execute(
        "DELETE FROM resources WHERE class_id = $1 AND state = 'DELETED'", row["id"]
    )
    await connection.execute("DELETE FROM resource_classes WHERE id = $1", row["id"])
    return before
