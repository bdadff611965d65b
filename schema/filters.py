"""Filter and order inputs for listings."""

from __future__ import annotations

import strawberry

from providers import records
from resolvers.catalog_queries import ServiceFilterArgs


@strawberry.input(description="All given conditions must hold.")
class ServiceFilter:
    search: str | None = strawberry.field(
        default=None, description="Case-insensitive match on slug, name or description."
    )
    lifecycle: list[records.Lifecycle] | None = None
    owner: str | None = strawberry.field(
        default=None, description="Slug of a team: services it or any of its sub-teams own."
    )
    tags: list[str] | None = strawberry.field(default=None, description="Services with all these tags.")
    tier: list[int] | None = None

    def to_args(self) -> ServiceFilterArgs:
        return ServiceFilterArgs(
            search=self.search,
            lifecycle=self.lifecycle,
            owner=self.owner,
            tags=self.tags,
            tier=self.tier,
        )


@strawberry.input
class ServiceOrder:
    field: records.ServiceOrderField = records.ServiceOrderField.NAME
    direction: records.OrderDirection = records.OrderDirection.ASC

    def to_order(self) -> records.ServiceOrder:
        return records.ServiceOrder(self.field, self.direction)
