"""The JSON body of a webhook message: the event as the graph shows it, never secrets.

`{"type": <EventType>, "timestamp": <ISO 8601>, "data": {id, cursor, type, occurredAt,
subject, service, environment, deployment, team, actor, requestId, data}}`, where `id` is the
event's global ID and each reference is `{"id": <global ID>, "slug": ...}` (a deployment's
`slug` is its number), or null."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.events.cursors import event_cursor
from domain.events.model import EventRecord

REFERENCES = ("subject", "service", "environment", "deployment", "team")
PING = "PING"


def global_id(type_name: str, pk: int) -> str:
    """The global ID the graph gives that object (the encoding of `resolvers.global_ids`)."""
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")


@dataclass(frozen=True, slots=True)
class Reference:
    type_name: str
    id: int
    slug: str | None

    def as_json(self) -> dict[str, Any]:
        return {"id": global_id(self.type_name, self.id), "slug": self.slug}


def event_message(event: EventRecord, references: Mapping[str, Reference | None]) -> dict[str, Any]:
    """`references`: by name (`REFERENCES`), what the event concerns."""
    data: dict[str, Any] = {
        "id": global_id("Event", event.id),
        "cursor": event_cursor(event.position),
        "type": event.type.value,
        "occurredAt": event.occurred_at.isoformat(),
    }
    for name in REFERENCES:
        found = references.get(name)
        data[name] = None if found is None else found.as_json()
    data["actor"] = None if event.actor is None else event.actor.name
    data["requestId"] = event.request_id
    data["data"] = dict(event.data)
    return {"type": event.type.value, "timestamp": event.occurred_at.isoformat(), "data": data}


def ping_message(webhook_id: int, now: datetime) -> dict[str, Any]:
    return {
        "type": PING,
        "timestamp": now.isoformat(),
        "data": {"webhook": {"id": global_id("Webhook", webhook_id)}},
    }
