"""The catalog's object types: Team, User, Service, Ownership, Link, Environment.

Fields stored on the record are plain attributes; related objects are resolved
through `resolvers.catalog_queries`, which batches them per request.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

import strawberry
from strawberry import UNSET
from strawberry.types import Info

from domain.catalog import records, rules, services
from domain.deployments.model import DeploymentState
from resolvers import access_queries as aq
from resolvers import audit_queries as audit
from resolvers import catalog_queries as q
from resolvers import deployment_queries as dq
from resolvers import resource_queries as rq
from resolvers.context import Context
from schema.common import Actor, Connection, Node, connection, lazy, list_bound, many, schema_type
from schema.inputs import given, page

# Types of the modules above (audit, access, deployments), named without importing them.
AUDIT_EVENTS: Any = many(Connection, lazy("AuditEvent", "schema.audit"))
API_TOKENS: Any = many(list, lazy("ApiToken", "schema.access"))
API_CLIENTS: Any = many(list, lazy("ApiClient", "schema.access"))
DEPLOYMENTS: Any = many(Connection, lazy("Deployment", "schema.deployments"))
DEPLOYMENT: Any = lazy("Deployment", "schema.deployments") | None
SERVICE_ENVIRONMENTS: Any = many(list, lazy("ServiceEnvironment", "schema.deployments"))
PROVIDER: Any = lazy("Provider", "schema.deployments")
PROTECTION: Any = lazy("Protection", "schema.deployments")
RESOURCES: Any = many(list, lazy("Resource", "schema.resources"))
RESOURCE_CONNECTION: Any = many(Connection, lazy("Resource", "schema.resources"))

CatalogInfo = Info[Context, None]


@strawberry.input(description="All given conditions must hold.")
class ServiceFilter:
    search: str | None = strawberry.field(
        default=UNSET, description="Case-insensitive match on slug, name or description."
    )
    lifecycle: list[services.Lifecycle] | None = UNSET
    owner: str | None = strawberry.field(
        default=UNSET, description="Slug of a team: services it or any of its sub-teams own."
    )
    tags: list[str] | None = strawberry.field(
        default=UNSET, description="Services with all these tags."
    )
    tier: list[int] | None = UNSET
    system: list[str] | None = strawberry.field(
        default=UNSET, description="Services in any of these systems."
    )

    def to_filter(self) -> services.ServiceFilter:
        return services.ServiceFilter.of(
            {field.name: given(getattr(self, field.name)) for field in dataclasses.fields(self)}
        )


@strawberry.input
class ServiceOrder:
    field: services.ServiceOrderField = services.ServiceOrderField.NAME
    direction: records.OrderDirection = records.OrderDirection.ASC

    def to_order(self) -> services.ServiceOrder:
        return services.ServiceOrder(self.field, self.direction)


@strawberry.type
class Link:
    title: str
    url: str


@strawberry.type(description="A group of people that owns services; teams nest.")
class Team(Node):
    record: strawberry.Private[records.TeamRecord]
    slug: str
    name: str
    description: str | None
    version: int

    @strawberry.field(
        description="Mutation attempts on this team, newest first.", graphql_type=AUDIT_EVENTS
    )
    async def audit_trail(
        self, info: CatalogInfo, first: int | None = UNSET, after: str | None = UNSET
    ) -> Connection[Any]:
        return await audit_trail(info, f"Team:{self.slug}", first, after)

    @strawberry.field
    async def parent(self, info: CatalogInfo) -> Team | None:
        parent = await q.team_by_id(info.context, self.record.parent_id)
        return Team.from_optional(parent)

    @strawberry.field(description="Direct sub-teams.")
    async def children(self, info: CatalogInfo) -> list[Team]:
        return [Team.from_record(r) for r in await q.children_of_team(info.context, self.record.id)]

    @strawberry.field
    async def members(
        self, info: CatalogInfo, first: int | None = UNSET, after: str | None = UNSET
    ) -> Connection[User]:
        listing = await q.team_members(info.context, self.record.id, page(first, after))
        return connection(listing, User.from_record)

    @strawberry.field(
        description="The API clients acting for this team, by slug: visible to admins.",
        graphql_type=API_CLIENTS,
    )
    async def api_clients(self, info: CatalogInfo) -> list[Any]:
        client = schema_type(info, "ApiClient")
        found = await aq.api_clients_of_team(info.context, self.record.id)
        return [client.from_record(r) for r in found]

    @strawberry.field(description="Services this team owns, as primary or contributor.")
    async def services(
        self,
        info: CatalogInfo,
        first: int | None = UNSET,
        after: str | None = UNSET,
        filter: ServiceFilter | None = UNSET,
    ) -> Connection[Service]:
        listing = await q.team_services(
            info.context,
            self.record.id,
            page(first, after),
            filter.to_filter() if filter else None,
        )
        return connection(listing, Service.from_record)


@strawberry.type(description="A person.")
class User(Node, Actor):
    record: strawberry.Private[records.UserRecord]
    handle: str
    name: str
    email: str
    version: int

    @strawberry.field
    async def teams(self, info: CatalogInfo) -> list[Team]:
        return [Team.from_record(r) for r in await q.teams_of_user(info.context, self.record.id)]

    @strawberry.field(
        description="This user's API tokens: visible to the user and to admins.",
        graphql_type=API_TOKENS,
    )
    async def tokens(self, info: CatalogInfo) -> list[Any]:
        token = schema_type(info, "ApiToken")
        return [token.from_record(r) for r in await aq.tokens_of_user(info.context, self.record.id)]


@strawberry.type
class Ownership:
    team: Team
    role: records.OwnershipRole


@strawberry.type(description="A deployable piece of software, owned by teams.")
class Service(Node):
    record: strawberry.Private[services.ServiceRecord]
    slug: str
    name: str
    description: str | None
    lifecycle: services.Lifecycle
    tier: int | None
    tags: list[str]
    links: list[Link] = strawberry.field(metadata=list_bound(rules.MAX_LINKS_PER_SERVICE))
    repository_url: str | None
    system: str | None = strawberry.field(
        description="The system it is part of (a slug such as `payments`), if any."
    )
    version: int
    created_at: datetime
    updated_at: datetime

    @strawberry.field(
        description="Mutation attempts on this service, newest first.", graphql_type=AUDIT_EVENTS
    )
    async def audit_trail(
        self, info: CatalogInfo, first: int | None = UNSET, after: str | None = UNSET
    ) -> Connection[Any]:
        return await audit_trail(info, f"Service:{self.slug}", first, after)

    @strawberry.field(description="The primary owner team.")
    async def owner(self, info: CatalogInfo) -> Team | None:
        team = await q.primary_owner(info.context, self.record.id)
        return Team.from_optional(team)

    @strawberry.field(
        description="Every owner team: the primary first, then contributors.",
        metadata=list_bound(rules.MAX_OWNERS_PER_SERVICE),
    )
    async def owners(self, info: CatalogInfo) -> list[Ownership]:
        return [
            Ownership(team=Team.from_record(o.team), role=o.role)
            for o in await q.owners_of_service(info.context, self.record.id)
        ]

    @strawberry.field(description="Services this one depends on.")
    async def depends_on(self, info: CatalogInfo) -> list[Service]:
        found = await q.dependencies_of_service(info.context, self.record.id)
        return [Service.from_record(r) for r in found]

    @strawberry.field(description="Services that depend on this one.")
    async def dependents(self, info: CatalogInfo) -> list[Service]:
        found = await q.dependents_of_service(info.context, self.record.id)
        return [Service.from_record(r) for r in found]

    @strawberry.field(
        description="This service's deployments, newest first.", graphql_type=DEPLOYMENTS
    )
    async def deployments(
        self,
        info: CatalogInfo,
        first: int | None = UNSET,
        after: str | None = UNSET,
        environment: str | None = UNSET,
        states: list[DeploymentState] | None = UNSET,
    ) -> Connection[Any]:
        listing = await dq.service_deployments(
            info.context, self.record, page(first, after), given(environment), given(states)
        )
        return connection(listing, schema_type(info, "Deployment").from_record)

    @strawberry.field(
        description="Its resources (not DELETED ones), by environment then name; "
        "`environment`: only that environment's.",
        graphql_type=RESOURCES,
        metadata=list_bound(1000),
    )
    async def resources(self, info: CatalogInfo, environment: str | None = UNSET) -> list[Any]:
        found = await rq.of_service(info.context, self.record.id, given(environment))
        shown = schema_type(info, "Resource")
        return [shown.from_record(record) for record in found]

    @strawberry.field(
        description="What runs in this environment: the last success still there.",
        graphql_type=DEPLOYMENT,
    )
    async def current_deployment(self, info: CatalogInfo, environment: str) -> Any:
        found = await dq.current_in(info.context, self.record, environment)
        return schema_type(info, "Deployment").from_optional(found)

    @strawberry.field(
        description="What runs and what is coming, in every environment.",
        graphql_type=SERVICE_ENVIRONMENTS,
    )
    async def environments(self, info: CatalogInfo) -> list[Any]:
        cell = schema_type(info, "ServiceEnvironment")
        return [
            cell.of(self.record, Environment.from_record(record))
            for record in await dq.all_environments(info.context)
        ]


@strawberry.type(description="Where services run: development, staging, production...")
class Environment(Node):
    record: strawberry.Private[records.EnvironmentRecord]
    slug: str
    name: str
    description: str | None
    tier: records.EnvironmentTier
    version: int

    @strawberry.field(
        description="Mutation attempts on this environment, newest first.",
        graphql_type=AUDIT_EVENTS,
    )
    async def audit_trail(
        self, info: CatalogInfo, first: int | None = UNSET, after: str | None = UNSET
    ) -> Connection[Any]:
        return await audit_trail(info, f"Environment:{self.slug}", first, after)

    @strawberry.field(
        description="The adapter that does this environment's deployments.", graphql_type=PROVIDER
    )
    async def provider(self, info: CatalogInfo) -> Any:
        found = await dq.environment_provider(info.context, self.record.id)
        return schema_type(info, "Provider").from_record(found)

    @strawberry.field(
        description="Approvals required, approver teams, and any freeze.", graphql_type=PROTECTION
    )
    async def protection(self, info: CatalogInfo) -> Any:
        found = await dq.protection(info.context, self.record.id)
        return schema_type(info, "Protection").from_record(found)

    @strawberry.field(
        description="Deployments to this environment, newest first.", graphql_type=DEPLOYMENTS
    )
    async def deployments(
        self,
        info: CatalogInfo,
        first: int | None = UNSET,
        after: str | None = UNSET,
        service: str | None = UNSET,
        states: list[DeploymentState] | None = UNSET,
    ) -> Connection[Any]:
        listing = await dq.environment_deployments(
            info.context, self.record, page(first, after), given(service), given(states)
        )
        return connection(listing, schema_type(info, "Deployment").from_record)

    @strawberry.field(
        description="Resources requested here, oldest first.", graphql_type=RESOURCE_CONNECTION
    )
    async def resources(
        self, info: CatalogInfo, first: int | None = UNSET, after: str | None = UNSET
    ) -> Connection[Any]:
        listing = await rq.of_environment(info.context, self.record.id, page(first, after))
        return connection(listing, schema_type(info, "Resource").from_record)


async def audit_trail(
    info: CatalogInfo, target: str, first: int | None, after: str | None
) -> Connection[Any]:
    listing = await audit.audit_trail(info.context, target, page(given(first), given(after)))
    return connection(listing, schema_type(info, "AuditEvent").from_record)
