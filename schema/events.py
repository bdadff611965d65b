"""Events in the graph: what changed, in commit order (`events`; `Subscription.events`)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import UNSET
from strawberry.scalars import JSON

from domain.events import model as events
from domain.events.cursors import event_cursor
from resolvers import audit_queries, event_queries, nodes
from resolvers.global_ids import encode_id
from schema.audit import shown_actor
from schema.catalog import CatalogInfo, Environment, Service, Team
from schema.common import Actor, Connection, Node, connection, schema_type
from schema.deployments import Deployment
from schema.inputs import given

EventType = strawberry.enum(events.EventType, name="EventType")


@strawberry.type(description="One accepted change, in commit order.")
class Event(Node):
    record: strawberry.Private[events.EventRecord]
    cursor: str = strawberry.field(
        description="Where this event stands in commit order: `after` resumes from it."
    )
    type: events.EventType
    occurred_at: datetime
    request_id: str | None = strawberry.field(
        description="The id of the request that made the change, as in the audit log."
    )
    data: JSON = strawberry.field(
        description="What changed: for *_UPDATED the changed fields with their old and new "
        "values; for state changes `from` and `to`; never secrets."
    )

    @classmethod
    def from_record(cls, record: events.EventRecord) -> Event:
        return cls(
            record=record,
            id=strawberry.ID(encode_id("Event", record.id)),
            cursor=event_cursor(record.position),
            type=record.type,
            occurred_at=record.occurred_at,
            request_id=record.request_id,
            data=JSON(record.data),
        )

    @strawberry.field(description="Who made the change; null for what the platform did itself.")
    async def actor(self, info: CatalogInfo) -> Actor | None:
        actor = self.record.actor
        if actor is None:
            return None
        return shown_actor(
            await audit_queries.actor_record(info.context, actor.kind, actor.actor_id)
        )

    @strawberry.field(description="What the event is about; null once it was deleted.")
    async def subject(self, info: CatalogInfo) -> Node | None:
        record = self.record
        found = await nodes.node(
            info.context, encode_id(record.subject_kind.value, record.subject_id)
        )
        if found is None:
            return None
        # The subject's kind is its GraphQL type's name; the type comes from the running
        # schema (the node types sit beside this module, which they show events of).
        node: Node = schema_type(info, record.subject_kind.value).from_record(found)
        return node

    @strawberry.field(description="The service it concerns, if any (null once deleted).")
    async def service(self, info: CatalogInfo) -> Service | None:
        service_id = self.record.service_id
        if service_id is None:
            return None
        return Service.from_optional(await info.context.loaders.service_by_id.load(service_id))

    @strawberry.field(description="The environment it concerns, if any (null once deleted).")
    async def environment(self, info: CatalogInfo) -> Environment | None:
        environment_id = self.record.environment_id
        if environment_id is None:
            return None
        found = await info.context.loaders.environment_by_id.load(environment_id)
        return Environment.from_optional(found)

    @strawberry.field(description="The deployment it concerns, if any (null once deleted).")
    async def deployment(self, info: CatalogInfo) -> Deployment | None:
        deployment_id = self.record.deployment_id
        if deployment_id is None:
            return None
        found = await info.context.deployment_loaders.by_id.load(deployment_id)
        return Deployment.from_optional(found)

    @strawberry.field(
        description="The team it concerns: a team's own events, and those of the services it "
        "owns (primary owner); null once deleted."
    )
    async def team(self, info: CatalogInfo) -> Team | None:
        team_id = self.record.team_id
        if team_id is None:
            return None
        return Team.from_optional(await info.context.loaders.team_by_id.load(team_id))


@strawberry.input(description="All given conditions must hold.")
class EventFilter:
    types: list[events.EventType] | None = strawberry.field(
        default=UNSET, description="Any of these types."
    )
    service: str | None = strawberry.field(default=UNSET, description="A service's slug.")
    team: str | None = strawberry.field(
        default=UNSET, description="A team's slug: its events and its services'."
    )
    environment: str | None = strawberry.field(default=UNSET, description="An environment's slug.")
    since: datetime | None = strawberry.field(default=UNSET, description="Occurred at or after.")

    def to_input(self) -> event_queries.EventFilterInput:
        return event_queries.EventFilterInput(
            types=given(self.types),
            service=given(self.service),
            team=given(self.team),
            environment=given(self.environment),
            since=given(self.since),
        )


def filter_input(given_filter: EventFilter | None) -> event_queries.EventFilterInput | None:
    return given_filter.to_input() if given_filter else None


@strawberry.type
class EventQuery:
    @strawberry.field(
        description="What changed, oldest first (newest last); `after` is the resume point: "
        "the cursor of the last event seen. Only events about what you may read."
    )
    async def events(
        self,
        info: CatalogInfo,
        filter: EventFilter | None = UNSET,
        first: int | None = UNSET,
        after: str | None = UNSET,
    ) -> Connection[Event]:
        context = info.context
        event_filter = await event_queries.resolve_filter(context, filter_input(given(filter)))
        listing = await event_queries.events(context, event_filter, given(first), given(after))
        return connection(listing, Event.from_record)
