"""The Subscription root: events as they are committed, and deployments as they move."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry import UNSET

from resolvers import event_queries, event_subscriptions
from schema.catalog import CatalogInfo
from schema.deployments import Deployment
from schema.events import Event, EventFilter, filter_input
from schema.inputs import given


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Each event as it is committed, oldest first. `after` (the cursor of the "
        "last event you received) replays everything since then first, then goes on live, "
        "with nothing lost or repeated in between. Only events about what you may read."
    )
    async def events(
        self,
        info: CatalogInfo,
        filter: EventFilter | None = UNSET,
        after: str | None = UNSET,
    ) -> AsyncGenerator[Event, None]:
        context = info.context
        event_filter = await event_queries.resolve_filter(context, filter_input(given(filter)))
        async for record in event_subscriptions.events(context, event_filter, given(after)):
            yield Event.from_record(record)

    @strawberry.subscription(
        description="The deployment after each change (created, state changed, approval "
        "requested, approved, rejected): those of `service` in `environment`. With "
        "`deployment`, that one: first as it is now, then after each change until it "
        "finishes (SUCCEEDED, FAILED, CANCELED...), when the subscription completes."
    )
    async def deployment_updated(
        self,
        info: CatalogInfo,
        service: str | None = UNSET,
        environment: str | None = UNSET,
        deployment: strawberry.ID | None = UNSET,
    ) -> AsyncGenerator[Deployment, None]:
        updates = event_subscriptions.deployment_updates(
            info.context, given(service), given(environment), given(deployment)
        )
        async for record in updates:
            yield Deployment.from_record(record)
