"""Ports for who may do what: identities and API tokens (`AccessStore`) and the append-only
audit log (`AuditLog`), as structural types over the records of `domain.access.model`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from domain.access.model import (
    ActorKind,
    ApiClientRecord,
    ApiTokenRecord,
    AuditEntry,
    AuditEventRecord,
    AuditOutcome,
    Scope,
)
from domain.catalog.records import Page, PageRequest, UserRecord


@dataclass(frozen=True, slots=True)
class TokenIdentity:
    """Who a valid API token speaks for.

    `kind` is USER or CLIENT; `handle` is the user's handle or the client's slug, `name` its
    display name. A client is never an administrator and acts for its own team only.
    """

    token: ApiTokenRecord
    kind: ActorKind
    actor_id: int
    handle: str
    name: str
    is_admin: bool
    team_ids: frozenset[int]


class ProvisionedUser(NamedTuple):
    """The user an OIDC identity maps to, after its group memberships were added."""

    user_id: int
    is_admin: bool
    team_ids: frozenset[int]


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


class AccessStore(Protocol):
    """Identities, API clients and their tokens. Refusals are `CatalogError`s with a `path`."""

    def audited(self, entry: AuditEntry) -> AccessStore:
        """The same store; each change (API clients, tokens) also records `entry` in its
        own transaction."""
        ...

    async def create_api_client(self, slug: str, name: str, team_slug: str) -> ApiClientRecord: ...
    async def delete_api_client(self, slug: str) -> int: ...
    async def api_client_by_slug(self, slug: str) -> ApiClientRecord | None: ...
    async def api_clients_by_id(self, ids: Sequence[int]) -> dict[int, ApiClientRecord]: ...
    async def api_clients_of_teams(
        self, team_ids: Sequence[int]
    ) -> dict[int, list[ApiClientRecord]]: ...

    async def create_token(
        self,
        *,
        user_handle: str | None,
        client_slug: str | None,
        name: str,
        scopes: Sequence[Scope],
        expires_at: datetime | None,
    ) -> tuple[ApiTokenRecord, str]:
        """The new token's record and its secret, which is stored only as a hash."""
        ...

    async def revoke_token(self, token_id: int) -> ApiTokenRecord: ...
    async def token_by_id(self, token_id: int) -> ApiTokenRecord | None: ...
    async def tokens_of_users(self, user_ids: Sequence[int]) -> dict[int, list[ApiTokenRecord]]: ...
    async def tokens_of_clients(
        self, client_ids: Sequence[int]
    ) -> dict[int, list[ApiTokenRecord]]: ...

    async def authenticate(self, secret: str) -> TokenIdentity | None:
        """The identity of a live token (not revoked, not expired), else None. Never cached."""
        ...

    async def provision_oidc_user(
        self, subject: str, email: str | None, name: str, group_team_slugs: Sequence[str]
    ) -> ProvisionedUser: ...

    async def create_user(self, handle: str, name: str, email: str, admin: bool) -> UserRecord: ...
    async def set_admin(self, handle: str, admin: bool) -> UserRecord: ...
    async def is_admin(self, user_id: int) -> bool:
        """False for an unknown user."""
        ...


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
