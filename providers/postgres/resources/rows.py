"""Row -> record mapping for resource classes, templates, resources, their history and
approvals; the SELECTs that read a class or template whole; shared bits of the writes."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg

from domain.access.model import ActorKind
from domain.deployments.model import ApprovalDecision, Requester
from domain.errors import Conflict, NotFound
from domain.resources.model import (
    ResourceApprovalRecord,
    ResourceClassRecord,
    ResourceRecord,
    ResourceState,
    ResourceStatusEvent,
    SecretRef,
    TemplateRecord,
    TemplateResource,
)
from providers.postgres.rows import RecordRows, column_names
from providers.postgres.writes.common import Connection

RESOURCE_PATH = ["input", "resource"]
"""Where a change names the resource it is about."""

CLASS_SELECT = (
    "SELECT c.*, "
    "ARRAY(SELECT ce.environment_id FROM resource_class_environments ce "
    "WHERE ce.class_id = c.id ORDER BY ce.environment_id) AS environment_ids, "
    "ARRAY(SELECT ca.team_id FROM resource_class_approver_teams ca "
    "WHERE ca.class_id = c.id ORDER BY ca.team_id) AS approver_team_ids "
    "FROM resource_classes c"
)
"""A class with its environments and approver teams (by id); alias `c`."""

TEMPLATE_SELECT = (
    "SELECT t.*, "
    "ARRAY(SELECT te.environment_id FROM template_environments te "
    "WHERE te.template_id = t.id ORDER BY te.position) AS environment_ids, "
    "coalesce((SELECT jsonb_agg(jsonb_build_object('class_id', tr.class_id, 'name', tr.name, "
    "'parameters', tr.parameters) ORDER BY tr.position) FROM template_resources tr "
    "WHERE tr.template_id = t.id), '[]'::jsonb) AS resources "
    "FROM templates t"
)
"""A template with its environments and resources, in their order; alias `t`."""


def plain(value: Any) -> Any:
    """`value` as the JSON codec writes it: mappings as dicts, tuples as lists, enums by value."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def stored_refs(refs: Sequence[SecretRef] | None) -> list[dict[str, str | None]] | None:
    if refs is None:
        return None
    return [{"name": ref.name, "store": ref.store, "key": ref.key} for ref in refs]


def _secret_refs(stored: list[dict[str, Any]]) -> tuple[SecretRef, ...]:
    return tuple(SecretRef(ref["name"], ref["store"], ref.get("key")) for ref in stored)


def _template_resources(stored: list[dict[str, Any]]) -> tuple[TemplateResource, ...]:
    return tuple(
        TemplateResource(item["class_id"], item["name"], item["parameters"]) for item in stored
    )


def requester(row: asyncpg.Record, prefix: str = "requested_by_") -> Requester:
    return Requester(ActorKind(row[prefix + "kind"]), row[prefix + "id"], row[prefix + "name"])


_PLAIN = column_names(ResourceRecord, leaving_out={"state", "secret_refs", "requested_by"})


def resource(row: asyncpg.Record) -> ResourceRecord:
    return ResourceRecord(
        **{name: row[name] for name in _PLAIN},
        state=ResourceState(row["state"]),
        secret_refs=_secret_refs(row["secret_refs"]),
        requested_by=requester(row),
    )


resource_class = RecordRows(ResourceClassRecord, environment_ids=tuple, approver_team_ids=tuple)
template = RecordRows(TemplateRecord, environment_ids=tuple, resources=_template_resources)
status_event = RecordRows(ResourceStatusEvent, state=ResourceState)


def approval(row: asyncpg.Record) -> ResourceApprovalRecord:
    return ResourceApprovalRecord(
        resource_id=row["resource_id"],
        actor=requester(row, "actor_"),
        decision=ApprovalDecision(row["decision"]),
        comment=row["comment"],
        at=row["at"],
    )


async def add_status_event(
    connection: Connection,
    resource_id: int,
    state: ResourceState,
    message: str | None,
    source: str,
) -> None:
    await connection.execute(
        "INSERT INTO resource_status_events (resource_id, state, message, source) "
        "VALUES ($1, $2, $3, $4)",
        resource_id, state.value, message, source,
    )  # fmt: skip


async def locked_resource(
    connection: Connection, resource_id: int, expected_version: int | None = None
) -> asyncpg.Record:
    """The resource's row, locked until the transaction ends: NOT_FOUND when there is none,
    CONFLICT when it is not at `expected_version` (when given)."""
    row = await connection.fetchrow("SELECT * FROM resources WHERE id = $1 FOR UPDATE", resource_id)
    if row is None:
        raise NotFound(f"no resource {resource_id}", RESOURCE_PATH)
    if expected_version is not None and row["version"] != expected_version:
        raise Conflict(
            f"resource {resource_id} is at version {row['version']}, not {expected_version}",
            ["input", "expectedVersion"],
        )
    return row


async def lock_key(connection: Connection, scope: str, who: Requester, key: str) -> None:
    """Serialise the uses of one idempotency key by one requester until the transaction ends,
    so that a replay racing its first request finds it instead of failing."""
    await connection.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
        f"paved-{scope}:{who.kind.value}:{who.actor_id or 0}:{key}",
    )


def names(found: Sequence[asyncpg.Record], limit: int = 10) -> str:
    """`db (staging), cache (production)` for rows with `name` and `environment`, and how many
    more there are past `limit`."""
    shown = ", ".join(f"{row['name']} ({row['environment']})" for row in found[:limit])
    more = len(found) - limit
    return f"{shown} and {more} more" if more > 0 else shown
