"""Webhook and delivery rows as domain records."""

from __future__ import annotations

import asyncpg

from domain.events.model import EventType
from domain.webhooks.model import DeliveryRecord, DeliveryState, WebhookRecord

WEBHOOK_COLUMNS = (
    "id, url, description, team_id, events, active, disabled_reason, created_at, version, "
    "after_event, consecutive_failures, after_tx"
)
DELIVERY_COLUMNS = (
    "id, webhook_id, event_id, attempt, state, status_code, duration_ms, response_excerpt, "
    "error, next_attempt_at, created_at"
)


def webhook(row: asyncpg.Record) -> WebhookRecord:
    return WebhookRecord(
        id=row["id"],
        url=row["url"],
        description=row["description"],
        team_id=row["team_id"],
        events=tuple(EventType(name) for name in row["events"]),
        active=row["active"],
        disabled_reason=row["disabled_reason"],
        created_at=row["created_at"],
        version=row["version"],
        after_event=row["after_event"],
        consecutive_failures=row["consecutive_failures"],
        after_tx=row["after_tx"],
    )


def delivery(row: asyncpg.Record) -> DeliveryRecord:
    return DeliveryRecord(
        id=row["id"],
        webhook_id=row["webhook_id"],
        event_id=row["event_id"],
        attempt=row["attempt"],
        state=DeliveryState(row["state"]),
        status_code=row["status_code"],
        duration_ms=row["duration_ms"],
        response_excerpt=row["response_excerpt"],
        error=row["error"],
        next_attempt_at=row["next_attempt_at"],
        created_at=row["created_at"],
    )
