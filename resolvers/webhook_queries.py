"""Reading webhooks and their deliveries: only by those who may manage them (a team's members
with `write`, admins for webhooks without a team); to anyone else they do not exist."""

from __future__ import annotations

from domain.access.model import Principal, Scope
from domain.access.policy import Action, acts_as_admin, decide
from domain.catalog.records import Edge, Page
from domain.errors import InvalidCursor, NotFound, ValidationFailed
from domain.events.model import EventRecord
from domain.webhooks.model import DeliveryRecord, WebhookRecord
from domain.webhooks.ports import WebhookStore
from resolvers.catalog_queries import Listing
from resolvers.context import Context
from resolvers.global_ids import decode_id, encode_id
from resolvers.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE


def store(context: Context) -> WebhookStore:
    if context.webhooks is None:
        raise RuntimeError("webhooks are not available here")
    return context.webhooks


def may_manage(principal: Principal, team_id: int | None) -> bool:
    teams = frozenset() if team_id is None else frozenset({team_id})
    return decide(principal, Action.MANAGE_WEBHOOKS, teams).allowed


async def webhook(context: Context, webhook_id: int) -> WebhookRecord | None:
    [found] = await store(context).by_ids([webhook_id])
    if found is None or not may_manage(context.principal, found.team_id):
        return None
    return found


async def delivery(context: Context, delivery_id: int) -> DeliveryRecord | None:
    [found] = await store(context).deliveries_by_ids([delivery_id])
    if found is None or await webhook(context, found.webhook_id) is None:
        return None
    return found


async def event_of(context: Context, found: DeliveryRecord) -> EventRecord | None:
    """The event a delivery carries (visible to whoever may see the delivery)."""
    [event] = await context.events.by_ids([found.event_id])
    return event


def _size(first: int | None) -> int:
    size = DEFAULT_PAGE_SIZE if first is None else first
    if not 0 <= size <= MAX_PAGE_SIZE:
        raise ValidationFailed(f"`first` must be between 0 and {MAX_PAGE_SIZE}", ["first"])
    return size


def _position(after: str | None, type_name: str) -> int | None:
    if after is None:
        return None
    decoded = decode_id(after) if len(after) <= 64 else None
    if decoded is None or decoded[0] != type_name:
        raise InvalidCursor("`after` is not a cursor of this listing", ["after"])
    return decoded[1]


def _managed_teams(principal: Principal) -> frozenset[int] | None:
    """The teams whose webhooks `principal` manages; None: every webhook (an admin)."""
    if not principal.has(Scope.WRITE):
        return frozenset()
    return None if acts_as_admin(principal) else principal.team_ids


async def webhooks(
    context: Context, team: str | None, first: int | None, after: str | None
) -> Listing[WebhookRecord]:
    """The webhooks the reader manages, oldest first; `team`: only that team's."""
    size = _size(first)
    position = _position(after, "Webhook")
    teams = _managed_teams(context.principal)
    if team is not None:
        found = await context.loaders.team_by_slug.load(team)
        if found is None:
            raise NotFound(f"no team '{team}'", ["team"])
        teams = frozenset({found.id}) if teams is None else teams & {found.id}
    records = (
        await store(context).listing(teams, position, size + 1) if teams != frozenset() else []
    )
    page = Page(
        edges=[Edge(encode_id("Webhook", record.id), record) for record in records[:size]],
        has_next_page=len(records) > size,
        has_previous_page=after is not None,
    )

    async def count() -> int:
        return 0 if teams == frozenset() else await store(context).count(teams)

    return Listing(page, count)


async def deliveries(
    context: Context, of: WebhookRecord, first: int | None, after: str | None, failed_only: bool
) -> Listing[DeliveryRecord]:
    """Newest first."""
    size = _size(first)
    position = _position(after, "WebhookDelivery")
    records = await store(context).deliveries(of.id, position, size + 1, failed_only)
    page = Page(
        edges=[Edge(encode_id("WebhookDelivery", record.id), record) for record in records[:size]],
        has_next_page=len(records) > size,
        has_previous_page=after is not None,
    )
    return Listing(page, lambda: store(context).count_deliveries(of.id, failed_only))
