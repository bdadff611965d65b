"""The audit log's port: append-only and hash-chained; listing, trails and verification."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from domain.audit.model import AuditEntry, AuditEventRecord, AuditOutcome
from domain.catalog.records import Page, PageRequest


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Every field set narrows the listing. `actor` is a user handle or an API client slug
    (both match when they coincide); `target` an object name such as `Service:payments-api`;
    `since` is inclusive and `until` exclusive."""

    actor: str | None = None
    target: str | None = None
    operation: str | None = None
    outcome: AuditOutcome | None = None
    since: datetime | None = None
    until: datetime | None = None
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The outcome of walking the hash chain: `checked` records, and the first broken one."""

    checked: int
    broken_id: int | None = None
    reason: str | None = None

    @property
    def intact(self) -> bool:
        return self.broken_id is None


class AuditLog(Protocol):
    """The append-only, hash-chained record of every mutation attempt."""

    async def append(self, entry: AuditEntry, connection: Any = None) -> AuditEventRecord:
        """Record `entry`. With `connection` (the adapter's connection, in an open
        transaction) the record commits or rolls back with the caller's change."""
        ...

    async def verify(self) -> VerifyResult: ...
    async def events(
        self, page: PageRequest, audit_filter: AuditFilter
    ) -> Page[AuditEventRecord]: ...
    async def events_count(self, audit_filter: AuditFilter) -> int: ...
    async def trail(self, target: str, page: PageRequest) -> Page[AuditEventRecord]: ...
