"""Which webhooks receive an event: those listening for its type, created before it, that
may see it (a team's webhook sees what the team's members see: catalog and deployment events,
and its own team's webhook events; a webhook without a team sees everything, as admins do)."""

from __future__ import annotations

from domain.events.model import EventRecord
from domain.events.visibility import EventVisibility
from domain.webhooks.model import WebhookRecord


def visibility_of(webhook: WebhookRecord) -> EventVisibility:
    teams = frozenset() if webhook.team_id is None else frozenset({webhook.team_id})
    return EventVisibility(reads_catalog=True, all_webhooks=webhook.team_id is None, team_ids=teams)


def receives(webhook: WebhookRecord, event: EventRecord) -> bool:
    return (
        webhook.active
        and event.type in webhook.events
        and event.position > webhook.after
        and visibility_of(webhook).allows(event)
    )
