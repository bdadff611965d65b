"""Webhooks in the graph: where events are sent, and each delivery (`webhooks`, `node`)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import UNSET

from domain.events.model import EventType
from domain.webhooks import model
from resolvers import webhook_queries as q
from schema.catalog import CatalogInfo, Team
from schema.common import Connection, Node, connection
from schema.events import Event
from schema.inputs import given

DeliveryState = strawberry.enum(model.DeliveryState, name="DeliveryState")


@strawberry.type(description="One event's delivery to a webhook, with its latest attempt.")
class WebhookDelivery(Node):
    record: strawberry.Private[model.DeliveryRecord]
    attempt: int = strawberry.field(description="Attempts made so far.")
    state: model.DeliveryState
    status_code: int | None = strawberry.field(description="The latest attempt's HTTP status.")
    duration_ms: int | None
    response_excerpt: str | None = strawberry.field(
        description="The first KiB of the latest answer."
    )
    error: str | None = strawberry.field(description="Why the latest attempt failed.")
    next_attempt_at: datetime | None = strawberry.field(description="When it is tried again.")
    created_at: datetime

    @strawberry.field(description="The event delivered.")
    async def event(self, info: CatalogInfo) -> Event:
        found = await q.event_of(info.context, self.record)
        if found is None:  # deliveries go with their events: never seen
            raise RuntimeError("a delivery without its event")
        return Event.from_record(found)


@strawberry.type(description="Where events are POSTed, signed as Standard Webhooks.")
class Webhook(Node):
    record: strawberry.Private[model.WebhookRecord]
    url: str
    description: str | None
    active: bool
    disabled_reason: str | None = strawberry.field(description="Why deliveries stopped.")
    created_at: datetime
    version: int
    events: list[EventType] = strawberry.field(description="The event types it receives.")

    @strawberry.field(description="The team whose members manage it; null: only admins do.")
    async def team(self, info: CatalogInfo) -> Team | None:
        team_id = self.record.team_id
        if team_id is None:
            return None
        return Team.from_optional(await info.context.loaders.team_by_id.load(team_id))

    @strawberry.field(description="Its deliveries, newest first.")
    async def deliveries(
        self,
        info: CatalogInfo,
        first: int | None = UNSET,
        after: str | None = UNSET,
        failed_only: bool | None = UNSET,
    ) -> Connection[WebhookDelivery]:
        listing = await q.deliveries(
            info.context, self.record, given(first), given(after), bool(given(failed_only))
        )
        return connection(listing, WebhookDelivery.from_record)


@strawberry.type
class WebhookQuery:
    @strawberry.field(
        description="The webhooks you manage (your teams', with `write`; all of them for "
        "admins), oldest first; `team`: only that team's."
    )
    async def webhooks(
        self,
        info: CatalogInfo,
        team: str | None = UNSET,
        first: int | None = UNSET,
        after: str | None = UNSET,
    ) -> Connection[Webhook]:
        listing = await q.webhooks(info.context, given(team), given(first), given(after))
        return connection(listing, Webhook.from_record)
