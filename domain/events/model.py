"""What the platform tells its clients: one event per accepted change, in commit order.

An event names what it is about (its subject) and, where they apply, the service, team,
environment and deployment it concerns, so that readers can be filtered by them and shown
only what they may read. `data` says what changed; it never holds secrets."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from domain.access.model import ActorKind


class EventType(enum.StrEnum):
    SERVICE_CREATED = "SERVICE_CREATED"
    SERVICE_UPDATED = "SERVICE_UPDATED"
    SERVICE_DELETED = "SERVICE_DELETED"
    OWNERSHIP_CHANGED = "OWNERSHIP_CHANGED"
    DEPENDENCY_ADDED = "DEPENDENCY_ADDED"
    DEPENDENCY_REMOVED = "DEPENDENCY_REMOVED"
    TEAM_CREATED = "TEAM_CREATED"
    TEAM_UPDATED = "TEAM_UPDATED"
    TEAM_DELETED = "TEAM_DELETED"
    MEMBERSHIP_CHANGED = "MEMBERSHIP_CHANGED"
    ENVIRONMENT_CREATED = "ENVIRONMENT_CREATED"
    ENVIRONMENT_UPDATED = "ENVIRONMENT_UPDATED"
    ENVIRONMENT_DELETED = "ENVIRONMENT_DELETED"
    ENVIRONMENT_FROZEN = "ENVIRONMENT_FROZEN"
    ENVIRONMENT_UNFROZEN = "ENVIRONMENT_UNFROZEN"
    DEPLOYMENT_CREATED = "DEPLOYMENT_CREATED"
    DEPLOYMENT_STATE_CHANGED = "DEPLOYMENT_STATE_CHANGED"
    DEPLOYMENT_APPROVAL_REQUESTED = "DEPLOYMENT_APPROVAL_REQUESTED"
    DEPLOYMENT_APPROVED = "DEPLOYMENT_APPROVED"
    DEPLOYMENT_REJECTED = "DEPLOYMENT_REJECTED"
    WEBHOOK_DISABLED = "WEBHOOK_DISABLED"
    RESOURCE_REQUESTED = "RESOURCE_REQUESTED"
    RESOURCE_UPDATED = "RESOURCE_UPDATED"
    RESOURCE_STATE_CHANGED = "RESOURCE_STATE_CHANGED"
    RESOURCE_APPROVAL_REQUESTED = "RESOURCE_APPROVAL_REQUESTED"
    RESOURCE_APPROVED = "RESOURCE_APPROVED"
    RESOURCE_REJECTED = "RESOURCE_REJECTED"


class SubjectKind(enum.StrEnum):
    """What an event is about: the GraphQL type of its subject."""

    SERVICE = "Service"
    TEAM = "Team"
    ENVIRONMENT = "Environment"
    DEPLOYMENT = "Deployment"
    WEBHOOK = "Webhook"
    RESOURCE = "Resource"


@dataclass(frozen=True, slots=True)
class EventDraft:
    """An event as a change describes it, before the outbox gives it its place."""

    type: EventType
    subject_kind: SubjectKind
    subject_id: int
    data: Mapping[str, Any] = field(default_factory=dict)
    service_id: int | None = None
    team_id: int | None = None
    environment_id: int | None = None
    deployment_id: int | None = None


@dataclass(frozen=True, slots=True)
class EventActor:
    """Who made the change; None on an event for what the platform did by itself."""

    kind: ActorKind
    actor_id: int | None
    name: str


class Position(NamedTuple):
    """An event's place in the outbox's order: the id of the transaction that wrote it, then
    its own id. Readers see only events whose transaction is older than every transaction
    still running, so the events before a position they saw never change (cursors resume
    after it)."""

    tx: int
    id: int


ORIGIN = Position(0, 0)
"""Before every event."""


@dataclass(frozen=True, slots=True)
class EventRecord:
    """An event as stored: `position` is its place in the outbox's order."""

    id: int
    type: EventType
    occurred_at: datetime
    subject_kind: SubjectKind
    subject_id: int
    data: Mapping[str, Any]
    actor: EventActor | None = None
    request_id: str | None = None
    service_id: int | None = None
    team_id: int | None = None
    environment_id: int | None = None
    deployment_id: int | None = None
    tx: int = 0
    """The id of the transaction that wrote it (0: written before migration 0017)."""

    @property
    def position(self) -> Position:
        return Position(self.tx, self.id)


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Which events a reader asks for; the slugs are resolved to ids before any event is
    read (an unknown slug is NOT_FOUND)."""

    types: frozenset[EventType] | None = None
    service_id: int | None = None
    team_id: int | None = None
    environment_id: int | None = None
    since: datetime | None = None

    def matches(self, event: EventRecord) -> bool:
        """The same test the stored filter applies, for events already in memory."""
        if self.types is not None and event.type not in self.types:
            return False
        if self.since is not None and event.occurred_at < self.since:
            return False
        return all(
            wanted is None or wanted == have
            for wanted, have in (
                (self.service_id, event.service_id),
                (self.team_id, event.team_id),
                (self.environment_id, event.environment_id),
            )
        )
