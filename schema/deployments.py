"""Deployments in the graph: Deployment and what surrounds it (history, approvals, the
environment's provider and protection), and what runs where (ServiceEnvironment).

Related objects are resolved through `resolvers.deployment_queries`, batched per request.
"""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import UNSET

from domain.access import model as access
from domain.catalog import services
from domain.deployments import model as deployments
from domain.deployments import ports as deployment_ports
from resolvers import deployment_queries as q
from resolvers.catalog_queries import Listing
from resolvers.global_ids import encode_id
from schema.access import ApiClient, LocalAdmin
from schema.catalog import CatalogInfo, Environment, Service, Team, User
from schema.common import Actor, Connection, Edge, FromRecord, Node, PageInfo
from schema.inputs import given

DeploymentState = strawberry.enum(deployments.DeploymentState, name="DeploymentState")
DeploymentKind = strawberry.enum(deployments.DeploymentKind, name="DeploymentKind")
Health = strawberry.enum(deployments.Health, name="Health")
ProviderCapability = strawberry.enum(deployments.ProviderCapability, name="ProviderCapability")
ApprovalDecision = strawberry.enum(deployments.ApprovalDecision, name="ApprovalDecision")


@strawberry.type(description="Someone who acted and has since been deleted: the name it had.")
class FormerActor(Actor):
    pass


async def actor_of(info: CatalogInfo, requester: deployments.Requester) -> Actor:
    found = await q.actor_of(info.context, requester)
    if isinstance(found, access.ApiClientRecord):
        return ApiClient.from_record(found)
    if isinstance(found, access.ActorKind):
        return LocalAdmin(id=strawberry.ID(encode_id("LocalAdmin", 0)), name="local admin")
    if found is not None:
        return User.from_record(found)
    return FormerActor(
        id=strawberry.ID(encode_id("FormerActor", requester.actor_id or 0)), name=requester.name
    )


@strawberry.type(description="What an environment's provider says runs there now.")
class LiveStatus(FromRecord):
    health: deployments.Health
    version: str | None
    replicas: int | None
    ready_replicas: int | None
    message: str | None
    observed_at: datetime
    source: str


@strawberry.type(description="The adapter that does an environment's deployments.")
class Provider:
    record: strawberry.Private[deployment_ports.ProviderSettings]
    name: str
    kind: str
    builds_resources: strawberry.Private[bool] = False

    @strawberry.field
    def capabilities(self, info: CatalogInfo) -> list[deployments.ProviderCapability]:
        record = self.record
        kinds = info.context.provisioner_kinds if self.builds_resources else None
        if kinds is not None:
            return kinds.capabilities(record.kind, record.settings)
        return info.context.deployer_kinds.capabilities(record.kind, record.settings)

    @classmethod
    def from_record(cls, record: deployment_ports.ProviderSettings) -> Provider:
        return cls(record=record, name=record.kind, kind=record.kind)

    @classmethod
    def for_resources(cls, record: deployment_ports.ProviderSettings) -> Provider:
        """A resource class's provider (its capabilities are a resource adapter's)."""
        return cls(record=record, name=record.kind, kind=record.kind, builds_resources=True)


@strawberry.type(description="An environment's rules for deployments.")
class Protection(FromRecord):
    record: strawberry.Private[deployment_ports.Protection]
    required_approvals: int
    prevent_self_approval: bool
    frozen: bool
    freeze_reason: str | None

    @strawberry.field(description="Teams whose members may approve.")
    async def approver_teams(self, info: CatalogInfo) -> list[Team]:
        return [Team.from_record(r) for r in await q.approver_teams(info.context, self.record)]


@strawberry.type(description="One decision on a deployment waiting for approval.")
class Approval(FromRecord):
    record: strawberry.Private[deployments.ApprovalRecord]
    decision: deployments.ApprovalDecision
    comment: str | None
    at: datetime

    @strawberry.field
    async def actor(self, info: CatalogInfo) -> Actor:
        return await actor_of(info, self.record.actor)


@strawberry.type(description="One step of a deployment's history.")
class DeploymentStatusEvent(FromRecord):
    state: deployments.DeploymentState
    raw_status: str | None
    message: str | None
    source: str = strawberry.field(
        description="Who moved it: `api`, `provider:<kind>`, `reconciler`..."
    )
    at: datetime


@strawberry.type(description="One version of a service rolled out (or recorded) in an environment.")
class Deployment(Node):
    record: strawberry.Private[deployments.DeploymentRecord]
    number: int = strawberry.field(description="1, 2, 3... per service and environment.")
    version: str
    commit_sha: str | None
    description: str | None
    kind: deployments.DeploymentKind
    state: deployments.DeploymentState
    raw_status: str | None = strawberry.field(description="The provider's own word for the state.")
    status_message: str | None
    external_id: str | None = strawberry.field(description="The provider's id of the rollout.")
    url: str | None
    log_url: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @strawberry.field
    async def service(self, info: CatalogInfo) -> Service:
        return Service.from_record(await q.service(info.context, self.record.service_id))

    @strawberry.field
    async def environment(self, info: CatalogInfo) -> Environment:
        found = await q.environment(info.context, self.record.environment_id)
        return Environment.from_record(found)

    @strawberry.field(description="The adapter that ran this deployment.")
    async def provider(self, info: CatalogInfo) -> Provider:
        return Provider.from_record(await q.deployment_provider(info.context, self.record))

    @strawberry.field
    async def requested_by(self, info: CatalogInfo) -> Actor:
        return await actor_of(info, self.record.requested_by)

    @strawberry.field(description="The deployment whose version a promotion took.")
    async def promoted_from(self, info: CatalogInfo) -> Deployment | None:
        return Deployment.from_optional(
            await q.deployment_by_id(info.context, self.record.promoted_from_id)
        )

    @strawberry.field(
        description="The deployment a rollback replaces (ROLLED_BACK once the rollback succeeds)."
    )
    async def rollback_of(self, info: CatalogInfo) -> Deployment | None:
        return Deployment.from_optional(
            await q.deployment_by_id(info.context, self.record.rollback_of_id)
        )

    @strawberry.field(description="The earlier successful deployment a rollback returns to.")
    async def rollback_to(self, info: CatalogInfo) -> Deployment | None:
        return Deployment.from_optional(
            await q.deployment_by_id(info.context, self.record.rollback_to_id)
        )

    @strawberry.field(description="The one before it for the same service and environment.")
    async def previous(self, info: CatalogInfo) -> Deployment | None:
        return Deployment.from_optional(
            await q.deployment_by_id(info.context, self.record.previous_id)
        )

    @strawberry.field(description="Every state it went through, oldest first.")
    async def history(self, info: CatalogInfo) -> list[DeploymentStatusEvent]:
        found = await q.history(info.context, self.record.id)
        return [DeploymentStatusEvent.from_record(event) for event in found]

    @strawberry.field(
        description="Whether you may approve or reject it now (waiting for approval; you an "
        "admin or in an approver team, not its requester where the environment forbids "
        "self-approval, not decided by you already). A hint: the mutation decides."
    )
    async def viewer_can_approve(self, info: CatalogInfo) -> bool:
        return await q.viewer_can_approve(info.context, self.record)

    @strawberry.field(description="Approvals and rejections, oldest first.")
    async def approvals(self, info: CatalogInfo) -> list[Approval]:
        found = await q.approvals(info.context, self.record.id)
        return [Approval.from_record(approval) for approval in found]

    @strawberry.field(
        description="What the provider says runs of this service in this environment now; "
        "null with a PROVIDER_ERROR when the provider fails or is slow."
    )
    async def live(self, info: CatalogInfo) -> LiveStatus | None:
        found = await q.service(info.context, self.record.service_id)
        return LiveStatus.from_optional(
            await q.live(info.context, found, self.record.environment_id)
        )


@strawberry.type(description="What runs of one service in one environment, and what is coming.")
class ServiceEnvironment:
    service: strawberry.Private[services.ServiceRecord]
    environment: Environment
    cell: strawberry.Private[deployment_ports.ReleaseCell | None]

    @classmethod
    def from_record(
        cls, service: services.ServiceRecord, record: deployment_ports.ReleaseCell
    ) -> ServiceEnvironment:
        """A cell already read (the release matrix)."""
        return cls(
            service=service, environment=Environment.from_record(record.environment), cell=record
        )

    @classmethod
    def of(cls, service: services.ServiceRecord, environment: Environment) -> ServiceEnvironment:
        """A cell whose deployments are read when asked for."""
        return cls(service=service, environment=environment, cell=None)

    @strawberry.field(description="The deployment that succeeded last and still runs.")
    async def current(self, info: CatalogInfo) -> Deployment | None:
        if self.cell is not None:
            return Deployment.from_optional(self.cell.current)
        record = self.environment.record
        return Deployment.from_optional(await q.current(info.context, self.service.id, record.id))

    @strawberry.field(description="Unfinished deployments, oldest first.")
    async def pending(self, info: CatalogInfo) -> list[Deployment]:
        if self.cell is not None:
            found = list(self.cell.pending)
        else:
            found = await q.pending(info.context, self.service.id, self.environment.record.id)
        return [Deployment.from_record(record) for record in found]

    @strawberry.field(
        description="What the provider says runs here now; null with a PROVIDER_ERROR when "
        "the provider fails or is slow."
    )
    async def live(self, info: CatalogInfo) -> LiveStatus | None:
        return LiveStatus.from_optional(
            await q.live(info.context, self.service, self.environment.record.id)
        )


DeploymentConnection = Connection[Deployment]
"""A page of deployments, newest first (`DeploymentConnection` in the schema)."""


@strawberry.input(description="All given conditions must hold.")
class DeploymentFilter:
    service: str | None = strawberry.field(default=UNSET, description="A service's slug.")
    environment: str | None = strawberry.field(default=UNSET, description="An environment's slug.")
    states: list[deployments.DeploymentState] | None = strawberry.field(
        default=UNSET, description="Any of these states."
    )

    def to_filter(self) -> deployment_ports.DeploymentFilter:
        return q.deployment_filter(given(self.service), given(self.environment), given(self.states))


@strawberry.type(description="One service of the release matrix: a cell per environment.")
class ReleaseMatrixRow:
    service: Service
    cells: list[ServiceEnvironment]

    @classmethod
    def from_record(cls, record: deployment_ports.ReleaseRow) -> ReleaseMatrixRow:
        return cls(
            service=Service.from_record(record.service),
            cells=[ServiceEnvironment.from_record(record.service, cell) for cell in record.cells],
        )


@strawberry.type(description="A page of the release matrix: services by name.")
class ReleaseMatrixConnection(Connection[ReleaseMatrixRow]):
    @classmethod
    def from_listing(cls, listing: Listing[deployment_ports.ReleaseRow]) -> ReleaseMatrixConnection:
        page = listing.page
        return cls(
            edges=[
                Edge(cursor=edge.cursor, node=ReleaseMatrixRow.from_record(edge.node))
                for edge in page.edges
            ],
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=page.has_previous_page,
                start_cursor=page.start_cursor,
                end_cursor=page.end_cursor,
            ),
            _count=listing.count,
        )


@strawberry.type(description="What one service runs in two environments.")
class EnvironmentComparison:
    source: Deployment | None = strawberry.field(name="from")
    target: Deployment | None = strawberry.field(name="to")
    in_sync: bool = strawberry.field(
        description="Both run the same version (and commit, where both know it)."
    )

    @classmethod
    def from_record(cls, record: q.Comparison) -> EnvironmentComparison:
        return cls(
            source=Deployment.from_optional(record.source),
            target=Deployment.from_optional(record.target),
            in_sync=record.in_sync,
        )


@strawberry.type(description="Delivery metrics of one environment over a window.")
class DeploymentMetrics(FromRecord):
    deployments: int = strawberry.field(description="Created in the window, whatever their state.")
    succeeded: int = strawberry.field(description="Succeeded, whether still running or replaced.")
    failed: int
    rolled_back: int = strawberry.field(description="Succeeded, then replaced by a rollback.")
    deployments_per_day: float
    change_failure_rate: float | None = strawberry.field(
        description="(failed + rolledBack) / (succeeded + failed), 0..1; null without data."
    )
    mean_time_to_restore_seconds: float | None = strawberry.field(
        description="From a failure to the next success of that service and environment."
    )
    median_lead_time_seconds: float | None = strawberry.field(
        description="From commit (when reported) or creation to success."
    )
