"""The root Query of the catalog."""

from __future__ import annotations

import strawberry
from strawberry import UNSET

from domain.access.model import ApiClientRecord, ApiTokenRecord
from domain.catalog.records import EnvironmentRecord, TeamRecord, UserRecord
from domain.catalog.services import ServiceRecord
from domain.deployments.model import DeploymentRecord
from domain.errors import ValidationFailed
from domain.events.model import EventRecord
from domain.resources.model import ResourceClassRecord, ResourceRecord, TemplateRecord
from domain.webhooks.model import DeliveryRecord, WebhookRecord
from resolvers import catalog_queries as q
from resolvers import nodes as node_resolvers
from resolvers.paging import MAX_PAGE_SIZE
from schema.access import ApiClient, ApiToken
from schema.catalog import (
    CatalogInfo,
    Environment,
    Service,
    ServiceFilter,
    ServiceOrder,
    Team,
    User,
)
from schema.common import Connection, Node, connection
from schema.deployments import Deployment
from schema.inputs import given, page

_NODE_TYPES: dict[type[node_resolvers.NodeRecord], type[Node]] = {
    TeamRecord: Team,
    UserRecord: User,
    ServiceRecord: Service,
    EnvironmentRecord: Environment,
    ApiClientRecord: ApiClient,
    ApiTokenRecord: ApiToken,
    DeploymentRecord: Deployment,
}


def as_node(record: node_resolvers.NodeRecord) -> Node:
    if isinstance(record, EventRecord):
        # Events sit above the queries (an event's subject is any node): imported when shown.
        from schema.events import Event

        return Event.from_record(record)
    if isinstance(record, ResourceRecord | ResourceClassRecord | TemplateRecord):
        from schema.resources import Resource, ResourceClass, Template

        if isinstance(record, ResourceRecord):
            return Resource.from_record(record)
        if isinstance(record, ResourceClassRecord):
            return ResourceClass.from_record(record)
        return Template.from_record(record)
    if isinstance(record, WebhookRecord | DeliveryRecord):
        from schema.webhooks import Webhook, WebhookDelivery

        shown = Webhook if isinstance(record, WebhookRecord) else WebhookDelivery
        return shown.from_record(record)
    return _NODE_TYPES[type(record)].from_record(record)


@strawberry.type
class CatalogQuery:
    @strawberry.field(description="Fetches any object by its global ID.")
    async def node(self, info: CatalogInfo, id: strawberry.ID) -> Node | None:
        found = await node_resolvers.node(info.context, id)
        return as_node(found) if found else None

    @strawberry.field(description="Fetches objects by global IDs, in order; null where not found.")
    async def nodes(self, info: CatalogInfo, ids: list[strawberry.ID]) -> list[Node | None]:
        if len(ids) > MAX_PAGE_SIZE:
            raise ValidationFailed(f"`ids` may hold at most {MAX_PAGE_SIZE} IDs, got {len(ids)}")
        found = await node_resolvers.nodes(info.context, ids)
        return [as_node(record) if record else None for record in found]

    @strawberry.field
    async def service(self, info: CatalogInfo, slug: str) -> Service | None:
        found = await q.service(info.context, slug)
        return Service.from_optional(found)

    @strawberry.field
    async def services(
        self,
        info: CatalogInfo,
        first: int | None = UNSET,
        after: str | None = UNSET,
        last: int | None = UNSET,
        before: str | None = UNSET,
        filter: ServiceFilter | None = UNSET,
        order_by: ServiceOrder | None = UNSET,
    ) -> Connection[Service]:
        listing = await q.services(
            info.context,
            page(first, after, last, before),
            filter.to_filter() if filter else None,
            order_by.to_order() if order_by else None,
        )
        return connection(listing, Service.from_record)

    @strawberry.field
    async def team(self, info: CatalogInfo, slug: str) -> Team | None:
        found = await q.team(info.context, slug)
        return Team.from_optional(found)

    @strawberry.field
    async def teams(
        self,
        info: CatalogInfo,
        first: int | None = UNSET,
        after: str | None = UNSET,
        search: str | None = UNSET,
    ) -> Connection[Team]:
        listing = await q.teams(info.context, page(first, after), given(search))
        return connection(listing, Team.from_record)

    @strawberry.field
    async def user(self, info: CatalogInfo, handle: str) -> User | None:
        found = await q.user(info.context, handle)
        return User.from_optional(found)

    @strawberry.field
    async def users(
        self,
        info: CatalogInfo,
        first: int | None = UNSET,
        after: str | None = UNSET,
        search: str | None = UNSET,
    ) -> Connection[User]:
        listing = await q.users(info.context, page(first, after), given(search))
        return connection(listing, User.from_record)

    @strawberry.field
    async def environment(self, info: CatalogInfo, slug: str) -> Environment | None:
        found = await q.environment(info.context, slug)
        return Environment.from_optional(found)

    @strawberry.field
    async def environments(
        self, info: CatalogInfo, first: int | None = UNSET, after: str | None = UNSET
    ) -> Connection[Environment]:
        listing = await q.environments(info.context, page(first, after))
        return connection(listing, Environment.from_record)
