"""The audit log's port: append-only and hash-chained (sealed shortly after commit); listing,
trails, sealing and verification."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from domain.audit.model import AuditEntry, AuditEventRecord, AuditOutcome
from domain.audit.seals import ExpectedHead, SealHead
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
    """The outcome of walking the hash chain in seal order: `checked` records, the first
    broken one (or, with `broken_id` None, a chain that ends before the expected head), the
    head reached, and the records not sealed yet."""

    checked: int
    broken_id: int | None = None
    reason: str | None = None
    head: SealHead | None = None
    unsealed: int = 0
    oldest_unsealed: datetime | None = None

    @property
    def intact(self) -> bool:
        return self.reason is None


@dataclass(frozen=True, slots=True)
class SealBatch:
    """What one sealing transaction did: how many records it sealed, the chain's head after
    it, and each sealed record's wait from its append to its seal (seconds)."""

    sealed: int
    head: SealHead | None
    lags: tuple[float, ...] = ()


class AuditLog(Protocol):
    """The append-only, hash-chained record of every mutation attempt."""

    async def append(self, entry: AuditEntry, connection: Any = None) -> AuditEventRecord:
        """Record `entry`. With `connection` (the adapter's connection, in an open
        transaction) the record commits or rolls back with the caller's change."""
        ...

    async def seal(self, limit: int = 1000, *, wait: bool = False) -> SealBatch | None:
        """Seal up to `limit` committed unsealed records, oldest id first, in one transaction.
        None when another sealer is at work (with `wait`, wait for it instead)."""
        ...

    async def verify(
        self, expected: ExpectedHead | None = None, *, seal_first: bool = True
    ) -> VerifyResult:
        """Walk the chain; with `expected`, it must reach that head. `seal_first`: seal what
        is waiting before (as the sealer would), else only report it."""
        ...

    async def events(
        self, page: PageRequest, audit_filter: AuditFilter
    ) -> Page[AuditEventRecord]: ...
    async def events_count(self, audit_filter: AuditFilter) -> int: ...
    async def trail(self, target: str, page: PageRequest) -> Page[AuditEventRecord]: ...
