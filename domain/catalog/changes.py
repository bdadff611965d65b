"""Inputs to the catalog's write port: new entities (drafts) and partial updates (patches).

A patch field left at `KEEP` is not changed; `None` clears a nullable field.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final, TypeAlias, TypeVar

from domain.catalog.records import EnvironmentTier, OwnershipRole


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
