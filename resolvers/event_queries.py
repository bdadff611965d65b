"""Reading events: the outbox in commit order, as far as the reader may see it."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from domain.catalog.records import Edge, Page
from domain.errors import NotFound, ValidationFailed
from domain.events.cursors import event_cursor, position_of
from domain.events.model import ORIGIN, EventFilter, EventRecord, EventType, Position
from domain.events.visibility import EventVisibility
from resolvers.catalog_queries import Listing
from resolvers.context import Context
from resolvers.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE


@dataclass(frozen=True, slots=True)
class EventFilterInput:
    """The filter as a client names things: by slug."""

    types: Collection[EventType] | None = None
    service: str | None = None
    team: str | None = None
    environment: str | None = None
    since: datetime | None = None


async def resolve_filter(context: Context, given: EventFilterInput | None) -> EventFilter:
    """The filter with its slugs as ids; NOT_FOUND for a slug that names nothing."""
    if given is None:
        return EventFilter()
    if given.types is not None and len(given.types) > len(EventType):
        raise ValidationFailed(
            f"`filter.types` may name at most {len(EventType)} types", ["filter", "types"]
        )
    if given.since is not None and given.since.tzinfo is None:
        raise ValidationFailed("`filter.since` needs a time zone", ["filter", "since"])
    loaders = context.loaders
    ids: dict[str, int | None] = {}
    for name, slug, loader in (
        ("service", given.service, loaders.service_by_slug),
        ("team", given.team, loaders.team_by_slug),
        ("environment", given.environment, loaders.environment_by_slug),
    ):
        ids[name] = None
        if slug is not None:
            found = await loader.load(slug)
            if found is None:
                raise NotFound(f"no {name} '{slug}' (filter.{name})", ["filter", name])
            ids[name] = found.id
    return EventFilter(
        types=None if given.types is None else frozenset(given.types),
        service_id=ids["service"],
        team_id=ids["team"],
        environment_id=ids["environment"],
        since=given.since,
    )


def visibility(context: Context) -> EventVisibility:
    return EventVisibility.of(context.principal)


async def events(
    context: Context, event_filter: EventFilter, first: int | None, after: str | None
) -> Listing[EventRecord]:
    """Oldest first from `after` (the resume point), up to `first` events."""
    size = DEFAULT_PAGE_SIZE if first is None else first
    if not 0 <= size <= MAX_PAGE_SIZE:
        raise ValidationFailed(f"`first` must be between 0 and {MAX_PAGE_SIZE}", ["first"])
    position = ORIGIN if after is None else position_of(after)
    seen = visibility(context)
    found = await _settled(context, position, size + 1, event_filter, seen)
    page = Page(
        edges=[Edge(event_cursor(event.position), event) for event in found[:size]],
        has_next_page=len(found) > size,
        has_previous_page=after is not None,
    )
    return Listing(page, lambda: context.events.count(event_filter, seen))


SETTLE_SECONDS = 0.02
"""How long a listing waits before reading again for events committed before it began."""
SETTLE_LIMIT = 2.0
"""How long at most: then it answers with what is readable."""


async def _settled(
    context: Context,
    position: Position,
    limit: int,
    event_filter: EventFilter,
    seen: EventVisibility,
) -> list[EventRecord]:
    """The events after `position`, once those committed before the listing began are
    readable: an event committed while an older transaction still ran is readable only once
    that one ends (`providers/postgres/outbox.py`), and a client that just made a change
    expects its event listed. Waits only for the transactions running when it began."""
    read = await context.events.after(position, limit, event_filter, seen)
    awaited = read.newest_tx
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_LIMIT
    while len(read.events) < limit and read.horizon <= awaited and loop.time() < deadline:
        await asyncio.sleep(SETTLE_SECONDS)
        read = await context.events.after(position, limit, event_filter, seen)
    return read.events


async def event(context: Context, event_id: int) -> EventRecord | None:
    """The event with that id, if the reader may see it."""
    [found] = await context.events.by_ids([event_id])
    return found if found is not None and visibility(context).allows(found) else None
