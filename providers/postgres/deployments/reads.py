"""Reading deployments: batched lookups (one statement per call) and keyset listings, newest
first (by creation time, then id)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import asyncpg

from domain.catalog.records import Page, PageRequest
from domain.deployments.model import ApprovalRecord, DeploymentRecord, Requester, StatusEvent
from domain.deployments.ports import (
    DeploymentFilter,
    Pair,
    Protection,
    ProviderSettings,
)
from providers.postgres.catalog_listings import ListingQuery
from providers.postgres.deployments import rows
from providers.postgres.deployments.rows import UNFINISHED_SQL
from providers.postgres.keyset import Ordering, Params, SortKey, scope_digest
from providers.postgres.listings import Listing, count, counts, fetch_page, fetch_pages
from providers.postgres.rows import grouped

T = TypeVar("T")

_ORDER = Ordering(
    (SortKey("d.created_at", "timestamptz"), SortKey("d.id", "bigint")), descending=True
)
_LISTING = Listing("deployments d", "d", rows.deployment)


def _conditions(deployment_filter: DeploymentFilter, params: Params) -> list[str]:
    conditions: list[str] = []
    if deployment_filter.service is not None:
        conditions.append(
            "d.service_id = (SELECT id FROM services WHERE slug = "
            f"{params.add(deployment_filter.service)}::text)"
        )
    if deployment_filter.environment is not None:
        conditions.append(
            "d.environment_id = (SELECT id FROM environments WHERE slug = "
            f"{params.add(deployment_filter.environment)}::text)"
        )
    if deployment_filter.states is not None:
        values = [state.value for state in deployment_filter.states]
        conditions.append(f"d.state = ANY({params.add(values)}::text[])")
    return conditions


def listing_query(
    deployment_filter: DeploymentFilter, params: Params, parent_column: str | None = None
) -> ListingQuery:
    """Every deployment (`parent_column` None), or one service's (`service_id`) or one
    environment's (`environment_id`): each with its own cursor scope."""
    scope = "deployments" if parent_column is None else f"deployments-by-{parent_column}"
    return ListingQuery(
        "deployments d",
        "d",
        _ORDER,
        _conditions(deployment_filter, params),
        scope_digest(scope, deployment_filter),
    )


class DeploymentReader:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def by_ids(self, ids: Sequence[int]) -> dict[int, DeploymentRecord]:
        found = await self._pool.fetch(
            "SELECT * FROM deployments WHERE id = ANY($1::bigint[])", list(ids)
        )
        return {row["id"]: rows.deployment(row) for row in found}

    async def by_idempotency_key(
        self, requester: Requester, idempotency_key: str
    ) -> DeploymentRecord | None:
        row = await self._pool.fetchrow(
            "SELECT * FROM deployments WHERE requested_by_kind = $1 "
            "AND coalesce(requested_by_id, 0) = coalesce($2::bigint, 0) AND idempotency_key = $3",
            requester.kind.value, requester.actor_id, idempotency_key,
        )  # fmt: skip
        return None if row is None else rows.deployment(row)

    async def page(
        self, page: PageRequest, deployment_filter: DeploymentFilter
    ) -> Page[DeploymentRecord]:
        params = Params()
        query = listing_query(deployment_filter, params)
        return await fetch_page(
            self._pool, _LISTING, query.ordering, page, query.scope, query.conditions, params
        )

    async def count(self, deployment_filter: DeploymentFilter) -> int:
        params = Params()
        return await count(
            self._pool, "deployments d", _conditions(deployment_filter, params), params
        )

    async def pages_of(
        self,
        column: str,
        parent_ids: Sequence[int],
        page: PageRequest,
        deployment_filter: DeploymentFilter,
    ) -> dict[int, Page[DeploymentRecord]]:
        """One page per service (`column` = service_id) or environment (environment_id)."""
        params = Params()
        query = listing_query(deployment_filter, params, column)
        return await fetch_pages(
            self._pool, _LISTING, query.ordering, page, query.scope, parent_ids,
            f"d.{column} = parent.id", query.conditions, params,
        )  # fmt: skip

    async def counts_of(
        self, column: str, parent_ids: Sequence[int], deployment_filter: DeploymentFilter
    ) -> dict[int, int]:
        """How many deployments each service (`column` = service_id) or environment has."""
        params = Params()
        conditions = _conditions(deployment_filter, params)
        return await counts(
            self._pool, "deployments d", parent_ids, f"d.{column} = parent.id", conditions, params
        )

    async def _by_pair(
        self, condition: str, service_ids: Sequence[int], environment_ids: Sequence[int]
    ) -> list[DeploymentRecord]:
        found = await self._pool.fetch(
            f"SELECT * FROM deployments WHERE {condition} AND service_id = ANY($1::bigint[]) "
            "AND environment_id = ANY($2::bigint[]) ORDER BY created_at, id",
            list(service_ids), list(environment_ids),
        )  # fmt: skip
        return [rows.deployment(row) for row in found]

    async def current(
        self, service_ids: Sequence[int], environment_ids: Sequence[int]
    ) -> dict[Pair, DeploymentRecord]:
        found = await self._by_pair("state = 'SUCCEEDED'", service_ids, environment_ids)
        return {(record.service_id, record.environment_id): record for record in found}

    async def pending(
        self, service_ids: Sequence[int], environment_ids: Sequence[int]
    ) -> dict[Pair, list[DeploymentRecord]]:
        by_pair: dict[Pair, list[DeploymentRecord]] = {}
        for record in await self._by_pair(
            f"state IN {UNFINISHED_SQL}", service_ids, environment_ids
        ):
            by_pair.setdefault((record.service_id, record.environment_id), []).append(record)
        return by_pair

    async def history(self, deployment_ids: Sequence[int]) -> dict[int, list[StatusEvent]]:
        return await self._of_deployments("deployment_events", deployment_ids, rows.event)

    async def approvals(self, deployment_ids: Sequence[int]) -> dict[int, list[ApprovalRecord]]:
        return await self._of_deployments("deployment_approvals", deployment_ids, rows.approval)

    async def _of_deployments(
        self, table: str, deployment_ids: Sequence[int], build: Callable[[asyncpg.Record], T]
    ) -> dict[int, list[T]]:
        """The rows of `table` about each deployment, oldest first."""
        found = await self._pool.fetch(
            f"SELECT * FROM {table} WHERE deployment_id = ANY($1::bigint[]) ORDER BY at, id",
            list(deployment_ids),
        )
        return grouped(deployment_ids, found, "deployment_id", build)

    async def unfinished(self) -> list[DeploymentRecord]:
        found = await self._pool.fetch(
            f"SELECT * FROM deployments WHERE state IN {UNFINISHED_SQL} ORDER BY id"
        )
        return [rows.deployment(row) for row in found]

    async def protection(self, environment_ids: Sequence[int]) -> dict[int, Protection]:
        found = await self._pool.fetch(
            f"{rows.PROTECTION_SQL} WHERE e.id = ANY($1::bigint[])", list(environment_ids)
        )
        return {row["id"]: rows.protection(row) for row in found}

    async def providers(self, environment_ids: Sequence[int]) -> dict[int, ProviderSettings]:
        found = await self._pool.fetch(
            "SELECT id, provider_kind, provider_settings FROM environments "
            "WHERE id = ANY($1::bigint[])",
            list(environment_ids),
        )
        return {row["id"]: rows.provider(row) for row in found}
