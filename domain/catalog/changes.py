"""Inputs to the catalog's write port: new entities (drafts) and partial updates (patches).

A patch field left at `KEEP` is not changed; `None` clears a nullable field.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final, TypeAlias, TypeVar

from domain.catalog.records import EnvironmentTier, Lifecycle, Link, OwnershipRole


class _Keep(enum.Enum):
    KEEP = "KEEP"


KEEP: Final = _Keep.KEEP
Keep: TypeAlias = _Keep
T = TypeVar("T")
Patched: TypeAlias = T | _Keep


@dataclass(frozen=True, slots=True)
class TeamDraft:
    slug: str
    name: str
    description: str | None = None
    parent: str | None = None


@dataclass(frozen=True, slots=True)
class TeamPatch:
    name: str | Keep = KEEP
    description: str | Keep | None = KEEP
    parent: str | Keep | None = KEEP


@dataclass(frozen=True, slots=True)
class UserDraft:
    handle: str
    name: str
    email: str


@dataclass(frozen=True, slots=True)
class UserPatch:
    name: str | Keep = KEEP
    email: str | Keep = KEEP


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


@dataclass(frozen=True, slots=True)
class ServicePatch:
    name: str | Keep = KEEP
    description: str | Keep | None = KEEP
    lifecycle: Lifecycle | Keep = KEEP
    tier: int | Keep | None = KEEP
    tags: tuple[str, ...] | Keep = KEEP
    links: tuple[Link, ...] | Keep = KEEP
    repository_url: str | Keep | None = KEEP


@dataclass(frozen=True, slots=True)
class OwnerAssignment:
    team: str
    role: OwnershipRole


@dataclass(frozen=True, slots=True)
class EnvironmentDraft:
    slug: str
    name: str
    tier: EnvironmentTier
    description: str | None = None


@dataclass(frozen=True, slots=True)
class EnvironmentPatch:
    name: str | Keep = KEEP
    description: str | Keep | None = KEEP
    tier: EnvironmentTier | Keep = KEEP
