"""Idempotency keys: a write sent again with the key of an earlier one answers the first
result and does nothing more.

Every mutation accepts `idempotencyKey`. A key belongs to one actor (kind and id; another
actor's same key is another key) and lives `KEPT` after its first use. Its first accepted use
claims it in the change's own transaction (`KeyClaim`, carried by the audit entry), so the key
is taken exactly when the change is made; the result reference (`FirstUse.result`, JSON) is
added right after the commit. The same key with another operation or input is a CONFLICT."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

KEPT = timedelta(hours=24)
MAX_KEY_LENGTH = 200


@dataclass(frozen=True, slots=True)
class KeyClaim:
    """One attempt's use of a key: whose, for what (operation and the hash of its input)."""

    actor_kind: str
    actor_id: int | None
    key: str
    operation: str
    input_hash: str
    attempt: str
    """Tells this attempt's claim from another's (a change may write through its port twice)."""


@dataclass(frozen=True, slots=True)
class FirstUse:
    operation: str
    input_hash: str
    result: Any
    """The JSON reference of the first answer; None while (or if never) recorded."""
    created_at: datetime


class KeyInUse(Exception):
    """Another attempt claimed the key first (concurrently): the change was rolled back."""


class IdempotencyKeys(Protocol):
    async def first_use(self, claim: KeyClaim) -> FirstUse | None:
        """The key's first accepted use within `KEPT`, if any."""
        ...

    async def remember(self, claim: KeyClaim, result: Any) -> None:
        """Keep the result reference of the committed use `claim` made."""
        ...

    async def prune(self, older_than: datetime) -> int:
        """Forget keys first used before `older_than`; how many."""
        ...
