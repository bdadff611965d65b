"""Templates (admins): created, changed and deleted inside a transaction the caller opened.
A template's resources are rows of `template_resources`, replaced whole when changed."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from domain.errors import Conflict, NotFound
from domain.resources.model import TemplateDraft, TemplatePatch, TemplateRecord, TemplateResource
from providers.postgres.resources import catalog, rows
from providers.postgres.resources.catalog import Kind, Link
from providers.postgres.resources.rows import TEMPLATE_SELECT, plain
from providers.postgres.writes.common import Connection, Table

TEMPLATES = Kind(
    Table("templates", "slug", "template"),
    "template",
    frozenset({"environment_ids", "resources"}),
    TemplateDraft,
)
_ENVIRONMENTS = Link(
    "template_environments", "template_id", "environment_id", "environments",
    ("input", "environments"), "environment", ordered=True,
)  # fmt: skip
_RESOURCES_PATH = ["input", "resources"]


async def read(connection: Connection, template_id: int) -> TemplateRecord:
    row = await connection.fetchrow(f"{TEMPLATE_SELECT} WHERE t.id = $1", template_id)
    assert row is not None
    return rows.template(row)


async def create_template(connection: Connection, draft: TemplateDraft) -> TemplateRecord:
    template_id = await catalog.insert(connection, TEMPLATES, catalog.values_of(draft))
    await catalog.replace_links(connection, _ENVIRONMENTS, template_id, draft.environment_ids)
    await _replace_resources(connection, template_id, draft.resources)
    return await read(connection, template_id)


async def update_template(
    connection: Connection, slug: str, expected_version: int | None, patch: TemplatePatch
) -> TemplateRecord:
    row = await catalog.locked(connection, TEMPLATES, slug, expected_version)
    await catalog.update(connection, TEMPLATES, row["id"], patch.changes)
    if "environment_ids" in patch.changes:
        await catalog.replace_links(
            connection, _ENVIRONMENTS, row["id"], patch.changes["environment_ids"]
        )
    if "resources" in patch.changes:
        await _replace_resources(connection, row["id"], patch.changes["resources"])
    return await read(connection, row["id"])


async def delete_template(connection: Connection, slug: str) -> TemplateRecord:
    row = await catalog.locked(connection, TEMPLATES, slug)
    before = await read(connection, row["id"])
    await connection.execute("DELETE FROM templates WHERE id = $1", row["id"])
    return before


async def _replace_resources(
    connection: Connection, template_id: int, resources: Sequence[TemplateResource]
) -> None:
    """The template's resources are `resources`, in their order; NOT_FOUND for a class that
    does not exist, CONFLICT for a name asked for twice."""
    await connection.execute("DELETE FROM template_resources WHERE template_id = $1", template_id)
    if not resources:
        return
    class_ids = sorted({resource.class_id for resource in resources})
    found = await connection.fetch(
        "SELECT id FROM resource_classes WHERE id = ANY($1::bigint[]) FOR KEY SHARE", class_ids
    )
    missing = sorted(set(class_ids) - {row["id"] for row in found})
    if missing:
        listed = ", ".join(str(item) for item in missing)
        raise NotFound(f"no resource class with id {listed}", _RESOURCES_PATH)
    try:
        await connection.executemany(
            "INSERT INTO template_resources (template_id, position, class_id, name, parameters) "
            "VALUES ($1, $2, $3, $4, $5)",
            [
                (template_id, position, resource.class_id, resource.name,
                 plain(resource.parameters))
                for position, resource in enumerate(resources)
            ],
        )  # fmt: skip
    except asyncpg.UniqueViolationError:
        raise Conflict("a template asks for each resource name once", _RESOURCES_PATH) from None
