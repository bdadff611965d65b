"""The port for who may do what: identities and API tokens (`AccessStore`), as a structural
type over the records of `domain.access.model`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, Protocol

from domain.access.model import ActorKind, ApiClientRecord, ApiTokenRecord, Scope
from domain.audit.model import AuditEntry
from domain.catalog.records import UserRecord


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
        """The identity of a live token (not revoked, not expired), else None, as stored now
        (the store caches nothing). Does not note the use: see `record_token_uses`."""
        ...

    async def record_token_uses(self, uses: Mapping[int, datetime]) -> None:
        """Note the last use of tokens (id -> when), in one batch; a later time stays."""
        ...

    async def provision_oidc_user(
        self, subject: str, email: str | None, name: str, group_team_slugs: Sequence[str]
    ) -> ProvisionedUser: ...

    async def create_user(self, handle: str, name: str, email: str, admin: bool) -> UserRecord: ...
    async def set_admin(self, handle: str, admin: bool) -> UserRecord: ...
    async def is_admin(self, user_id: int) -> bool:
        """False for an unknown user."""
        ...
