"""The catalog's read path on PostgreSQL: batched lookups and keyset listings.

Every method answers all the keys it is given with one statement, so a request's
statement count follows the shape of its query, not the number of rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from providers.postgres import rows
from providers.postgres.keyset import Ordering, Params, SortKey, scope_digest
from providers.postgres.listings import (
    Listing,
    count,
    counts,
    fetch_page,
    fetch_pages,
    like_pattern,
)
from providers.records import (
    EnvironmentRecord,
    OrderDirection,
    OwnershipRecord,
    OwnershipRole,
    Page,
    PageRequest,
    ServiceFilter,
    ServiceOrder,
    ServiceOrderField,
    ServiceRecord,
    TeamRecord,
    UserRecord,
)

SERVICES = Listing("services s", "s", rows.service)
TEAMS = Listing("teams t", "t", rows.team)
USERS = Listing("users u", "u", rows.user)
ENVIRONMENTS = Listing("environments e", "e", rows.environment)

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
_OWNED_BY_PARENT = (
    "s.id IN (SELECT so.service_id FROM service_owners so WHERE so.team_id = parent.id)"
)
_MEMBER_OF_PARENT = "u.id IN (SELECT tm.user_id FROM team_members tm WHERE tm.team_id = parent.id)"


def _service_ordering(order: ServiceOrder) -> Ordering:
    return Ordering(_SERVICE_SORT_KEYS[order.field], order.direction is OrderDirection.DESC)


def _service_conditions(service_filter: ServiceFilter, params: Params) -> list[str]:
    conditions: list[str] = []
    if service_filter.search:
        pattern = params.add(like_pattern(service_filter.search))
        conditions.append(
            f"(s.slug ILIKE {pattern} OR s.name ILIKE {pattern} OR s.description ILIKE {pattern})"
        )
    if service_filter.lifecycle is not None:
        conditions.append(
            f"s.lifecycle = ANY({params.add(list(service_filter.lifecycle))}::text[])"
        )
    if service_filter.owner_team_id is not None:
        team = params.add(service_filter.owner_team_id)
        conditions.append(
            "s.id IN (SELECT so.service_id FROM service_owners so WHERE so.role = 'PRIMARY' "
            "AND so.team_id IN (WITH RECURSIVE subtree(id) AS ("
            f"SELECT {team}::bigint UNION "
            "SELECT t.id FROM teams t JOIN subtree ON t.parent_id = subtree.id"
            ") SELECT id FROM subtree))"
        )
    if service_filter.tags is not None:
        conditions.append(f"s.tags @> {params.add(list(service_filter.tags))}::text[]")
    if service_filter.tier is not None:
        conditions.append(f"s.tier = ANY({params.add(list(service_filter.tier))}::smallint[])")
    return conditions


def _search_condition(
    alias: str, columns: Sequence[str], search: str | None, params: Params
) -> list[str]:
    if not search:
        return []
    pattern = params.add(like_pattern(search))
    return ["(" + " OR ".join(f"{alias}.{column} ILIKE {pattern}" for column in columns) + ")"]


class PostgresCatalogReader:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def _by_keys(self, sql: str, keys: Sequence[Any], key: str, build: Any) -> dict[Any, Any]:
        return {row[key]: build(row) for row in await self._pool.fetch(sql, list(keys))}

    async def teams_by_id(self, ids: Sequence[int]) -> dict[int, TeamRecord]:
        return await self._by_keys(
            "SELECT * FROM teams WHERE id = ANY($1::bigint[])", ids, "id", rows.team
        )

    async def teams_by_slug(self, slugs: Sequence[str]) -> dict[str, TeamRecord]:
        return await self._by_keys(
            "SELECT * FROM teams WHERE slug = ANY($1::text[])", slugs, "slug", rows.team
        )

    async def users_by_id(self, ids: Sequence[int]) -> dict[int, UserRecord]:
        return await self._by_keys(
            "SELECT * FROM users WHERE id = ANY($1::bigint[])", ids, "id", rows.user
        )

    async def users_by_handle(self, handles: Sequence[str]) -> dict[str, UserRecord]:
        return await self._by_keys(
            "SELECT * FROM users WHERE handle = ANY($1::text[])", handles, "handle", rows.user
        )

    async def services_by_id(self, ids: Sequence[int]) -> dict[int, ServiceRecord]:
        return await self._by_keys(
            "SELECT * FROM services WHERE id = ANY($1::bigint[])", ids, "id", rows.service
        )

    async def services_by_slug(self, slugs: Sequence[str]) -> dict[str, ServiceRecord]:
        return await self._by_keys(
            "SELECT * FROM services WHERE slug = ANY($1::text[])", slugs, "slug", rows.service
        )

    async def environments_by_id(self, ids: Sequence[int]) -> dict[int, EnvironmentRecord]:
        return await self._by_keys(
            "SELECT * FROM environments WHERE id = ANY($1::bigint[])", ids, "id", rows.environment
        )

    async def environments_by_slug(self, slugs: Sequence[str]) -> dict[str, EnvironmentRecord]:
        return await self._by_keys(
            "SELECT * FROM environments WHERE slug = ANY($1::text[])",
            slugs,
            "slug",
            rows.environment,
        )

    async def owners_of_services(
        self, service_ids: Sequence[int]
    ) -> dict[int, list[OwnershipRecord]]:
        found: dict[int, list[OwnershipRecord]] = {service_id: [] for service_id in service_ids}
        for row in await self._pool.fetch(
            "SELECT so.service_id AS _service, so.role AS _role, t.* FROM service_owners so "
            "JOIN teams t ON t.id = so.team_id WHERE so.service_id = ANY($1::bigint[]) "
            "ORDER BY so.role DESC, t.name, t.id",
            list(service_ids),
        ):
            found[row["_service"]].append(
                OwnershipRecord(rows.team(row), OwnershipRole(row["_role"]))
            )
        return found

    async def _related_services(
        self, sql: str, service_ids: Sequence[int]
    ) -> dict[int, list[ServiceRecord]]:
        found: dict[int, list[ServiceRecord]] = {service_id: [] for service_id in service_ids}
        for row in await self._pool.fetch(sql, list(service_ids)):
            found[row["_from"]].append(rows.service(row))
        return found

    async def dependencies_of_services(
        self, service_ids: Sequence[int]
    ) -> dict[int, list[ServiceRecord]]:
        return await self._related_services(
            "SELECT d.service_id AS _from, s.* FROM service_dependencies d "
            "JOIN services s ON s.id = d.depends_on_id WHERE d.service_id = ANY($1::bigint[]) "
            "ORDER BY s.name, s.id",
            service_ids,
        )

    async def dependents_of_services(
        self, service_ids: Sequence[int]
    ) -> dict[int, list[ServiceRecord]]:
        return await self._related_services(
            "SELECT d.depends_on_id AS _from, s.* FROM service_dependencies d "
            "JOIN services s ON s.id = d.service_id WHERE d.depends_on_id = ANY($1::bigint[]) "
            "ORDER BY s.name, s.id",
            service_ids,
        )

    async def children_of_teams(self, team_ids: Sequence[int]) -> dict[int, list[TeamRecord]]:
        found: dict[int, list[TeamRecord]] = {team_id: [] for team_id in team_ids}
        for row in await self._pool.fetch(
            "SELECT * FROM teams WHERE parent_id = ANY($1::bigint[]) ORDER BY name, id",
            list(team_ids),
        ):
            found[row["parent_id"]].append(rows.team(row))
        return found

    async def teams_of_users(self, user_ids: Sequence[int]) -> dict[int, list[TeamRecord]]:
        found: dict[int, list[TeamRecord]] = {user_id: [] for user_id in user_ids}
        for row in await self._pool.fetch(
            "SELECT tm.user_id AS _user, t.* FROM team_members tm "
            "JOIN teams t ON t.id = tm.team_id "
            "WHERE tm.user_id = ANY($1::bigint[]) "
            "ORDER BY t.name, t.id",
            list(user_ids),
        ):
            found[row["_user"]].append(rows.team(row))
        return found

    async def services_page(
        self, page: PageRequest, service_filter: ServiceFilter, order: ServiceOrder
    ) -> Page[ServiceRecord]:
        params = Params()
        conditions = _service_conditions(service_filter, params)
        scope = scope_digest("services", service_filter, order)
        return await fetch_page(
            self._pool, SERVICES, _service_ordering(order), page, scope, conditions, params
        )

    async def services_count(self, service_filter: ServiceFilter) -> int:
        params = Params()
        return await count(
            self._pool, SERVICES.source, _service_conditions(service_filter, params), params
        )

    async def team_services_pages(
        self, team_ids: Sequence[int], page: PageRequest, service_filter: ServiceFilter
    ) -> dict[int, Page[ServiceRecord]]:
        params = Params()
        conditions = _service_conditions(service_filter, params)
        order = ServiceOrder()
        scope = scope_digest("team-services", service_filter, order)
        return await fetch_pages(
            self._pool, SERVICES, _service_ordering(order), page, scope,
            team_ids, _OWNED_BY_PARENT, conditions, params,
        )  # fmt: skip

    async def team_services_counts(
        self, team_ids: Sequence[int], service_filter: ServiceFilter
    ) -> dict[int, int]:
        params = Params()
        conditions = _service_conditions(service_filter, params)
        return await counts(
            self._pool, SERVICES.source, team_ids, _OWNED_BY_PARENT, conditions, params
        )

    async def team_members_pages(
        self, team_ids: Sequence[int], page: PageRequest
    ) -> dict[int, Page[UserRecord]]:
        return await fetch_pages(
            self._pool, USERS, _USER_ORDER, page, scope_digest("team-members"),
            team_ids, _MEMBER_OF_PARENT, [], Params(),
        )  # fmt: skip

    async def team_members_counts(self, team_ids: Sequence[int]) -> dict[int, int]:
        return await counts(self._pool, USERS.source, team_ids, _MEMBER_OF_PARENT, [], Params())

    async def teams_page(self, page: PageRequest, search: str | None) -> Page[TeamRecord]:
        params = Params()
        conditions = _search_condition("t", ("slug", "name", "description"), search, params)
        scope = scope_digest("teams", search)
        return await fetch_page(self._pool, TEAMS, _TEAM_ORDER, page, scope, conditions, params)

    async def teams_count(self, search: str | None) -> int:
        params = Params()
        conditions = _search_condition("t", ("slug", "name", "description"), search, params)
        return await count(self._pool, TEAMS.source, conditions, params)

    async def users_page(self, page: PageRequest, search: str | None) -> Page[UserRecord]:
        params = Params()
        conditions = _search_condition("u", ("handle", "name", "email"), search, params)
        scope = scope_digest("users", search)
        return await fetch_page(self._pool, USERS, _USER_ORDER, page, scope, conditions, params)

    async def users_count(self, search: str | None) -> int:
        params = Params()
        conditions = _search_condition("u", ("handle", "name", "email"), search, params)
        return await count(self._pool, USERS.source, conditions, params)

    async def environments_page(self, page: PageRequest) -> Page[EnvironmentRecord]:
        scope = scope_digest("environments")
        return await fetch_page(
            self._pool, ENVIRONMENTS, _ENVIRONMENT_ORDER, page, scope, [], Params()
        )

    async def environments_count(self) -> int:
        return await count(self._pool, ENVIRONMENTS.source, [], Params())
