"""Self-service infrastructure in the graph: resource classes, resources and templates."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import UNSET
from strawberry.scalars import JSON

from domain.deployments.ports import ProviderSettings
from domain.resources import model
from domain.resources.ports import ResourceFilter as Filter
from resolvers import resource_queries as q
from schema.catalog import CatalogInfo, Environment, Service, Team
from schema.common import Actor, Connection, FromRecord, Node, connection, list_bound
from schema.deployments import Approval, Provider, actor_of
from schema.inputs import given, page

ResourceState = strawberry.enum(model.ResourceState, name="ResourceState")


@strawberry.type(
    description="Where a credential lives (e.g. a Kubernetes Secret), never its value."
)
class SecretRef(FromRecord):
    name: str
    key: str | None
    store: str


@strawberry.type(description="One step of a resource's history.")
class ResourceStatusEvent(FromRecord):
    state: model.ResourceState
    message: str | None
    at: datetime


@strawberry.type(description="What the resource's provider says of it now.")
class ResourceHealth(FromRecord):
    healthy: bool
    message: str | None
    observed_at: datetime
    source: str


@strawberry.type(description="What a request would do, without doing it.")
class ResourcePlan:
    actions: list[str]
    parameters: JSON
    required_approvals: int
    warnings: list[str]

    @classmethod
    def from_record(cls, plan: model.ResourcePlan) -> ResourcePlan:
        return cls(
            actions=list(plan.actions),
            parameters=JSON(dict(plan.parameters)),
            required_approvals=plan.required_approvals,
            warnings=list(plan.warnings),
        )


async def _environments(info: CatalogInfo, ids: tuple[int, ...]) -> list[Environment]:
    found = [await info.context.loaders.environment_by_id.load(i) for i in ids]
    return [Environment.from_record(environment) for environment in found if environment]


@strawberry.type(description="A kind of resource the platform team offers, and how it is built.")
class ResourceClass(Node):
    record: strawberry.Private[model.ResourceClassRecord]
    slug: str
    name: str
    description: str | None
    type: str = strawberry.field(description="What it is: postgres, redis, bucket, queue...")
    requires_approval: bool
    version: int

    @strawberry.field(description="The adapter that builds its resources.")
    def provider(self) -> Provider:
        record = self.record
        return Provider.for_resources(
            ProviderSettings(0, record.provider_kind, record.provider_settings)
        )

    @strawberry.field(description="JSON Schema (draft 2020-12) of what a requester may set.")
    def parameters_schema(self) -> JSON:
        return JSON(dict(self.record.parameters_schema))

    @strawberry.field(description="Applied before validation.")
    def defaults(self) -> JSON:
        return JSON(dict(self.record.defaults))

    @strawberry.field(description="Where it may be requested (empty: everywhere).")
    async def environments(self, info: CatalogInfo) -> list[Environment]:
        return await _environments(info, self.record.environment_ids)

    @strawberry.field(description="Whose members approve requests (and admins).")
    async def approver_teams(self, info: CatalogInfo) -> list[Team]:
        found = [
            await info.context.loaders.team_by_id.load(i) for i in self.record.approver_team_ids
        ]
        return [Team.from_record(team) for team in found if team]


@strawberry.type(description="Infrastructure a service asked for in an environment.")
class Resource(Node):
    record: strawberry.Private[model.ResourceRecord]
    name: str
    state: model.ResourceState
    status_message: str | None
    created_at: datetime
    ready_at: datetime | None
    version: int

    @strawberry.field
    async def service(self, info: CatalogInfo) -> Service:
        found = await info.context.loaders.service_by_id.load(self.record.service_id)
        if found is None:  # resources go with their service
            raise RuntimeError("a resource without its service")
        return Service.from_record(found)

    @strawberry.field
    async def environment(self, info: CatalogInfo) -> Environment:
        found = await info.context.loaders.environment_by_id.load(self.record.environment_id)
        if found is None:
            raise RuntimeError("a resource without its environment")
        return Environment.from_record(found)

    @strawberry.field(name="class")
    async def resource_class(self, info: CatalogInfo) -> ResourceClass:
        found = await q.resource_class(info.context, self.record.class_id)
        if found is None:  # a class in use cannot be deleted
            raise RuntimeError("a resource without its class")
        return ResourceClass.from_record(found)

    @strawberry.field(description="The final parameters: the class's defaults applied.")
    def parameters(self) -> JSON:
        return JSON(dict(self.record.parameters))

    @strawberry.field(description="Non-secret outputs: host, port, bucket name, URL...")
    def outputs(self) -> JSON:
        return JSON(dict(self.record.outputs))

    @strawberry.field(description="Where its credentials are, never their values.")
    def secret_refs(self) -> list[SecretRef]:
        return [SecretRef.from_record(ref) for ref in self.record.secret_refs]

    @strawberry.field
    async def requested_by(self, info: CatalogInfo) -> Actor:
        return await actor_of(info, self.record.requested_by)

    @strawberry.field(description="Its states, oldest first.", metadata=list_bound(1000))
    async def history(self, info: CatalogInfo) -> list[ResourceStatusEvent]:
        found = await q.history(info.context, self.record.id)
        return [ResourceStatusEvent.from_record(event) for event in found]

    @strawberry.field(metadata=list_bound(100))
    async def approvals(self, info: CatalogInfo) -> list[Approval]:
        found = await q.approvals(info.context, self.record.id)
        return [Approval.from_record(approval) for approval in found]

    @strawberry.field(
        description="Asked of its provider now; null with a PROVIDER_ERROR when it cannot say."
    )
    async def live(self, info: CatalogInfo) -> ResourceHealth | None:
        return ResourceHealth.from_optional(await q.live(info.context, self.record))


@strawberry.type(description="A resource a template asks for in each of its environments.")
class TemplateResource:
    class_id: strawberry.Private[int]
    name: str
    parameters: JSON = strawberry.field(description="Values may use `${param}` of the template.")

    @strawberry.field(name="class")
    async def resource_class(self, info: CatalogInfo) -> ResourceClass:
        found = await q.resource_class(info.context, self.class_id)
        if found is None:
            raise RuntimeError("a template resource without its class")
        return ResourceClass.from_record(found)


@strawberry.type(description="A golden path: a new service with its resources in one step.")
class Template(Node):
    record: strawberry.Private[model.TemplateRecord]
    slug: str
    name: str
    description: str | None
    first_version: str | None
    version: int

    @strawberry.field(description="JSON Schema (draft 2020-12) of its parameters.")
    def parameters_schema(self) -> JSON:
        return JSON(dict(self.record.parameters_schema))

    @strawberry.field(
        description="Defaults of the new service: lifecycle, tier, tags, links, system, "
        "description."
    )
    def service(self) -> JSON:
        return JSON(dict(self.record.service))

    @strawberry.field(description="Where the new service gets its resources.")
    async def environments(self, info: CatalogInfo) -> list[Environment]:
        return await _environments(info, self.record.environment_ids)

    @strawberry.field
    def resources(self) -> list[TemplateResource]:
        return [
            TemplateResource(
                class_id=entry.class_id, name=entry.name, parameters=JSON(dict(entry.parameters))
            )
            for entry in self.record.resources
        ]


@strawberry.input(description="All given conditions must hold.")
class ResourceFilter:
    service: str | None = strawberry.field(default=UNSET, description="A service's slug.")
    environment: str | None = strawberry.field(default=UNSET, description="An environment's slug.")
    resource_class: str | None = strawberry.field(
        default=UNSET, name="class", description="A resource class's slug."
    )
    states: list[model.ResourceState] | None = strawberry.field(default=UNSET)
    owner: str | None = strawberry.field(
        default=UNSET, description="A team's slug: resources of services it or a sub-team owns."
    )

    def to_filter(self) -> Filter:
        states = given(self.states)
        return Filter(
            service=given(self.service),
            environment=given(self.environment),
            resource_class=given(self.resource_class),
            states=tuple(states) if states is not None else None,
            owner=given(self.owner),
        )


@strawberry.type
class ResourceQuery:
    @strawberry.field(description="The resource classes on offer, by slug.")
    async def resource_classes(
        self, info: CatalogInfo, first: int | None = UNSET, after: str | None = UNSET
    ) -> Connection[ResourceClass]:
        listing = await q.resource_classes(info.context, page(first, after))
        return connection(listing, ResourceClass.from_record)

    @strawberry.field(description="Resources, oldest first.")
    async def resources(
        self,
        info: CatalogInfo,
        filter: ResourceFilter | None = UNSET,
        first: int | None = UNSET,
        after: str | None = UNSET,
    ) -> Connection[Resource]:
        chosen = filter.to_filter() if filter else Filter()
        listing = await q.resources(info.context, page(first, after), chosen)
        return connection(listing, Resource.from_record)

    @strawberry.field(description="The golden-path templates, by slug.")
    async def templates(
        self, info: CatalogInfo, first: int | None = UNSET, after: str | None = UNSET
    ) -> Connection[Template]:
        listing = await q.templates(info.context, page(first, after))
        return connection(listing, Template.from_record)
