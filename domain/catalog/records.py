"""The catalog's vocabulary: plain immutable records that ports accept and return."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, Generic, TypeVar


class Lifecycle(enum.StrEnum):
    EXPERIMENTAL = "EXPERIMENTAL"
    PRODUCTION = "PRODUCTION"
    DEPRECATED = "DEPRECATED"


class EnvironmentTier(enum.StrEnum):
    PRODUCTION = "PRODUCTION"
    STAGING = "STAGING"
    TESTING = "TESTING"
    DEVELOPMENT = "DEVELOPMENT"
    OTHER = "OTHER"


class OwnershipRole(enum.StrEnum):
    PRIMARY = "PRIMARY"
    CONTRIBUTOR = "CONTRIBUTOR"


class ServiceOrderField(enum.StrEnum):
    NAME = "NAME"
    CREATED_AT = "CREATED_AT"
    UPDATED_AT = "UPDATED_AT"
    TIER = "TIER"


class OrderDirection(enum.StrEnum):
    ASC = "ASC"
    DESC = "DESC"


@dataclass(frozen=True, slots=True)
class Link:
    title: str
    url: str


@dataclass(frozen=True, slots=True)
class TeamRecord:
    id: int
    slug: str
    name: str
    description: str | None
    parent_id: int | None
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    handle: str
    name: str
    email: str
    version: int
    created_at: datetime
    updated_at: datetime


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
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class EnvironmentRecord:
    id: int
    slug: str
    name: str
    description: str | None
    tier: EnvironmentTier
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class OwnershipRecord:
    team: TeamRecord
    role: OwnershipRole


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
class PageRequest:
    """A validated window: exactly one of `first`/`last` is set; cursors are opaque strings."""

    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None

    @property
    def size(self) -> int:
        size = self.first if self.first is not None else self.last
        assert size is not None
        return size

    @property
    def backward(self) -> bool:
        return self.last is not None


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Edge(Generic[T]):
    cursor: str
    node: T


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    edges: list[Edge[T]] = field(default_factory=list)
    has_next_page: bool = False
    has_previous_page: bool = False

    @property
    def start_cursor(self) -> str | None:
        return self.edges[0].cursor if self.edges else None

    @property
    def end_cursor(self) -> str | None:
        return self.edges[-1].cursor if self.edges else None
