"""Webhook mutations, each declared once as a `UseCase` (`resolvers.use_cases` runs them).

Who may: a team's webhooks, its members with `write`; webhooks without a team, admins
(`Action.MANAGE_WEBHOOKS`). A webhook someone may not manage does not exist for them
(NOT_FOUND, as for a forged ID). A URL is checked (http(s), no credentials, the SSRF rule) on
create and update; the signing secret is generated here and shown only in the answer of
`createWebhook`/`rotateWebhookSecret`, never in the input and so never in the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, ClassVar

from pydantic import Field

from domain.access.policy import Action, require
from domain.errors import NotFound
from domain.events.model import EventType
from domain.webhooks.model import Attempt, DeliveryRecord, WebhookDraft, WebhookPatch, WebhookRecord
from domain.webhooks.ports import WebhookOutbound, WebhookStore
from domain.webhooks.signing import new_secret
from resolvers import validation as v
from resolvers import webhook_queries as q
from resolvers.context import Context
from resolvers.global_ids import decode_id
from resolvers.idempotency import without_secret
from resolvers.use_cases import Transaction, UseCase

ROTATION_GRACE = timedelta(hours=24)
"""How long the previous secret keeps signing after a rotation."""

Events = Annotated[list[EventType], Field(min_length=1, max_length=len(EventType))]


class CreateWebhook(v.InputModel):
    url: v.Url = Field(description="Where events are POSTed (http or https).")
    events: Events = Field(description="The event types it receives.")
    team: v.Reference | None = Field(
        default=None,
        description="Slug of the team whose members manage it; none: only admins do.",
    )
    description: v.Description | None = None


class UpdateWebhook(v.InputModel):
    not_nullable: ClassVar[frozenset[str]] = frozenset({"url", "events", "active"})

    webhook: v.NodeId
    expected_version: int | None = None
    url: v.Url | None = None
    events: Events | None = None
    description: v.Description | None = None
    active: bool | None = Field(
        default=None, description="false pauses deliveries; true resumes a disabled webhook."
    )


class DeleteWebhook(v.InputModel):
    webhook: v.NodeId


class RotateWebhookSecret(v.InputModel):
    """A new secret; the current one keeps signing too for 24 hours."""

    webhook: v.NodeId


class PingWebhook(v.InputModel):
    """Send the webhook a signed PING message now and tell how it answered."""

    webhook: v.NodeId


class RedeliverWebhookDelivery(v.InputModel):
    """Send a delivery's event to its webhook once more (a new delivery)."""

    delivery: v.NodeId


@dataclass(slots=True)
class Ping:
    """A ping's webhook, and once sent (after the commit) how it answered."""

    webhook: WebhookRecord
    attempt: Attempt | None = None


def webhooks(context: Context) -> WebhookStore:
    return q.store(context)


def _targets(context: Context) -> WebhookOutbound:
    if context.webhook_targets is None:
        raise RuntimeError("webhooks cannot be sent from here")
    return context.webhook_targets


def _id_of(global_id: str, type_name: str, field: str) -> int:
    decoded = decode_id(global_id)
    if decoded is None or decoded[0] != type_name:
        raise NotFound(f"no such {type_name}", ["input", field])
    return decoded[1]


async def _managed(context: Context, global_id: str) -> WebhookRecord:
    """The webhook, if the actor may manage it; NOT_FOUND otherwise."""
    found = await q.webhook(context, _id_of(global_id, "Webhook", "webhook"))
    if found is None:
        raise NotFound("no such Webhook", ["input", "webhook"])
    return found


async def _team_id(context: Context, slug: str | None) -> int | None:
    if slug is None:
        return None
    team = await context.loaders.team_by_slug.load(slug)
    if team is None:
        raise NotFound(f"no team '{slug}'", ["input", "team"])
    return team.id


async def _may_create(context: Context, created: CreateWebhook) -> None:
    team_id = await _team_id(context, created.team)
    require(
        context.principal,
        Action.MANAGE_WEBHOOKS,
        frozenset() if team_id is None else frozenset({team_id}),
    )
    await _targets(context).check_url(created.url)


async def _create(
    context: Context, created: CreateWebhook, tx: Transaction[WebhookStore]
) -> tuple[WebhookRecord, str]:
    secret = new_secret()
    draft = WebhookDraft(
        url=created.url,
        events=tuple(dict.fromkeys(created.events)),
        team_id=await _team_id(context, created.team),
        description=created.description,
    )
    return await tx.port.create(draft, secret), secret


async def _may_update(context: Context, updated: UpdateWebhook) -> None:
    await _managed(context, updated.webhook)
    if updated.url is not None:
        await _targets(context).check_url(updated.url)


async def _update(
    context: Context, updated: UpdateWebhook, tx: Transaction[WebhookStore]
) -> WebhookRecord:
    changes: dict[str, Any] = {
        name: getattr(updated, name)
        for name in ("url", "events", "description", "active")
        if name in updated.model_fields_set
    }
    if "events" in changes:
        changes["events"] = tuple(dict.fromkeys(changes["events"]))
    webhook_id = _id_of(updated.webhook, "Webhook", "webhook")
    return await tx.port.update(webhook_id, updated.expected_version, WebhookPatch(changes))


async def _may_manage(context: Context, named: DeleteWebhook | RotateWebhookSecret) -> None:
    await _managed(context, named.webhook)


async def _delete(
    context: Context, deleted: DeleteWebhook, tx: Transaction[WebhookStore]
) -> WebhookRecord:
    return await tx.port.delete(_id_of(deleted.webhook, "Webhook", "webhook"))


async def _rotate(
    context: Context, rotated: RotateWebhookSecret, tx: Transaction[WebhookStore]
) -> tuple[WebhookRecord, str]:
    secret = new_secret()
    record = await tx.port.rotate_secret(
        _id_of(rotated.webhook, "Webhook", "webhook"), secret, datetime.now(UTC) + ROTATION_GRACE
    )
    return record, secret


async def _may_ping(context: Context, pinged: PingWebhook) -> None:
    await _managed(context, pinged.webhook)


async def _ping(context: Context, pinged: PingWebhook, tx: Transaction[WebhookStore]) -> Ping:
    """Recorded first (the audit record), sent after the commit: the answer carries how the
    receiver answered."""
    ping = Ping(await tx.port.pinged(_id_of(pinged.webhook, "Webhook", "webhook")))

    async def send() -> None:
        ping.attempt = await _targets(context).ping(ping.webhook)

    tx.after_commit(send)
    return ping


async def _may_redeliver(context: Context, redelivered: RedeliverWebhookDelivery) -> None:
    found = await q.delivery(context, _id_of(redelivered.delivery, "WebhookDelivery", "delivery"))
    if found is None:
        raise NotFound("no such WebhookDelivery", ["input", "delivery"])


async def _redeliver(
    context: Context, redelivered: RedeliverWebhookDelivery, tx: Transaction[WebhookStore]
) -> DeliveryRecord:
    return await tx.port.redeliver(_id_of(redelivered.delivery, "WebhookDelivery", "delivery"))


create_webhook = UseCase(
    operation="createWebhook",
    model=CreateWebhook,
    check=_may_create,
    targets=[("Team", "team")],
    port=webhooks,
    change=_create,
    conceal=without_secret,
)
update_webhook = UseCase(
    operation="updateWebhook",
    model=UpdateWebhook,
    check=_may_update,
    targets=[("Webhook", "webhook")],
    port=webhooks,
    change=_update,
)
delete_webhook = UseCase(
    operation="deleteWebhook",
    model=DeleteWebhook,
    check=_may_manage,
    targets=[("Webhook", "webhook")],
    port=webhooks,
    change=_delete,
)
rotate_webhook_secret = UseCase(
    operation="rotateWebhookSecret",
    model=RotateWebhookSecret,
    check=_may_manage,
    targets=[("Webhook", "webhook")],
    port=webhooks,
    change=_rotate,
    conceal=without_secret,
)
ping_webhook = UseCase(
    operation="pingWebhook",
    model=PingWebhook,
    check=_may_ping,
    targets=[("Webhook", "webhook")],
    port=webhooks,
    change=_ping,
)
redeliver_webhook_delivery = UseCase(
    operation="redeliverWebhookDelivery",
    model=RedeliverWebhookDelivery,
    check=_may_redeliver,
    targets=[("WebhookDelivery", "delivery")],
    port=webhooks,
    change=_redeliver,
)
