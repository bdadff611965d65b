"""SQL fragments the graph compiler renders values with, exactly as the executor renders them:
JSON text, global IDs and cursors (base64url), ISO timestamps, floats, lists and conditions."""

from __future__ import annotations

from collections.abc import Sequence

from domain import read_plan as p
from providers.postgres.catalog_listings import ListingQuery

# json_build_object takes at most 100 arguments: 50 keys and their values.
MAX_FIELDS_PER_OBJECT = 50


class NotCompilable(Exception):
    """The plan has a shape this compiler does not render exactly; the executor answers."""


TABLES = {
    p.Entity.TEAM: "teams",
    p.Entity.USER: "users",
    p.Entity.SERVICE: "services",
    p.Entity.ENVIRONMENT: "environments",
    p.Entity.DEPLOYMENT: "deployments",
    p.Entity.RESOURCE: "resources",
    p.Entity.RESOURCE_CLASS: "resource_classes",
    p.Entity.TEMPLATE: "templates",
}


TIMESTAMPS = frozenset({"created_at", "updated_at", "started_at", "finished_at", "ready_at", "at"})


FLOATS = frozenset(
    {"deployments_per_day", "change_failure_rate", "mean_time_to_restore_seconds",
     "median_lead_time_seconds"}
)  # fmt: skip


def text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'::text"


def base64url(text_sql: str) -> str:
    """SQL for the unpadded URL-safe base64 of a text (PostgreSQL wraps lines at 76)."""
    return (
        f"rtrim(translate(encode(convert_to({text_sql}, 'UTF8'), 'base64'), E'+/\\n', '-_'), '=')"
    )


def global_id(entity: p.Entity, alias: str) -> str:
    return id_of(entity, f"{alias}.id")


def id_of(entity: p.Entity, id_sql: str) -> str:
    return base64url(f"'{entity.value}:' || {id_sql}")


def float_value(value: str) -> str:
    """A float8 as Python writes it: `2.0`, not PostgreSQL's `2` (same digits otherwise)."""
    return (
        f"CASE WHEN {value} = trunc({value}) AND abs({value}) < 1e15 "
        f"THEN ({value}::text || '.0')::json ELSE to_json({value}) END"
    )


def isoformat(value: str) -> str:
    utc = f"({value} AT TIME ZONE 'UTC')"
    return (
        f"(to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || "
        f"CASE WHEN to_char({utc}, 'US') = '000000' THEN '' ELSE to_char({utc}, '.US') END "
        "|| '+00:00')"
    )


def cursor_of(scope: str, alias: str, arity: int) -> str:
    """Matches `keyset.encode_cursor`: base64url of the compact JSON `[scope, [keys...]]`."""
    keys = " || ',' || ".join(f"to_json({alias}._k{index})::text" for index in range(arity))
    return base64url(f"'[\"{scope}\",[' || {keys} || ']]'")


def where(conditions: Sequence[str]) -> str:
    return f" WHERE {' AND '.join(conditions)}" if conditions else ""


def json_list(element: str, source: str, order_by: str) -> str:
    return f"(SELECT coalesce(json_agg({element} ORDER BY {order_by}), '[]'::json) FROM {source})"


def with_condition(query: ListingQuery, condition: str) -> ListingQuery:
    return ListingQuery(
        query.source, query.alias, query.ordering, [condition, *query.conditions], query.scope
    )


def required(parent: str | None) -> str:
    if parent is None:
        raise NotCompilable
    return parent


def constant(field: p.Constant) -> str:
    return "NULL::text" if field.value is None else text(field.value)


def boolean(value: bool) -> str:
    return "true" if value else "false"
