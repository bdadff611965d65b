"""Who is asking: actors, API clients and tokens, scopes and principals, as records."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from domain.errors import CatalogError, ErrorCode


class Scope(enum.StrEnum):
    READ = "read"
    WRITE = "write"
    DEPLOY = "deploy"
    APPROVE = "approve"
    ADMIN = "admin"


ALL_SCOPES = frozenset(Scope)


class ActorKind(enum.StrEnum):
    USER = "user"
    CLIENT = "client"
    LOCAL_ADMIN = "local-admin"
    """The built-in actor of development mode: a request without credentials on loopback."""


class Forbidden(CatalogError):
    code = ErrorCode.FORBIDDEN


class Unauthenticated(CatalogError):
    code = ErrorCode.UNAUTHENTICATED


@dataclass(frozen=True, slots=True)
class ApiClientRecord:
    id: int
    slug: str
    name: str
    team_id: int
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ApiTokenRecord:
    """Never the secret: only its non-secret prefix. Exactly one of user_id/client_id."""

    id: int
    prefix: str
    name: str
    user_id: int | None
    client_id: int | None
    scopes: tuple[Scope, ...]
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class OidcIdentity:
    """Whom the identity provider vouches for (a bearer JWT, or the ID token of a sign-in)."""

    subject: str
    email: str | None
    name: str | None
    groups: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Principal:
    """The actor of one request and what it may do.

    `scopes` are the credential's scopes already narrowed to the actor's roles; `team_ids` are
    the teams the actor acts for (a user's memberships, an API client's own team).
    `token_id` and `token_expires_at` are those of the request's API token, if it sent one
    (a token it creates never outlives it); an OIDC session's `exp` is not kept.
    """

    kind: ActorKind
    actor_id: int | None
    name: str
    scopes: frozenset[Scope]
    is_admin: bool = False
    team_ids: frozenset[int] = frozenset()
    token_id: int | None = None
    token_expires_at: datetime | None = None

    def has(self, scope: Scope) -> bool:
        return scope in self.scopes


LOCAL_ADMIN = Principal(
    kind=ActorKind.LOCAL_ADMIN,
    actor_id=None,
    name="local admin",
    scopes=ALL_SCOPES,
    is_admin=True,
)
