"""The catalog's object types: Team, User, Service, Ownership, Link, Environment.

Fields stored on the record are plain attributes; related objects are resolved
through `resolvers.catalog_queries`, which batches them per request.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import UNSET
from strawberry.types import Info

from domain.catalog import records, rules
from domain.deployments import model as deployments
from resolvers import access_queries as aq
from resolvers import catalog_queries as q
from resolvers import deployment_queries as dq
from resolvers.context import Context
from resolvers.global_ids import encode_id
from schema.common import Actor, Connection, Node, connection, list_bound
from schema.filters import ServiceFilter
from schema.inputs import given, page

if TYPE_CHECKING:
    from schema.access import ApiToken
    from schema.audit import AuditEvent
    from schema.deployments import Deployment, Protection, Provider, ServiceEnvironment

CatalogInfo = Info[Context, None]


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

    @classmethod
    def from_record(cls, record: records.TeamRecord) -> Team:
        return cls(
            id=strawberry.ID(encode_id("Team", record.id)),
            record=record,
            slug=record.slug,
            name=record.name,
            description=record.description,
            version=record.version,
        )

    @strawberry.field(description="Mutation attempts on this team, newest first.")
    async def audit_trail(
        self, info: CatalogInfo, first: int | None = UNSET, after: str | None = UNSET
    ) -> Connection[Annotated[AuditEvent, strawberry.lazy("schema.audit")]]:
        from schema.audit import audit_trail

        return await audit_trail(info, f"Team:{self.slug}", given(first), given(after))

    @strawberry.field
    async def parent(self, info: CatalogInfo) -> Team | None:
        parent = await q.team_by_id(info.context, self.record.parent_id)
        return Team.from_record(parent) if parent else None

    @strawberry.field(description="Direct sub-teams.")
    async def children(self, info: CatalogInfo) -> list[Team]:
        return [Team.from_record(r) for r in await q.children_of_team(info.context, self.record.id)]

    @strawberry.field
    async def members(
        self, info: CatalogInfo, first: int | None = UNSET, after: str | None = UNSET
    ) -> Connection[User]:
        listing = await q.team_members(info.context, self.record.id, page(first, after))
        return connection(listing, User.from_record)

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
            filter.to_args() if filter else None,
        )
        return connection(listing, Service.from_record)


@strawberry.type(description="A person.")
class User(Node, Actor):
    record: strawberry.Private[records.UserRecord]
    handle: str
    name: str
    email: str
    version: int

    @classmethod
    def from_record(cls, record: records.UserRecord) -> User:
        return cls(
            id=strawberry.ID(encode_id("User", record.id)),
            record=record,
            handle=record.handle,
            name=record.name,
            email=record.email,
            version=record.version,
        )

    @strawberry.field
    async def teams(self, info: CatalogInfo) -> list[Team]:
        return [Team.from_record(r) for r in await q.teams_of_user(info.context, self.record.id)]

    @strawberry.field(description="This user's API tokens: visible to the user and to admins.")
    async def tokens(
        self, info: CatalogInfo
    ) -> list[Annotated[ApiToken, strawberry.lazy("schema.access")]]:
        from schema.access import ApiToken

        found = await aq.tokens_of_user(info.context, self.record.id)
        return [ApiToken.from_record(record) for record in found]


@strawberry.type
class Ownership:
    team: Team
    role: records.OwnershipRole


@strawberry.type(description="A deployable piece of software, owned by teams.")
class Service(Node):
    record: strawberry.Private[records.ServiceRecord]
    slug: str
    name: str
    description: str | None
    lifecycle: records.Lifecycle
    tier: int | None
    tags: list[str]
    links: list[Link] = strawberry.field(metadata=list_bound(rules.MAX_LINKS_PER_SERVICE))
    repository_url: str | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_record(cls, record: records.ServiceRecord) -> Service:
        return cls(
            id=strawberry.ID(encode_id("Service", record.id)),
            record=record,
            slug=record.slug,
            name=record.name,
            description=record.description,
            lifecycle=record.lifecycle,
            tier=record.tier,
            tags=list(record.tags),
            links=[Link(title=link.title, url=link.url) for link in record.links],
            repository_url=record.repository_url,
            version=record.version,
            created_at=record.created_at,
            updated_at=record.updated_at,
        )

    @strawberry.field(description="Mutation attempts on this service, newest first.")
    async def audit_trail(
        self, info: CatalogInfo, first: int | None = UNSET, after: str | None = UNSET
    ) -> Connection[Annotated[AuditEvent, strawberry.lazy("schema.audit")]]:
        from schema.audit import audit_trail

        return await audit_trail(info, f"Service:{self.slug}", given(first), given(after))

    @strawberry.field(description="The primary owner team.")
    async def owner(self, info: CatalogInfo) -> Team | None:
        team = await q.primary_owner(info.context, self.record.id)
        return Team.from_record(team) if team else None

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

    @strawberry.field(description="This service's deployments, newest first.")
    async def deployments(
        self,
        info: CatalogInfo,
        first: int | None = UNSET,
        after: str | None = UNSET,
        environment: str | None = UNSET,
        states: list[deployments.DeploymentState] | None = UNSET,
    ) -> Connection[Annotated[Deployment, strawberry.lazy("schema.deployments")]]:
        from schema.deployments import Deployment

        listing = await dq.service_deployments(
            info.context, self.record, page(first, after), given(environment), given(states)
        )
        return connection(listing, Deployment.from_record)

    @strawberry.field(description="What runs in this environment: the last success still there.")
    async def current_deployment(
        self, info: CatalogInfo, environment: str
    ) -> Annotated[Deployment, strawberry.lazy("schema.deployments")] | None:
        from schema.deployments import Deployment

        found = await dq.current_in(info.context, self.record, environment)
        return Deployment.from_record(found) if found else None

    @strawberry.field(description="What runs and what is coming, in every environment.")
    async def environments(
        self, info: CatalogInfo
    ) -> list[Annotated[ServiceEnvironment, strawberry.lazy("schema.deployments")]]:
        from schema.deployments import ServiceEnvironment

        return [
            ServiceEnvironment.of(self.record, Environment.from_record(record))
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

    @classmethod
    def from_record(cls, record: records.EnvironmentRecord) -> Environment:
        return cls(
            id=strawberry.ID(encode_id("Environment", record.id)),
            record=record,
            slug=record.slug,
            name=record.name,
            description=record.description,
            tier=record.tier,
            version=record.version,
        )

    @strawberry.field(description="Mutation attempts on this environment, newest first.")
    async def audit_trail(
        self, info: CatalogInfo, first: int | None = UNSET, after: str | None = UNSET
    ) -> Connection[Annotated[AuditEvent, strawberry.lazy("schema.audit")]]:
        from schema.audit import audit_trail

        return await audit_trail(info, f"Environment:{self.slug}", given(first), given(after))

    @strawberry.field(description="The adapter that does this environment's deployments.")
    async def provider(
        self, info: CatalogInfo
    ) -> Annotated[Provider, strawberry.lazy("schema.deployments")]:
        from schema.deployments import Provider

        return Provider.from_record(await dq.environment_provider(info.context, self.record.id))

    @strawberry.field(description="Approvals required, approver teams, and any freeze.")
    async def protection(
        self, info: CatalogInfo
    ) -> Annotated[Protection, strawberry.lazy("schema.deployments")]:
        from schema.deployments import Protection

        return Protection.from_record(await dq.protection(info.context, self.record.id))

    @strawberry.field(description="Deployments to this environment, newest first.")
    async def deployments(
        self,
        info: CatalogInfo,
        first: int | None = UNSET,
        after: str | None = UNSET,
        service: str | None = UNSET,
        states: list[deployments.DeploymentState] | None = UNSET,
    ) -> Connection[Annotated[Deployment, strawberry.lazy("schema.deployments")]]:
        from schema.deployments import Deployment

        listing = await dq.environment_deployments(
            info.context, self.record, page(first, after), given(service), given(states)
        )
        return connection(listing, Deployment.from_record)


def node_from_record(
    record: records.TeamRecord
    | records.UserRecord
    | records.ServiceRecord
    | records.EnvironmentRecord,
) -> Node:
    if isinstance(record, records.TeamRecord):
        return Team.from_record(record)
    if isinstance(record, records.UserRecord):
        return User.from_record(record)
    if isinstance(record, records.ServiceRecord):
        return Service.from_record(record)
    return Environment.from_record(record)
