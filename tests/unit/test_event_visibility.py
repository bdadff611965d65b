"""Who reads which events: a resource's like its service's (and a deployment's), a webhook's
only its team and admins, and every subject kind under some rule."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.access.model import ActorKind, Principal, Scope
from domain.events.model import EventRecord, EventType, SubjectKind
from domain.events.visibility import CATALOG_SUBJECTS, EventVisibility

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def reader(*scopes: Scope, teams: frozenset[int] = frozenset(), admin: bool = False) -> Principal:
    return Principal(ActorKind.USER, 7, "u", frozenset(scopes), is_admin=admin, team_ids=teams)


def event(kind: SubjectKind, type_: EventType, team_id: int | None = None) -> EventRecord:
    return EventRecord(1, type_, NOW, kind, 5, {}, service_id=3, team_id=team_id, environment_id=2)


RESOURCE_EVENTS = [
    EventType.RESOURCE_REQUESTED,
    EventType.RESOURCE_UPDATED,
    EventType.RESOURCE_STATE_CHANGED,
    EventType.RESOURCE_APPROVAL_REQUESTED,
    EventType.RESOURCE_APPROVED,
    EventType.RESOURCE_REJECTED,
]


@pytest.mark.parametrize("type_", RESOURCE_EVENTS)
def test_a_resource_event_is_read_like_its_service(type_: EventType) -> None:
    resource_event = event(SubjectKind.RESOURCE, type_, team_id=11)
    service_event = event(SubjectKind.SERVICE, EventType.SERVICE_UPDATED, team_id=11)
    # Readers of the catalog see both, whatever their teams.
    member = EventVisibility.of(reader(Scope.READ, teams=frozenset({11})))
    stranger = EventVisibility.of(reader(Scope.READ, teams=frozenset({99})))
    for visibility in (member, stranger):
        assert visibility.allows(resource_event)
        assert visibility.allows(service_event)
    # Without the read scope, neither.
    blind = EventVisibility.of(reader(Scope.WRITE, teams=frozenset({11})))
    assert not blind.allows(resource_event)
    assert not blind.allows(service_event)


def test_a_webhook_event_stays_with_its_team_and_admins() -> None:
    disabled = event(SubjectKind.WEBHOOK, EventType.WEBHOOK_DISABLED, team_id=11)
    assert EventVisibility.of(reader(Scope.READ, teams=frozenset({11}))).allows(disabled)
    assert not EventVisibility.of(reader(Scope.READ, teams=frozenset({99}))).allows(disabled)
    admin = reader(Scope.READ, Scope.ADMIN, admin=True)
    assert EventVisibility.of(admin).allows(disabled)


def test_every_subject_kind_has_a_rule() -> None:
    """A new kind of subject must be placed: readable with the catalog, or by its own rule."""
    assert set(SubjectKind) == CATALOG_SUBJECTS | {SubjectKind.WEBHOOK}
