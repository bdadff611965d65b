"""The catalog's read path on PostgreSQL: batched lookups and keyset listings.

Every method answers all the keys it is given with one statement, so a request's
statement count follows the shape of its query, not the number of rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from domain.catalog.records import (
    EnvironmentRecord,
    OwnershipRecord,
    OwnershipRole,
    Page,
    PageRequest,
    TeamRecord,
    UserRecord,
)
from domain.catalog.services import ServiceFilter, ServiceOrder, ServiceRecord
from providers.postgres import catalog_listings as listings
from providers.postgres import rows
from providers.postgres.catalog_listings import ListingQuery
from providers.postgres.keyset import Params
from providers.postgres.listings import Listing, count, counts, fetch_page, fetch_pages

_BUILD: dict[str, Any] = {"s": rows.service, "t": rows.team, "u": rows.user, "e": rows.environment}


def _ownership(row: asyncpg.Record) -> OwnershipRecord:
    return OwnershipRecord(rows.team(row), OwnershipRole(row["_role"]))


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
        found = await self._pool.fetch(
            "SELECT so.service_id AS _service, so.role AS _role, t.* FROM service_owners so "
            "JOIN teams t ON t.id = so.team_id WHERE so.service_id = ANY($1::bigint[]) "
            "ORDER BY so.role DESC, t.name, t.id",
            list(service_ids),
        )
        return rows.grouped(service_ids, found, "_service", _ownership)

    async def _related_services(
        self, sql: str, service_ids: Sequence[int]
    ) -> dict[int, list[ServiceRecord]]:
        found = await self._pool.fetch(sql, list(service_ids))
        return rows.grouped(service_ids, found, "_from", rows.service)

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
        found = await self._pool.fetch(
            "SELECT * FROM teams WHERE parent_id = ANY($1::bigint[]) ORDER BY name, id",
            list(team_ids),
        )
        return rows.grouped(team_ids, found, "parent_id", rows.team)

    async def teams_of_users(self, user_ids: Sequence[int]) -> dict[int, list[TeamRecord]]:
        found = await self._pool.fetch(
            "SELECT tm.user_id AS _user, t.* FROM team_members tm "
            "JOIN teams t ON t.id = tm.team_id "
            "WHERE tm.user_id = ANY($1::bigint[]) "
            "ORDER BY t.name, t.id",
            list(user_ids),
        )
        return rows.grouped(user_ids, found, "_user", rows.team)

    async def _page(self, query: ListingQuery, page: PageRequest, params: Params) -> Page[Any]:
        listing = Listing(query.source, query.alias, _BUILD[query.alias])
        return await fetch_page(
            self._pool, listing, query.ordering, page, query.scope, query.conditions, params
        )

    async def _pages(
        self,
        query: ListingQuery,
        page: PageRequest,
        parent_ids: Sequence[int],
        parent: str,
        params: Params,
    ) -> dict[int, Page[Any]]:
        listing = Listing(query.source, query.alias, _BUILD[query.alias])
        return await fetch_pages(
            self._pool, listing, query.ordering, page, query.scope,
            parent_ids, parent, query.conditions, params,
        )  # fmt: skip

    async def services_page(
        self, page: PageRequest, service_filter: ServiceFilter, order: ServiceOrder
    ) -> Page[ServiceRecord]:
        params = Params()
        return await self._page(listings.services(service_filter, order, params), page, params)

    async def services_count(self, service_filter: ServiceFilter) -> int:
        params = Params()
        query = listings.services(service_filter, ServiceOrder(), params)
        return await count(self._pool, query.source, query.conditions, params)

    async def team_services_pages(
        self, team_ids: Sequence[int], page: PageRequest, service_filter: ServiceFilter
    ) -> dict[int, Page[ServiceRecord]]:
        params = Params()
        query = listings.team_services(service_filter, params)
        return await self._pages(query, page, team_ids, listings.owned_by("parent"), params)

    async def team_services_counts(
        self, team_ids: Sequence[int], service_filter: ServiceFilter
    ) -> dict[int, int]:
        params = Params()
        query = listings.team_services(service_filter, params)
        return await counts(
            self._pool, query.source, team_ids, listings.owned_by("parent"), query.conditions,
            params,
        )  # fmt: skip

    async def team_members_pages(
        self, team_ids: Sequence[int], page: PageRequest
    ) -> dict[int, Page[UserRecord]]:
        query = listings.team_members()
        return await self._pages(query, page, team_ids, listings.member_of("parent"), Params())

    async def team_members_counts(self, team_ids: Sequence[int]) -> dict[int, int]:
        return await counts(
            self._pool, "users u", team_ids, listings.member_of("parent"), [], Params()
        )

    async def teams_page(self, page: PageRequest, search: str | None) -> Page[TeamRecord]:
        params = Params()
        return await self._page(listings.teams(search, params), page, params)

    async def teams_count(self, search: str | None) -> int:
        params = Params()
        query = listings.teams(search, params)
        return await count(self._pool, query.source, query.conditions, params)

    async def users_page(self, page: PageRequest, search: str | None) -> Page[UserRecord]:
        params = Params()
        return await self._page(listings.users(search, params), page, params)

    async def users_count(self, search: str | None) -> int:
        params = Params()
        query = listings.users(search, params)
        return await count(self._pool, query.source, query.conditions, params)

    async def environments_page(self, page: PageRequest) -> Page[EnvironmentRecord]:
        return await self._page(listings.environments(), page, Params())

    async def environments_count(self) -> int:
        return await count(self._pool, "environments e", [], Params())
