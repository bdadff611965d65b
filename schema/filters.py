"""Filter and order inputs for listings."""

from __future__ import annotations

import dataclasses

import strawberry
from strawberry import UNSET

from domain.catalog import records
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

    def to_filter(self) -> records.ServiceFilter:
        return records.ServiceFilter.of(
            {field.name: given(getattr(self, field.name)) for field in dataclasses.fields(self)}
        )


@strawberry.input
class ServiceOrder:
    field: records.ServiceOrderField = records.ServiceOrderField.NAME
    direction: records.OrderDirection = records.OrderDirection.ASC

    def to_order(self) -> records.ServiceOrder:
        return records.ServiceOrder(self.field, self.direction)
