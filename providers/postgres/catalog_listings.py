"""The catalog's listings in SQL: source table, conditions, order and cursor scope.

Both read paths (the per-field reader and the compiled graph reader) build their
listings here, so they filter, order and scope cursors identically.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any, get_args, get_type_hints

from domain.catalog.records import OrderDirection
from domain.catalog.services import ServiceFilter, ServiceOrder, ServiceOrderField
from providers.postgres.keyset import Ordering, Params, SortKey, scope_digest
from providers.postgres.listings import like_pattern


@dataclass(frozen=True, slots=True)
class ListingQuery:
    """`source` is `table alias`; conditions and sort keys refer to the rows as `alias`."""

    source: str
    alias: str
    ordering: Ordering
    conditions: list[str]
    scope: str


_SERVICE_SORT_KEYS: dict[ServiceOrderField, tuple[SortKey, ...]] = {
    ServiceOrderField.NAME: (SortKey("s.name", "text"), SortKey("s.id", "bigint")),
    ServiceOrderField.CREATED_AT: (
        SortKey("s.created_at", "timestamptz"),
        SortKey("s.id", "bigint"),
    ),
    ServiceOrderField.UPDATED_AT: (
        SortKey("s.updated_at", "timestamptz"),
        SortKey("s.id", "bigint"),
    ),
    ServiceOrderField.TIER: (
        SortKey("coalesce(s.tier, 32767)", "integer"),
        SortKey("s.name", "text"),
        SortKey("s.id", "bigint"),
    ),
}
_TEAM_ORDER = Ordering((SortKey("t.name", "text"), SortKey("t.id", "bigint")))
_USER_ORDER = Ordering((SortKey("u.handle", "text"), SortKey("u.id", "bigint")))
_ENVIRONMENT_RANK = (
    "CASE e.tier WHEN 'DEVELOPMENT' THEN 1 WHEN 'TESTING' THEN 2 WHEN 'STAGING' THEN 3 "
    "WHEN 'PRODUCTION' THEN 4 ELSE 5 END"
)
_ENVIRONMENT_ORDER = Ordering(
    (SortKey(_ENVIRONMENT_RANK, "integer"), SortKey("e.name", "text"), SortKey("e.id", "bigint"))
)
TEAM_SERVICES_ORDER = ServiceOrder()


def owned_by(parent: str) -> str:
    """Services that the team `parent` owns, as primary or contributor."""
    return f"s.id IN (SELECT so.service_id FROM service_owners so WHERE so.team_id = {parent}.id)"


def member_of(parent: str) -> str:
    return f"u.id IN (SELECT tm.user_id FROM team_members tm WHERE tm.team_id = {parent}.id)"


def owner_team_exists(service_filter: ServiceFilter, params: Params) -> str | None:
    """The condition under which the filter's owner team exists, if it names one."""
    if service_filter.owner is None:
        return None
    return f"EXISTS (SELECT 1 FROM teams WHERE slug = {params.add(service_filter.owner)}::text)"


def _service_conditions(service_filter: ServiceFilter, params: Params) -> list[str]:
    conditions: list[str] = []
    if service_filter.search:
        pattern = params.add(like_pattern(service_filter.search))
        conditions.append(
            f"(s.slug ILIKE {pattern} OR s.name ILIKE {pattern} OR s.description ILIKE {pattern})"
        )
    if service_filter.owner is not None:
        team = params.add(service_filter.owner)
        conditions.append(
            "s.id IN (SELECT so.service_id FROM service_owners so WHERE so.role = 'PRIMARY' "
            "AND so.team_id IN (WITH RECURSIVE subtree(id) AS ("
            f"SELECT id FROM teams WHERE slug = {team}::text UNION "
            "SELECT t.id FROM teams t JOIN subtree ON t.parent_id = subtree.id"
            ") SELECT id FROM subtree))"
        )
    for name, array_type, all_of in _column_conditions():
        values = getattr(service_filter, name)
        if values is not None:
            array = f"{params.add(list(values))}::{array_type}[]"
            conditions.append(f"s.{name} @> {array}" if all_of else f"s.{name} = ANY({array})")
    return conditions


_SPECIAL_CONDITIONS = frozenset({"search", "owner"})
_ARRAY_TYPES = {int: "integer", str: "text"}


@functools.cache
def _column_conditions() -> tuple[tuple[str, str, bool], ...]:
    """The filter's list conditions on columns of the same name: (column, SQL type, all of)."""
    hints = get_type_hints(ServiceFilter)
    return tuple(
        (field.name, _array_type(hints[field.name]), bool(field.metadata.get("all_of")))
        for field in fields(ServiceFilter)
        if field.name not in _SPECIAL_CONDITIONS
    )


def _array_type(hint: Any) -> str:
    """`tuple[X, ...] | None` → the SQL type of X (enums by their values' type)."""
    (sequence,) = (arg for arg in get_args(hint) if arg is not type(None))
    item = get_args(sequence)[0]
    return next(sql for python, sql in _ARRAY_TYPES.items() if issubclass(item, python))


def _search_condition(
    alias: str, columns: Sequence[str], search: str | None, params: Params
) -> list[str]:
    if not search:
        return []
    pattern = params.add(like_pattern(search))
    return ["(" + " OR ".join(f"{alias}.{column} ILIKE {pattern}" for column in columns) + ")"]


def services(
    service_filter: ServiceFilter, order: ServiceOrder, params: Params, scope: str = "services"
) -> ListingQuery:
    return ListingQuery(
        "services s",
        "s",
        Ordering(_SERVICE_SORT_KEYS[order.field], order.direction is OrderDirection.DESC),
        _service_conditions(service_filter, params),
        scope_digest(scope, service_filter, order),
    )


def team_services(service_filter: ServiceFilter, params: Params) -> ListingQuery:
    return services(service_filter, TEAM_SERVICES_ORDER, params, scope="team-services")


def teams(search: str | None, params: Params) -> ListingQuery:
    conditions = _search_condition("t", ("slug", "name", "description"), search, params)
    return ListingQuery("teams t", "t", _TEAM_ORDER, conditions, scope_digest("teams", search))


def users(search: str | None, params: Params) -> ListingQuery:
    conditions = _search_condition("u", ("handle", "name", "email"), search, params)
    return ListingQuery("users u", "u", _USER_ORDER, conditions, scope_digest("users", search))


def team_members() -> ListingQuery:
    return ListingQuery("users u", "u", _USER_ORDER, [], scope_digest("team-members"))


def environments() -> ListingQuery:
    return ListingQuery("environments e", "e", _ENVIRONMENT_ORDER, [], scope_digest("environments"))
