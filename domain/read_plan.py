"""A whole read operation as data: what to fetch and the shape to answer it in.

The GraphQL layer turns a validated query into a `ReadPlan` (response keys already
chosen, fragments and directives already applied, arguments already checked); a
graph reader answers the whole plan at once. Nothing here knows GraphQL or SQL.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.catalog.records import PageRequest
from domain.catalog.services import ServiceFilter, ServiceOrder
from domain.deployments.ports import DeploymentFilter
from domain.resources.ports import ResourceFilter


class Entity(enum.StrEnum):
    TEAM = "Team"
    USER = "User"
    SERVICE = "Service"
    ENVIRONMENT = "Environment"
    OWNERSHIP = "Ownership"
    LINK = "Link"
    DEPLOYMENT = "Deployment"
    STATUS_EVENT = "DeploymentStatusEvent"
    APPROVAL = "Approval"
    SERVICE_ENVIRONMENT = "ServiceEnvironment"
    RELEASE_ROW = "ReleaseMatrixRow"
    PROTECTION = "Protection"
    PROVIDER = "Provider"
    COMPARISON = "EnvironmentComparison"
    METRICS = "DeploymentMetrics"
    API_CLIENT = "ApiClient"
    LOCAL_ADMIN = "LocalAdmin"
    FORMER_ACTOR = "FormerActor"
    RESOURCE = "Resource"
    RESOURCE_STATUS_EVENT = "ResourceStatusEvent"
    SECRET_REF = "SecretRef"  # noqa: S105 (a type name, not a secret)
    RESOURCE_CLASS = "ResourceClass"
    TEMPLATE = "Template"
    TEMPLATE_RESOURCE = "TemplateResource"


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
    SERVICE_CURRENT_DEPLOYMENT = "service.currentDeployment"
    SERVICE_ENVIRONMENTS = "service.environments"
    ENVIRONMENT_PROVIDER = "environment.provider"
    ENVIRONMENT_PROTECTION = "environment.protection"
    PROTECTION_APPROVER_TEAMS = "protection.approverTeams"
    DEPLOYMENT_SERVICE = "deployment.service"
    DEPLOYMENT_ENVIRONMENT = "deployment.environment"
    DEPLOYMENT_PROVIDER = "deployment.provider"
    DEPLOYMENT_PROMOTED_FROM = "deployment.promotedFrom"
    DEPLOYMENT_ROLLBACK_OF = "deployment.rollbackOf"
    DEPLOYMENT_ROLLBACK_TO = "deployment.rollbackTo"
    DEPLOYMENT_PREVIOUS = "deployment.previous"
    DEPLOYMENT_HISTORY = "deployment.history"
    DEPLOYMENT_APPROVALS = "deployment.approvals"
    SERVICE_ENVIRONMENT_ENVIRONMENT = "serviceEnvironment.environment"
    SERVICE_ENVIRONMENT_CURRENT = "serviceEnvironment.current"
    SERVICE_ENVIRONMENT_PENDING = "serviceEnvironment.pending"
    RELEASE_ROW_SERVICE = "releaseMatrixRow.service"
    RELEASE_ROW_CELLS = "releaseMatrixRow.cells"
    COMPARISON_FROM = "environmentComparison.from"
    COMPARISON_TO = "environmentComparison.to"
    API_CLIENT_TEAM = "apiClient.team"
    SERVICE_RESOURCES = "service.resources"
    RESOURCE_SERVICE = "resource.service"
    RESOURCE_ENVIRONMENT = "resource.environment"
    RESOURCE_CLASS = "resource.class"
    RESOURCE_SECRET_REFS = "resource.secretRefs"  # noqa: S105 (a relation, not a secret)
    RESOURCE_HISTORY = "resource.history"
    RESOURCE_APPROVALS = "resource.approvals"
    RESOURCE_CLASS_PROVIDER = "resourceClass.provider"
    RESOURCE_CLASS_ENVIRONMENTS = "resourceClass.environments"
    RESOURCE_CLASS_APPROVER_TEAMS = "resourceClass.approverTeams"
    TEMPLATE_ENVIRONMENTS = "template.environments"
    TEMPLATE_RESOURCES = "template.resources"
    TEMPLATE_RESOURCE_CLASS = "templateResource.class"


class ActorColumns(enum.StrEnum):
    """Where an actor is recorded: the prefix of its kind, id and name columns."""

    REQUESTED_BY = "requested_by_"
    APPROVAL = "actor_"


class ListingSource(enum.StrEnum):
    SERVICES = "services"
    TEAMS = "teams"
    USERS = "users"
    ENVIRONMENTS = "environments"
    TEAM_MEMBERS = "team.members"
    TEAM_SERVICES = "team.services"
    DEPLOYMENTS = "deployments"
    SERVICE_DEPLOYMENTS = "service.deployments"
    ENVIRONMENT_DEPLOYMENTS = "environment.deployments"
    RELEASE_MATRIX = "releaseMatrix"
    RESOURCES = "resources"
    ENVIRONMENT_RESOURCES = "environment.resources"
    RESOURCE_CLASSES = "resourceClasses"
    TEMPLATES = "templates"


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
    """One object (or null) when `many` is false, otherwise a list in the relation's order.

    `slugs` are the environments a relation is about, where it has an argument for them
    (`currentDeployment(environment:)`, the release matrix's `environments:`,
    `Service.resources(environment:)`, where None means every environment).
    """

    key: str
    relation: Relation
    many: bool
    selection: Selection
    slugs: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class ActorOf:
    """Whoever acted, as the object of its kind: one selection per possible type."""

    key: str
    columns: ActorColumns
    user: Selection
    api_client: Selection
    local_admin: Selection
    former_actor: Selection


@dataclass(frozen=True, slots=True)
class Listing:
    source: ListingSource
    page: PageRequest
    service_filter: ServiceFilter | None = None
    order: ServiceOrder | None = None
    search: str | None = None
    deployment_filter: DeploymentFilter | None = None
    environments: tuple[str, ...] | None = None
    resource_filter: ResourceFilter | None = None


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


Field = Stored | GlobalId | Constant | Related | ActorOf | Connection


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


@dataclass(frozen=True, slots=True)
class Comparison:
    """`compareEnvironments`: what one service runs in two environments."""

    key: str
    service: str
    source: str
    target: str
    selection: Selection


@dataclass(frozen=True, slots=True)
class Metrics:
    """`deploymentMetrics` of an environment for deployments created in [since, until)."""

    key: str
    environment: str
    service: str | None
    team: str | None
    since: datetime
    until: datetime | None
    selection: Selection


RootField = Lookup | LookupList | Connection | Comparison | Metrics | Constant


@dataclass(frozen=True, slots=True)
class ReadPlan:
    fields: tuple[RootField, ...]

    @property
    def volatile(self) -> bool:
        """Its answer depends on the moment of reading (metrics up to now), not only on
        stored data."""
        return any(isinstance(field, Metrics) and field.until is None for field in self.fields)


class PreparedRead(Protocol):
    volatile: bool
    """Two reads of unchanged data may differ (`ReadPlan.volatile`)."""

    async def __call__(self) -> str | None:
        """The operation's `data` as JSON text, or None when the executor must answer
        (a condition it would report as an error held at read time)."""
        ...


class CatalogGraphReader(Protocol):
    """Answers a whole read operation at once (the fast read path)."""

    def prepare(self, plan: ReadPlan) -> PreparedRead | None:
        """A reusable read for the plan, or None when it cannot answer the plan exactly."""
        ...
