"""The catalog's vocabulary: plain immutable records that ports accept and return."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar


class EnvironmentTier(enum.StrEnum):
    PRODUCTION = "PRODUCTION"
    STAGING = "STAGING"
    TESTING = "TESTING"
    DEVELOPMENT = "DEVELOPMENT"
    OTHER = "OTHER"


class OwnershipRole(enum.StrEnum):
    PRIMARY = "PRIMARY"
    CONTRIBUTOR = "CONTRIBUTOR"


class OrderDirection(enum.StrEnum):
    ASC = "ASC"
    DESC = "DESC"


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
