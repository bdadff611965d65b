"""The release matrix: a page of services (the services listing's filter and keyset, by name),
each with, per environment, its current deployment and the pending ones. Two statements
whatever the page size: the page of services, then the environments with those services'
current and unfinished deployments (both found through the partial indexes
`deployments_current` and `deployments_one_unfinished`)."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from domain.catalog.records import Edge, EnvironmentRecord, EnvironmentTier, Page, PageRequest
from domain.catalog.services import ServiceFilter, ServiceOrder, ServiceRecord
from domain.deployments.model import DeploymentRecord, DeploymentState
from domain.deployments.ports import ReleaseCell, ReleaseRow
from domain.errors import NotFound
from providers.postgres import catalog_listings, rows
from providers.postgres.deployments import rows as deployment_rows
from providers.postgres.deployments.rows import UNFINISHED_SQL
from providers.postgres.keyset import Params
from providers.postgres.listings import Listing, fetch_page

_ENVIRONMENT_COLUMNS = (
    "id", "slug", "name", "description", "tier", "version", "created_at", "updated_at",
)  # fmt: skip
_ENVIRONMENT_ORDER = ", ".join(
    key.expression for key in catalog_listings.environments().ordering.keys
)
_CELLS = f"""
SELECT {", ".join(f"e.{name} AS e_{name}" for name in _ENVIRONMENT_COLUMNS)}, d.*
FROM environments e
LEFT JOIN deployments d ON d.environment_id = e.id AND d.service_id = ANY($1::bigint[])
    AND (d.state = 'SUCCEEDED' OR d.state IN {UNFINISHED_SQL})
WHERE $2::text[] IS NULL OR e.slug = ANY($2::text[])
ORDER BY {_ENVIRONMENT_ORDER}, d.created_at, d.id
"""


def _environment(row: asyncpg.Record) -> EnvironmentRecord:
    values = {name: row[f"e_{name}"] for name in _ENVIRONMENT_COLUMNS}
    values["tier"] = EnvironmentTier(values["tier"])
    return EnvironmentRecord(**values)


async def release_matrix(
    pool: asyncpg.Pool,
    page: PageRequest,
    service_filter: ServiceFilter,
    environment_slugs: Sequence[str] | None,
) -> Page[ReleaseRow]:
    """Cells follow `environment_slugs` when given (an unknown one is NOT_FOUND), else every
    environment in the environments listing's order."""
    params = Params()
    query = catalog_listings.services(service_filter, ServiceOrder(), params)
    listing = Listing(query.source, query.alias, rows.service)
    services: Page[ServiceRecord] = await fetch_page(
        pool, listing, query.ordering, page, query.scope, query.conditions, params
    )
    service_ids = [edge.node.id for edge in services.edges]
    slugs = None if environment_slugs is None else list(dict.fromkeys(environment_slugs))
    environments: dict[int, EnvironmentRecord] = {}
    current: dict[tuple[int, int], DeploymentRecord] = {}
    pending: dict[tuple[int, int], list[DeploymentRecord]] = {}
    for row in await pool.fetch(_CELLS, service_ids, slugs):
        environment = environments.setdefault(row["e_id"], _environment(row))
        if row["id"] is None:
            continue
        deployment = deployment_rows.deployment(row)
        key = (deployment.service_id, environment.id)
        if deployment.state is DeploymentState.SUCCEEDED:
            current[key] = deployment
        else:
            pending.setdefault(key, []).append(deployment)
    ordered = list(environments.values())
    if slugs is not None:
        by_slug = {environment.slug: environment for environment in ordered}
        missing = [slug for slug in slugs if slug not in by_slug]
        if missing:
            raise NotFound(f"no environment '{missing[0]}'", ["environments"])
        ordered = [by_slug[slug] for slug in slugs]
    edges = [
        Edge(
            edge.cursor,
            ReleaseRow(
                edge.node,
                tuple(
                    ReleaseCell(
                        environment,
                        current.get((edge.node.id, environment.id)),
                        tuple(pending.get((edge.node.id, environment.id), ())),
                    )
                    for environment in ordered
                ),
            ),
        )
        for edge in services.edges
    ]
    return Page(edges, services.has_next_page, services.has_previous_page)
