"""Subscriptions: the events after a resume point, then live, as far as the subscriber may
read them at the moment each is delivered.

`events` subscribes to the process's feed first and only then replays the outbox after
`after`, page by page, so that whatever commits meanwhile is in the feed's queue; the last
delivered position then skips what the replay already sent (both read only the events below
the horizon, which never change: `providers/postgres/outbox.py`). Nothing is lost at the seam
and nothing is sent twice. (While a long replay runs, live events pile up: a queue that overflowed
meanwhile is replaced, and the replay goes on reading the outbox past what it lost.)

The subscriber's credential is checked again before each page and each batch of live
events: once it was revoked or expired the subscription ends with UNAUTHENTICATED.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator

from strawberry.dataloader import DataLoader

from domain.access.model import Forbidden
from domain.access.policy import Action, decide
from domain.deployments.model import DeploymentRecord, DeploymentState
from domain.errors import NotFound, PreconditionFailed
from domain.events.cursors import event_cursor, position_of
from domain.events.model import EventFilter, EventRecord, EventType, Position
from domain.events.visibility import EventVisibility
from resolvers.context import Context
from resolvers.event_feed import EventFeed, FeedClosed, FeedSubscription
from resolvers.global_ids import decode_id

REPLAY_PAGE = 100
"""Events read per statement while replaying."""

UNFINISHED = frozenset(
    {DeploymentState.QUEUED, DeploymentState.WAITING_APPROVAL, DeploymentState.IN_PROGRESS}
)

DEPLOYMENT_EVENTS = frozenset(
    {
        EventType.DEPLOYMENT_CREATED,
        EventType.DEPLOYMENT_STATE_CHANGED,
        EventType.DEPLOYMENT_APPROVAL_REQUESTED,
        EventType.DEPLOYMENT_APPROVED,
        EventType.DEPLOYMENT_REJECTED,
    }
)


def _feed(context: Context) -> EventFeed:
    if context.feed is None:
        raise PreconditionFailed("this server does not deliver live events")
    return context.feed


def may_subscribe(context: Context) -> None:
    decision = decide(context.principal, Action.READ_CATALOG)
    if not decision.allowed:
        raise Forbidden(decision.reason)


async def _visibility(context: Context) -> EventVisibility:
    """What the subscriber may read now, its credential checked again."""
    if context.reauthenticate is not None:
        context.principal = await context.reauthenticate()
    return EventVisibility.of(context.principal)


def _start(context: Context, after: str | None) -> Position | None:
    """The position to replay after: the transport's resume point (SSE's `Last-Event-ID`)
    over the `after` argument; None: live only."""
    stream = context.stream
    if stream is not None and stream.resume_after is not None:
        after = stream.resume_after
    return None if after is None else position_of(after)


async def events(
    context: Context, event_filter: EventFilter, after: str | None
) -> AsyncIterator[EventRecord]:
    """The events matching `event_filter`: those after `after` first (if given), then live."""
    may_subscribe(context)
    start = _start(context, after)
    feed = _feed(context)
    subscription = await _subscribed(context, feed, event_filter)
    async for event in _delivered(context, feed, subscription, event_filter, start):
        yield event


async def _subscribed(
    context: Context, feed: EventFeed, event_filter: EventFilter
) -> FeedSubscription:
    subscription = await feed.subscribe(event_filter.matches)
    if context.stream is not None:
        context.stream.subscribed.set()
    return subscription


async def _delivered(
    context: Context,
    feed: EventFeed,
    subscription: FeedSubscription,
    event_filter: EventFilter,
    start: Position | None,
) -> AsyncGenerator[EventRecord, None]:
    """The replay after `start` (if any), then the live events of `subscription` (made
    before the replay began), each once, in commit order."""
    try:
        delivered = subscription.start if start is None else start
        if start is not None:
            while True:
                seen = await _visibility(context)
                read = await context.events.after(delivered, REPLAY_PAGE, event_filter, seen)
                found = read.events
                for event in found:
                    delivered = event.position
                    _delivering(context, event)
                    yield event
                if subscription.dropped:
                    subscription.close()
                    subscription = await feed.subscribe(event_filter.matches)
                elif len(found) < REPLAY_PAGE:
                    break
        while True:
            try:
                batch = await subscription.next_batch()
            except FeedClosed:
                return
            seen = await _visibility(context)
            shared = subscription.round.shared(context.fresh_loaders)
            for event in batch:
                if event.position <= delivered:
                    continue
                delivered = event.position
                if event_filter.matches(event) and seen.allows(event):
                    context.use_loaders(shared)
                    _positioned(context, event)
                    yield event
    finally:
        subscription.close()


def _delivering(context: Context, event: EventRecord) -> None:
    """Fresh loaders for each replayed event (what they held may have changed), and the
    position. (Live events share the loaders of the read they came from with every
    subscriber of it.)"""
    if _loaded_anything(context):
        context.forget_loaded()
    _positioned(context, event)


def _positioned(context: Context, event: EventRecord) -> None:
    if context.stream is not None:
        context.stream.last_cursor = event_cursor(event.position)


def _loaded_anything(context: Context) -> bool:
    """Whether the last event's answer loaded something. Most subscriptions select stored
    fields only and load nothing: they skip making new loaders, which would otherwise cost
    more than the rest of the event's answer."""
    return any(
        _holds_values(loader)
        for loaders in (context.loaders, context.access_loaders, context.deployment_loaders)
        for loader in vars(loaders).values()
        if isinstance(loader, DataLoader)  # the loaders made so far (they are made on first use)
    )


def _holds_values(loader: object) -> bool:
    """Whether a DataLoader cached anything (True when its cache is not the one known)."""
    stored = getattr(getattr(loader, "cache_map", None), "cache_map", None)
    return not isinstance(stored, dict) or bool(stored)


async def _id_of(context: Context, kind: str, slug: str | None) -> int | None:
    if slug is None:
        return None
    loaders = context.loaders
    loader = loaders.service_by_slug if kind == "service" else loaders.environment_by_slug
    found = await loader.load(slug)
    if found is None:
        raise NotFound(f"no {kind} '{slug}'", [kind])
    return found.id


async def _deployment_id(context: Context, global_id: str | None) -> int | None:
    """The deployment a global ID names; NOT_FOUND for a forged or unknown one."""
    if global_id is None:
        return None
    decoded = decode_id(global_id)
    if decoded is not None and decoded[0] == "Deployment":
        found = (await context.deployments.by_ids([decoded[1]])).get(decoded[1])
        if found is not None:
            return found.id
    raise NotFound("no such deployment", ["deployment"])


def _finished(deployment: DeploymentRecord) -> bool:
    return deployment.state not in UNFINISHED


async def _deployment(context: Context, deployment_id: int) -> DeploymentRecord | None:
    """Through the loaders: for a live event, those its subscribers share (one read)."""
    return await context.deployment_loaders.by_id.load(deployment_id)


async def deployment_updates(
    context: Context, service: str | None, environment: str | None, deployment: str | None
) -> AsyncIterator[DeploymentRecord]:
    """Each deployment (of `service` in `environment`, or all) as it is after each change,
    read again from the store. With `deployment`, that one only: first as it is when
    subscribed, then after each change, until it finishes (the subscription then completes)."""
    may_subscribe(context)
    start = _start(context, None)
    service_id = await _id_of(context, "service", service)
    environment_id = await _id_of(context, "environment", environment)
    deployment_id = await _deployment_id(context, deployment)
    wanted = EventFilter(
        types=DEPLOYMENT_EVENTS, service_id=service_id, environment_id=environment_id
    )
    feed = _feed(context)
    # Subscribed before the first read: nothing slips by.
    subscription = await _subscribed(context, feed, wanted)
    updates = _delivered(context, feed, subscription, wanted, start)
    shown: DeploymentRecord | None = None
    try:
        if deployment_id is not None and start is None:
            shown = await _deployment(context, deployment_id)
            if shown is not None:
                yield shown
                if _finished(shown):
                    return
        async for event in updates:
            if event.deployment_id is None:
                continue
            if deployment_id is not None and event.deployment_id != deployment_id:
                continue
            found = await _deployment(context, event.deployment_id)
            # An event the first read already reflected shows nothing new.
            if found is not None and found != shown:
                shown = found
                yield found
                if deployment_id is not None and _finished(found):
                    return
    finally:
        subscription.close()
        await updates.aclose()
