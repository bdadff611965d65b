"""Outgoing webhooks: where events are sent, and each delivery of an event to one of them."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.events.model import EventType, Position


class DeliveryState(enum.StrEnum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    RETRYING = "RETRYING"


@dataclass(frozen=True, slots=True)
class WebhookRecord:
    """A webhook as stored, without its secrets (they never leave the store but to sign)."""

    id: int
    url: str
    description: str | None
    team_id: int | None
    events: tuple[EventType, ...]
    active: bool
    disabled_reason: str | None
    created_at: datetime
    version: int
    after_event: int
    """With `after_tx`: the newest event readable when it was created; it receives the
    events after it (every event committed after its creation, and those committed shortly
    before that were not readable yet)."""
    consecutive_failures: int = 0
    after_tx: int = 0

    @property
    def after(self) -> Position:
        return Position(self.after_tx, self.after_event)


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    id: int
    webhook_id: int
    event_id: int
    attempt: int
    """Attempts made so far."""
    state: DeliveryState
    status_code: int | None
    duration_ms: int | None
    response_excerpt: str | None
    error: str | None
    next_attempt_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class WebhookDraft:
    url: str
    events: tuple[EventType, ...]
    team_id: int | None
    description: str | None


@dataclass(frozen=True, slots=True)
class WebhookPatch:
    """The fields an update sets (by record field name); what is absent stays."""

    changes: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class SigningSecrets:
    """The secrets that sign a webhook's messages now: the current one, and during a
    rotation's grace period the previous one too."""

    current: str
    previous: str | None = None

    def all(self) -> tuple[str, ...]:
        return (self.current,) if self.previous is None else (self.current, self.previous)


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one HTTP attempt to deliver gave."""

    status_code: int | None
    duration_ms: int
    response_excerpt: str | None
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        """410 Gone: the receiver says it will never take deliveries again."""
        return self.status_code == 410
