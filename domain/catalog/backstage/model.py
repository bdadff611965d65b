"""What an import is made of: the entities read, what each maps to in the catalog (a
candidate), and the result each gets."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from domain.catalog.backstage.refs import EntityRef
from domain.catalog.records import TeamRecord, UserRecord
from domain.catalog.services import Lifecycle, Link, ServiceRecord
from domain.errors import CatalogError


class ImportAction(enum.StrEnum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    UNCHANGED = "UNCHANGED"
    SKIPPED = "SKIPPED"
    FAILED = "FAILED"
    DELETED = "DELETED"


class Target(enum.StrEnum):
    """The catalog's kind an entity maps to."""

    TEAM = "Team"
    USER = "User"
    SERVICE = "Service"


Record = TeamRecord | UserRecord | ServiceRecord


@dataclass(slots=True)
class ImportResult:
    """What became of one entity (or of a catalog entity a pruning import deleted)."""

    entity_ref: str
    kind: str
    location: str
    action: ImportAction = ImportAction.UNCHANGED
    slug: str | None = None
    """The slug (handle, for a user) it has in the catalog, once normalised."""
    notes: list[str] = field(default_factory=list)
    """What the import did that the file did not say: names normalised, values mapped, fields
    left out, and why an entity was skipped."""
    errors: list[CatalogError] = field(default_factory=list)
    target: Record | None = None

    def fail(self, *errors: CatalogError) -> None:
        self.action = ImportAction.FAILED
        self.errors.extend(errors)

    def skip(self, reason: str) -> None:
        self.action = ImportAction.SKIPPED
        self.notes.append(reason)


@dataclass(frozen=True, slots=True)
class ImportSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    failed: int = 0
    deleted: int = 0

    @classmethod
    def of(cls, results: list[ImportResult]) -> ImportSummary:
        counts = dict.fromkeys(ImportAction, 0)
        for result in results:
            counts[result.action] += 1
        return cls(**{action.value.lower(): count for action, count in counts.items()})

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(slots=True)
class Candidate:
    """An entity that maps to a catalog entity; `result` is where its outcome goes."""

    ref: EntityRef
    result: ImportResult

    @property
    def key(self) -> str:
        assert self.result.slug is not None
        return self.result.slug


@dataclass(slots=True)
class TeamCandidate(Candidate):
    name: str
    description: str | None
    parent: EntityRef | None
    children: list[EntityRef]
    members: list[EntityRef]


@dataclass(slots=True)
class UserCandidate(Candidate):
    name: str
    email: str
    member_of: list[EntityRef]


@dataclass(slots=True)
class ServiceCandidate(Candidate):
    name: str
    description: str | None
    lifecycle: Lifecycle
    tags: tuple[str, ...]
    links: tuple[Link, ...]
    repository_url: str | None
    system: str | None
    owner: EntityRef
    depends_on: list[EntityRef]

    def as_input(self) -> dict[str, Any]:
        """The fields as `createService`'s input holds them (checked by its model)."""
        return {
            "slug": self.key,
            "name": self.name,
            "owner": self.owner.name,
            "description": self.description,
            "lifecycle": self.lifecycle,
            "tags": list(self.tags),
            "links": [{"title": link.title, "url": link.url} for link in self.links],
            "repositoryUrl": self.repository_url,
            "system": self.system,
        }


@dataclass(slots=True)
class Mapped:
    """An import read and mapped: every entity's result (in the order read), and the
    candidates among them."""

    results: list[ImportResult] = field(default_factory=list)
    teams: list[TeamCandidate] = field(default_factory=list)
    users: list[UserCandidate] = field(default_factory=list)
    services: list[ServiceCandidate] = field(default_factory=list)
    skipped: set[EntityRef] = field(default_factory=set)
    """Entities of a kind the catalog has that were skipped (a user without an email)."""

    def candidates(self) -> list[Candidate]:
        return [*self.teams, *self.users, *self.services]
