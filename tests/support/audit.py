"""Audit entries the adapter tests write changes under."""

from __future__ import annotations

from domain.access.model import ActorKind
from domain.audit.model import AuditEntry, AuditOutcome


def accepted_entry(request_id: str) -> AuditEntry:
    """An accepted attempt of user ada's, under `request_id`."""
    return AuditEntry(
        operation="test",
        outcome=AuditOutcome.ACCEPTED,
        actor_kind=ActorKind.USER,
        actor_id=7,
        actor_name="ada",
        request_id=request_id,
    )
