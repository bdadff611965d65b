"""Reading classes, templates and resources: batched lookups and keyset listings, each one
statement. Classes and templates are listed by slug, resources by id (oldest first)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import asyncpg

from domain.catalog.records import Page, PageRequest
from domain.deployments.model import Requester
from domain.resources.model import (
    ResourceApprovalRecord,
    ResourceClassRecord,
    ResourceRecord,
    ResourceStatusEvent,
    TemplateRecord,
)
from domain.resources.ports import ResourceFilter
from providers.postgres import listings
from providers.postgres.keyset import Ordering, Params, SortKey, scope_digest
from providers.postgres.listings import Listing, fetch_page, fetch_pages
from providers.postgres.resources import rows
from providers.postgres.resources.rows import CLASS_SELECT, TEMPLATE_SELECT
from providers.postgres.rows import grouped

T = TypeVar("T")

_CLASSES = Listing(f"({CLASS_SELECT}) c", "c", rows.resource_class)
_CLASS_ORDER = Ordering((SortKey("c.slug", "text"), SortKey("c.id", "bigint")))
_TEMPLATES = Listing(f"({TEMPLATE_SELECT}) t", "t", rows.template)
_TEMPLATE_ORDER = Ordering((SortKey("t.slug", "text"), SortKey("t.id", "bigint")))
_RESOURCES = Listing("resources r", "r", rows.resource)
_RESOURCE_ORDER = Ordering((SortKey("r.id", "bigint"),))

_ENVIRONMENT_RANK = (
    "CASE e.tier WHEN 'DEVELOPMENT' THEN 1 WHEN 'TESTING' THEN 2 WHEN 'STAGING' THEN 3 "
    "WHEN 'PRODUCTION' THEN 4 ELSE 5 END"
)
"""Environments in the order the catalog lists them (by tier, then name)."""


def _conditions(resource_filter: ResourceFilter, params: Params) -> list[str]:
    conditions: list[str] = []
    for value, column, table in (
        (resource_filter.service, "service_id", "services"),
        (resource_filter.environment, "environment_id", "environments"),
        (resource_filter.resource_class, "class_id", "resource_classes"),
    ):
        if value is not None:
            conditions.append(
                f"r.{column} = (SELECT id FROM {table} WHERE slug = {params.add(value)}::text)"
            )
    if resource_filter.states is not None:
        values = [state.value for state in resource_filter.states]
        conditions.append(f"r.state = ANY({params.add(values)}::text[])")
    if resource_filter.owner is not None:
        team = params.add(resource_filter.owner)
        conditions.append(
            "r.service_id IN (SELECT so.service_id FROM service_owners so "
            "WHERE so.team_id IN (WITH RECURSIVE subtree(id) AS ("
            f"SELECT id FROM teams WHERE slug = {team}::text UNION "
            "SELECT t.id FROM teams t JOIN subtree ON t.parent_id = subtree.id"
            ") SELECT id FROM subtree))"
        )
    return conditions


class ResourceReader:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    # --- classes and templates ------------------------------------------------------------

    async def classes_by_ids(self, ids: Sequence[int]) -> dict[int, ResourceClassRecord]:
        found = await self._pool.fetch(f"{CLASS_SELECT} WHERE c.id = ANY($1::bigint[])", list(ids))
        return {row["id"]: rows.resource_class(row) for row in found}

    async def classes_by_slugs(self, slugs: Sequence[str]) -> dict[str, ResourceClassRecord]:
        found = await self._pool.fetch(
            f"{CLASS_SELECT} WHERE c.slug = ANY($1::text[])", list(slugs)
        )
        return {row["slug"]: rows.resource_class(row) for row in found}

    async def class_page(self, page: PageRequest) -> Page[ResourceClassRecord]:
        scope = scope_digest("resource-classes")
        return await fetch_page(self._pool, _CLASSES, _CLASS_ORDER, page, scope, [], Params())

    async def class_count(self) -> int:
        return await listings.count(self._pool, "resource_classes c", [], Params())

    async def templates_by_ids(self, ids: Sequence[int]) -> dict[int, TemplateRecord]:
        found = await self._pool.fetch(
            f"{TEMPLATE_SELECT} WHERE t.id = ANY($1::bigint[])", list(ids)
        )
        return {row["id"]: rows.template(row) for row in found}

    async def templates_by_slugs(self, slugs: Sequence[str]) -> dict[str, TemplateRecord]:
        found = await self._pool.fetch(
            f"{TEMPLATE_SELECT} WHERE t.slug = ANY($1::text[])", list(slugs)
        )
        return {row["slug"]: rows.template(row) for row in found}

    async def template_page(self, page: PageRequest) -> Page[TemplateRecord]:
        scope = scope_digest("templates")
        return await fetch_page(self._pool, _TEMPLATES, _TEMPLATE_ORDER, page, scope, [], Params())

    async def template_count(self) -> int:
        return await listings.count(self._pool, "templates t", [], Params())

    # --- resources ------------------------------------------------------------------------

    async def by_ids(self, ids: Sequence[int]) -> dict[int, ResourceRecord]:
        found = await self._pool.fetch(
            "SELECT * FROM resources WHERE id = ANY($1::bigint[])", list(ids)
        )
        return {row["id"]: rows.resource(row) for row in found}

    async def by_idempotency_key(
        self, requester: Requester, idempotency_key: str
    ) -> ResourceRecord | None:
        row = await self._pool.fetchrow(
            "SELECT * FROM resources WHERE requested_by_kind = $1 "
            "AND coalesce(requested_by_id, 0) = coalesce($2::bigint, 0) AND idempotency_key = $3",
            requester.kind.value, requester.actor_id, idempotency_key,
        )  # fmt: skip
        return None if row is None else rows.resource(row)

    async def page(
        self, page: PageRequest, resource_filter: ResourceFilter
    ) -> Page[ResourceRecord]:
        """Every resource the filter matches, DELETED ones included unless `states` leaves
        them out."""
        params = Params()
        conditions = _conditions(resource_filter, params)
        scope = scope_digest("resources", resource_filter)
        return await fetch_page(
            self._pool, _RESOURCES, _RESOURCE_ORDER, page, scope, conditions, params
        )

    async def count(self, resource_filter: ResourceFilter) -> int:
        """How many resources `page` lists under the filter."""
        params = Params()
        return await listings.count(
            self._pool, "resources r", _conditions(resource_filter, params), params
        )

    async def of_services(
        self, service_ids: Sequence[int], environment_slug: str | None
    ) -> dict[int, list[ResourceRecord]]:
        found = await self._pool.fetch(
            "SELECT r.* FROM resources r JOIN environments e ON e.id = r.environment_id "
            "WHERE r.service_id = ANY($1::bigint[]) AND r.state <> 'DELETED' "
            "AND ($2::text IS NULL OR e.slug = $2::text) "
            f"ORDER BY {_ENVIRONMENT_RANK}, e.name, e.id, r.name",
            list(service_ids), environment_slug,
        )  # fmt: skip
        return grouped(service_ids, found, "service_id", rows.resource)

    async def environment_pages(
        self, environment_ids: Sequence[int], page: PageRequest
    ) -> dict[int, Page[ResourceRecord]]:
        """Each environment's resources, DELETED ones included."""
        scope = scope_digest("resources-by-environment")
        return await fetch_pages(
            self._pool, _RESOURCES, _RESOURCE_ORDER, page, scope, environment_ids,
            "r.environment_id = parent.id", [], Params(),
        )  # fmt: skip

    async def environment_counts(self, environment_ids: Sequence[int]) -> dict[int, int]:
        """How many resources each environment's page lists."""
        return await listings.counts(
            self._pool, "resources r", environment_ids, "r.environment_id = parent.id", [],
            Params(),
        )  # fmt: skip

    async def history(self, ids: Sequence[int]) -> dict[int, list[ResourceStatusEvent]]:
        return await self._of_resources("resource_status_events", ids, rows.status_event)

    async def approvals(self, ids: Sequence[int]) -> dict[int, list[ResourceApprovalRecord]]:
        return await self._of_resources("resource_approvals", ids, rows.approval)

    async def _of_resources(
        self, table: str, ids: Sequence[int], build: Callable[[asyncpg.Record], T]
    ) -> dict[int, list[T]]:
        """The rows of `table` about each resource, oldest first."""
        found = await self._pool.fetch(
            f"SELECT * FROM {table} WHERE resource_id = ANY($1::bigint[]) ORDER BY at, id",
            list(ids),
        )
        return grouped(ids, found, "resource_id", build)
