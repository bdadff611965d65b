"""Root fields for deployments: listings, the release matrix, environment comparisons."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry import UNSET

from domain.deployments.ports import DeploymentFilter as StoreDeploymentFilter
from resolvers import deployment_queries as q
from schema.catalog import CatalogInfo, ServiceFilter
from schema.common import connection
from schema.deployments import (
    Deployment,
    DeploymentConnection,
    DeploymentFilter,
    DeploymentMetrics,
    EnvironmentComparison,
    ReleaseMatrixConnection,
)
from schema.inputs import given, page


@strawberry.type
class DeploymentQuery:
    @strawberry.field(description="Every deployment, newest first.")
    async def deployments(
        self,
        info: CatalogInfo,
        first: int | None = UNSET,
        after: str | None = UNSET,
        filter: DeploymentFilter | None = UNSET,
    ) -> DeploymentConnection:
        wanted = filter.to_filter() if filter else StoreDeploymentFilter()
        listing = await q.deployments(info.context, page(first, after), wanted)
        return connection(listing, Deployment.from_record)

    @strawberry.field(
        description="What runs where: services by name, a cell per environment "
        "(the given ones in that order, else all)."
    )
    async def release_matrix(
        self,
        info: CatalogInfo,
        filter: ServiceFilter | None = UNSET,
        environments: list[str] | None = UNSET,
        first: int | None = UNSET,
        after: str | None = UNSET,
    ) -> ReleaseMatrixConnection:
        listing = await q.release_matrix(
            info.context,
            page(first, after),
            filter.to_filter() if filter else None,
            given(environments),
        )
        return ReleaseMatrixConnection.from_listing(listing)

    @strawberry.field(description="What one service currently runs in two environments.")
    async def compare_environments(
        self,
        info: CatalogInfo,
        service: str,
        from_: Annotated[str, strawberry.argument(name="from")],
        to: str,
    ) -> EnvironmentComparison:
        found = await q.compare_environments(info.context, service, from_, to)
        return EnvironmentComparison.from_record(found)

    @strawberry.field(
        description="Delivery metrics of an environment for deployments created in "
        "[since, until), until defaulting to now; of one service or of a team's services."
    )
    async def deployment_metrics(
        self,
        info: CatalogInfo,
        environment: str,
        service: str | None = UNSET,
        team: str | None = UNSET,
        *,
        since: datetime,
        until: datetime | None = UNSET,
    ) -> DeploymentMetrics:
        found = await q.metrics(
            info.context, environment, given(service), given(team), since, given(until)
        )
        return DeploymentMetrics.from_record(found)
