"""The audit log's vocabulary: one record per mutation attempt, and its outcome."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.access.model import ActorKind
from domain.idempotency import KeyClaim


class AuditOutcome(enum.StrEnum):
    ACCEPTED = "ACCEPTED"
    INVALID = "INVALID"
    DENIED = "DENIED"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One mutation attempt, as written to the append-only audit log."""

    operation: str
    outcome: AuditOutcome
    actor_kind: ActorKind
    actor_id: int | None
    actor_name: str
    token_id: int | None = None
    targets: tuple[str, ...] = ()
    input: dict[str, Any] = field(default_factory=dict)
    error_codes: tuple[str, ...] = ()
    request_id: str | None = None
    idempotency_key: str | None = None
    channel: str | None = None
    """The face the attempt came through when not the GraphQL API itself (`mcp`)."""


@dataclass(frozen=True, slots=True)
class ClaimingEntry(AuditEntry):
    """An attempt that takes its idempotency key with its change: the key's claim is written
    in the change's transaction with the record (it is not part of the record)."""

    claim: KeyClaim | None = None

    @classmethod
    def of(cls, entry: AuditEntry, claim: KeyClaim) -> ClaimingEntry:
        return cls(
            **{name: getattr(entry, name) for name in AuditEntry.__dataclass_fields__}, claim=claim
        )


@dataclass(frozen=True, slots=True)
class AuditEventRecord:
    """A stored record; `seal_seq`, `prev_hash` and `hash` stay None until it is sealed
    (shortly after its transaction commits)."""

    id: int
    at: datetime
    entry: AuditEntry
    prev_hash: str | None
    hash: str | None
    seal_seq: int | None = None
    sealed_at: datetime | None = None
