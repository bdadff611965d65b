"""The portal's browser sessions, and the requests that may act through one.

Signing in (`api/oidc_login.py`) starts a session: a random id (`secrets.token_urlsafe(32)`)
that only the browser holds, in the `paved_session` cookie (HttpOnly; Secure except in
development over plain http; SameSite=Lax; Path=/). The store keeps its SHA-256 and the
identity the ID token named; each request's principal is built from that identity exactly as
from a bearer JWT (`Authenticator.oidc_principal`: provisioning, groups to teams).

**CSRF: the synchronizer token pattern.** Each session has a CSRF token, HMAC-SHA256 of the
fixed text `paved-csrf` keyed by the session's id. The server recomputes it from the cookie,
so it is stored nowhere, and neither the token nor the stored hash reveals the id. The page
reads it from `GET /auth/session`, a same-origin read (this server never sends CORS headers,
so another site's script cannot read the answer), and sends it back in `X-Paved-CSRF`. Chosen
over the double-submit cookie, which compares the header with a cookie an attacker may be able
to plant (from a sibling subdomain, or over plain http: a `__Host-` prefix is impossible in
development); ours is bound to the HttpOnly session secret, which such an attacker can neither
read nor choose.

**Which requests may use the cookie** (`credential_of`): POST with `Content-Type:
application/json` and the `X-Paved-CSRF` header. Cross-site, the JSON content type and the
custom header each force a CORS preflight this server never grants, and the header's value
must match the session besides. GET requests and form posts never act through the cookie:
the cookie is ignored there (development: the local admin; production: 401). A bearer
`Authorization` header wins over the cookie. A WebSocket acts through the cookie only when its
`Origin` is the public origin and its `connection_init` carries the CSRF token
(`websocket_credential`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.responses import Response

from domain.access.model import OidcIdentity, Principal, Unauthenticated
from domain.access.sessions import SessionStore, WebSession, secret_hash

SESSION_COOKIE = "paved_session"
CSRF_HEADER = "X-Paved-CSRF"
_SECRET = re.compile(r"[A-Za-z0-9_-]{43}")
"""What `secrets.token_urlsafe(32)` makes: anything else is refused without a lookup."""
_CSRF_LABEL = b"paved-csrf"

Provision = Callable[[OidcIdentity], Awaitable[Principal]]


@dataclass(frozen=True, slots=True)
class SessionCredential:
    """A session id as the browser sent it, and the CSRF token sent with it."""

    secret: str = field(repr=False)
    csrf: str = field(repr=False)


def csrf_token(secret: str) -> str:
    """The CSRF token of the session whose id is `secret`."""
    return hmac.new(secret.encode(), _CSRF_LABEL, hashlib.sha256).hexdigest()


def session_secret(headers: Headers) -> str | None:
    """The session id in the request's cookies, if it has the shape of one."""
    cookies = cookie_parser(headers.get("cookie", ""))
    sent = cookies.get(SESSION_COOKIE)
    return sent if sent is not None and _SECRET.fullmatch(sent) else None


def carries_session_cookie(headers: Headers) -> bool:
    return SESSION_COOKIE in cookie_parser(headers.get("cookie", ""))


def credential_of(method: str, headers: Headers) -> SessionCredential | None:
    """The session credential of a request no cross-site page can forge (see the module's
    docstring); None for any other request, whatever cookie it carries."""
    if method != "POST":
        return None
    media_type = headers.get("content-type", "").split(";")[0].strip().lower()
    csrf = headers.get(CSRF_HEADER)
    secret = session_secret(headers)
    if media_type != "application/json" or csrf is None or secret is None:
        return None
    return SessionCredential(secret, csrf)


class WebSessions:
    """Starts, checks and ends sessions; one per process. `clock` gives Unix seconds."""

    def __init__(
        self,
        store: SessionStore,
        provision: Provision,
        *,
        idle: timedelta,
        lifetime: timedelta,
        origin: str,
        secure: bool,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._provision = provision
        self.idle = idle
        self.lifetime = lifetime
        self.origin = origin
        """The public origin: where the page is, and the only `Origin` a WebSocket may have."""
        self.secure = secure
        self._clock = clock

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    async def start(self, identity: OidcIdentity) -> str:
        """A new session for `identity` (its user provisioned as for a bearer JWT); returns
        its id, which is stored nowhere: only the cookie carries it."""
        principal = await self._provision(identity)
        assert principal.actor_id is not None
        secret = secrets.token_urlsafe(32)
        now = self.now()
        await self._store.create(
            secret_hash(secret),
            principal.actor_id,
            identity,
            now=now,
            expires_at=now + self.lifetime,
            idle=self.idle,
        )
        return secret

    async def current(self, secret: str) -> WebSession | None:
        """The live session `secret` names (kept alive by the asking), or None."""
        if _SECRET.fullmatch(secret) is None:
            return None
        return await self._store.find(secret_hash(secret), now=self.now(), idle=self.idle)

    async def principal(self, credential: SessionCredential) -> Principal:
        """Who acts through the session; `Unauthenticated` for an ended or unknown session,
        or a CSRF token that is not the session's (refused before any lookup)."""
        expected = csrf_token(credential.secret).encode()
        if not hmac.compare_digest(credential.csrf.encode(), expected):
            raise Unauthenticated(f"the {CSRF_HEADER} token is not this session's")
        session = await self.current(credential.secret)
        if session is None:
            raise Unauthenticated("the session has ended: sign in again at /auth/login")
        return await self._provision(session.identity)

    async def end(self, secret: str) -> bool:
        return await self._store.delete(secret_hash(secret))

    def websocket_credential(self, headers: Headers, csrf: str) -> SessionCredential:
        """The session credential of a WebSocket whose `connection_init` sent `csrf`: only
        from a page on the public origin, and with the session cookie."""
        if headers.get("origin") != self.origin:
            raise Unauthenticated("the session counts only from a page on this server's origin")
        secret = session_secret(headers)
        if secret is None:
            raise Unauthenticated("no session cookie came with the connection")
        return SessionCredential(secret, csrf)

    def set_cookie(self, response: Response, secret: str) -> None:
        response.set_cookie(
            SESSION_COOKIE,
            secret,
            max_age=int(self.lifetime.total_seconds()),
            path="/",
            secure=self.secure,
            httponly=True,
            samesite="lax",
        )

    def clear_cookie(self, response: Response) -> None:
        response.delete_cookie(
            SESSION_COOKIE, path="/", secure=self.secure, httponly=True, samesite="lax"
        )
