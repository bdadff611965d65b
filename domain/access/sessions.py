"""Browser sessions of people who signed in through the identity provider, kept server-side.

A session's id is a random secret only the browser holds (in a cookie); the store keeps its
SHA-256 (`secret_hash`), so nothing read from the store is a usable cookie. A session is live
until the first of: its end (logout), `idle` without a request, its absolute `expires_at`.

A pending sign-in is what starting a sign-in remembers until the identity provider sends the
browser back: the PKCE verifier, the nonce and where to go next, filed under the hash of the
`state` sent along; it is taken (and forgotten) at most once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from domain.access.model import OidcIdentity


def secret_hash(secret: str) -> bytes:
    """What is stored in place of a session id or a sign-in's state."""
    return hashlib.sha256(secret.encode("utf-8")).digest()


@dataclass(frozen=True, slots=True)
class WebSession:
    """A live session: the user it was provisioned as and the identity the ID token named
    (what each request's principal is built from, as for a bearer JWT)."""

    user_id: int
    identity: OidcIdentity
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class PendingLogin:
    nonce: str
    verifier: str
    """The PKCE code verifier: the token endpoint wants it with the code."""
    next_path: str
    """Where the browser goes once signed in: a path on this server."""
    expires_at: datetime


class SessionStore(Protocol):
    """Sessions and pending sign-ins; `now` is the caller's clock, `idle` the longest pause."""

    async def create(
        self,
        secret_hash: bytes,
        user_id: int,
        identity: OidcIdentity,
        *,
        now: datetime,
        expires_at: datetime,
        idle: timedelta,
    ) -> None:
        """A new session; sessions that have ended by `now` are forgotten meanwhile."""
        ...

    async def find(
        self, secret_hash: bytes, *, now: datetime, idle: timedelta
    ) -> WebSession | None:
        """The session if live at `now`, its `last_seen_at` moved to `now` (at most once a
        minute, or a tenth of `idle` if shorter); None otherwise."""
        ...

    async def delete(self, secret_hash: bytes) -> bool:
        """End the session; False when there was none."""
        ...

    async def begin_login(
        self, state_hash: bytes, login: PendingLogin, *, now: datetime, limit: int
    ) -> bool:
        """File `login`; False (nothing filed) when `limit` sign-ins are pending already.
        Sign-ins that have expired by `now` are forgotten first."""
        ...

    async def take_login(self, state_hash: bytes, *, now: datetime) -> PendingLogin | None:
        """The pending sign-in, forgotten as it is taken; None when there is none, it was
        taken already or it expired."""
        ...
