"""A service: its record, how it is created and changed (draft, patch), filtered and ordered."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from domain.catalog.changes import KEEP, Keep
from domain.catalog.records import OrderDirection


class Lifecycle(enum.StrEnum):
    EXPERIMENTAL = "EXPERIMENTAL"
    PRODUCTION = "PRODUCTION"
    DEPRECATED = "DEPRECATED"


class ServiceOrderField(enum.StrEnum):
    NAME = "NAME"
    CREATED_AT = "CREATED_AT"
    UPDATED_AT = "UPDATED_AT"
    TIER = "TIER"


@dataclass(frozen=True, slots=True)
class Link:
    title: str
    url: str


@dataclass(frozen=True, slots=True)
class ServiceRecord:
    id: int
    slug: str
    name: str
    description: str | None
    lifecycle: Lifecycle
    tier: int | None
    tags: tuple[str, ...]
    links: tuple[Link, ...]
    repository_url: str | None
    system: str | None
    version: int
    created_at: datetime
    updated_at: datetime


ALL_OF: Mapping[str, bool] = MappingProxyType({"all_of": True})
"""Field metadata on a filter's list: every value must match (by default any one does)."""


@dataclass(frozen=True, slots=True)
class ServiceFilter:
    """Every given condition holds. A list condition on a column matches any of its values,
    unless declared `ALL_OF`; `search` and `owner` have rules of their own."""

    search: str | None = None
    lifecycle: tuple[Lifecycle, ...] | None = None
    owner: str | None = None
    """Slug of a team: services it or any of its sub-teams own as primary."""
    tags: tuple[str, ...] | None = field(default=None, metadata=ALL_OF)
    tier: tuple[int, ...] | None = None
    system: tuple[str, ...] | None = None

    @classmethod
    def of(cls, conditions: Mapping[str, Any]) -> ServiceFilter:
        """The filter as the store sees it: an empty search dropped, lists as sorted sets, so
        equal filters compare (and scope their cursors) equal."""
        values: dict[str, Any] = {
            name: tuple(sorted(set(value))) if isinstance(value, list | tuple) else value
            for name, value in conditions.items()
            if value is not None
        }
        values["search"] = values.get("search") or None
        return cls(**values)


@dataclass(frozen=True, slots=True)
class ServiceOrder:
    field: ServiceOrderField = ServiceOrderField.NAME
    direction: OrderDirection = OrderDirection.ASC


@dataclass(frozen=True, slots=True)
class ServiceDraft:
    slug: str
    name: str
    owner: str
    description: str | None = None
    lifecycle: Lifecycle = Lifecycle.EXPERIMENTAL
    tier: int | None = None
    tags: tuple[str, ...] = ()
    links: tuple[Link, ...] = ()
    repository_url: str | None = None
    system: str | None = None


@dataclass(frozen=True, slots=True)
class ServicePatch:
    name: str | Keep = KEEP
    description: str | Keep | None = KEEP
    lifecycle: Lifecycle | Keep = KEEP
    tier: int | Keep | None = KEEP
    tags: tuple[str, ...] | Keep = KEEP
    links: tuple[Link, ...] | Keep = KEEP
    repository_url: str | Keep | None = KEEP
    system: str | Keep | None = KEEP
