"""A whole read operation as data: what to fetch and the shape to answer it in.

The GraphQL layer turns a validated query into a `ReadPlan` (response keys already
chosen, fragments and directives already applied, arguments already checked); a
graph reader answers the whole plan at once. Nothing here knows GraphQL or SQL.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from providers.records import PageRequest, ServiceFilter, ServiceOrder


class Entity(enum.StrEnum):
    TEAM = "Team"
    USER = "User"
    SERVICE = "Service"
    ENVIRONMENT = "Environment"
    OWNERSHIP = "Ownership"
    LINK = "Link"


class Relation(enum.StrEnum):
    """A way from one object to others; the reader knows which table each one follows."""

    TEAM_PARENT = "team.parent"
    TEAM_CHILDREN = "team.children"
    USER_TEAMS = "user.teams"
    SERVICE_OWNER = "service.owner"
    SERVICE_OWNERS = "service.owners"
    SERVICE_DEPENDS_ON = "service.dependsOn"
    SERVICE_DEPENDENTS = "service.dependents"
    SERVICE_LINKS = "service.links"
    OWNERSHIP_TEAM = "ownership.team"


class ListingSource(enum.StrEnum):
    SERVICES = "services"
    TEAMS = "teams"
    USERS = "users"
    ENVIRONMENTS = "environments"
    TEAM_MEMBERS = "team.members"
    TEAM_SERVICES = "team.services"


class PageField(enum.StrEnum):
    HAS_NEXT_PAGE = "hasNextPage"
    HAS_PREVIOUS_PAGE = "hasPreviousPage"
    START_CURSOR = "startCursor"
    END_CURSOR = "endCursor"


@dataclass(frozen=True, slots=True)
class Stored:
    """A value stored on the object: `name` is the record field (`created_at`)."""

    key: str
    name: str


@dataclass(frozen=True, slots=True)
class GlobalId:
    key: str


@dataclass(frozen=True, slots=True)
class Constant:
    """A value known before reading: `__typename`, or null for an ID that names nothing."""

    key: str
    value: str | None


@dataclass(frozen=True, slots=True)
class Related:
    """One object (or null) when `many` is false, otherwise a list in the relation's order."""

    key: str
    relation: Relation
    many: bool
    selection: Selection


@dataclass(frozen=True, slots=True)
class Listing:
    source: ListingSource
    page: PageRequest
    service_filter: ServiceFilter | None = None
    order: ServiceOrder | None = None
    search: str | None = None


@dataclass(frozen=True, slots=True)
class Cursor:
    key: str


@dataclass(frozen=True, slots=True)
class EdgeNode:
    key: str
    selection: Selection


@dataclass(frozen=True, slots=True)
class Edges:
    key: str
    fields: tuple[Cursor | EdgeNode | Constant, ...]


@dataclass(frozen=True, slots=True)
class Nodes:
    key: str
    selection: Selection


@dataclass(frozen=True, slots=True)
class PageInfoValue:
    key: str
    field: PageField


@dataclass(frozen=True, slots=True)
class PageInfo:
    key: str
    fields: tuple[PageInfoValue | Constant, ...]


@dataclass(frozen=True, slots=True)
class TotalCount:
    key: str


@dataclass(frozen=True, slots=True)
class Connection:
    key: str
    listing: Listing
    fields: tuple[Edges | Nodes | PageInfo | TotalCount | Constant, ...]


Field = Stored | GlobalId | Constant | Related | Connection


@dataclass(frozen=True, slots=True)
class Selection:
    entity: Entity
    fields: tuple[Field, ...]


class LookupKey(enum.StrEnum):
    ID = "id"
    SLUG = "slug"
    HANDLE = "handle"


@dataclass(frozen=True, slots=True)
class Lookup:
    """One object found by a unique key, or null."""

    key: str
    by: LookupKey
    value: str | int
    selection: Selection


@dataclass(frozen=True, slots=True)
class LookupList:
    """`nodes(ids:)`: one entry per ID, null where it names nothing."""

    key: str
    items: tuple[Lookup | None, ...]


RootField = Lookup | LookupList | Connection | Constant


@dataclass(frozen=True, slots=True)
class ReadPlan:
    fields: tuple[RootField, ...]
