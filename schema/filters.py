"""Filter and order inputs for listings."""

from __future__ import annotations

import strawberry
from strawberry import UNSET

from domain.catalog import records
from resolvers.catalog_queries import ServiceFilterArgs
from schema.inputs import given


@strawberry.input(description="All given conditions must hold.")
class ServiceFilter:
    search: str | None = strawberry.field(
        default=UNSET, description="Case-insensitive match on slug, name or description."
    )
    lifecycle: list[records.Lifecycle] | None = UNSET
    owner: str | None = strawberry.field(
        default=UNSET, description="Slug of a team: services it or any of its sub-teams own."
    )
    tags: list[str] | None = strawberry.field(
        default=UNSET, description="Services with all these tags."
    )
    tier: list[int] | None = UNSET

    def to_args(self) -> ServiceFilterArgs:
        return ServiceFilterArgs(
            search=given(self.search),
            lifecycle=given(self.lifecycle),
            owner=given(self.owner),
            tags=given(self.tags),
            tier=given(self.tier),
        )


@strawberry.input
class ServiceOrder:
    field: records.ServiceOrderField = records.ServiceOrderField.NAME
    direction: records.OrderDirection = records.OrderDirection.ASC

    def to_order(self) -> records.ServiceOrder:
        return records.ServiceOrder(self.field, self.direction)
