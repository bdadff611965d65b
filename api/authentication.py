"""Who is asking: the credential of each request turned into a `Principal`.

- `Authorization: Bearer paved_...`: an API token, verified by the database once and then
  answered from the process's token cache (`api/token_cache.py`), which notices from the
  database keep true (a revoked token fails on the very next request); its scopes narrowed to
  what its actor may hold.
- `Authorization: Bearer <JWT>` with OIDC configured: an identity-provider token; the user is
  provisioned on first sight and acts with every scope their roles allow.
- The `paved_session` cookie of a browser that signed in (`api/web_sessions.py`), only on a
  JSON POST carrying the session's `X-Paved-CSRF` token; the principal is built from the
  session's identity as from a JWT's. A bearer header wins over the cookie.
- No credential: the built-in local admin in development; 401 in production.
A bad, expired or revoked credential is 401 in every mode, before any GraphQL work. The sign-in
routes (`/auth/...`) check what they need themselves.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import orjson
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from api.oidc import OidcVerifier
from api.token_cache import TokenLookup
from api.web_sessions import WebSessions, carries_session_cookie, credential_of
from domain.access.model import LOCAL_ADMIN, ActorKind, OidcIdentity, Principal, Unauthenticated
from domain.access.policy import role_scopes
from domain.access.ports import AccessStore, ProvisionedUser, TokenIdentity
from domain.access.tokens import MARKER, looks_like_token

log = logging.getLogger(__name__)

# An OIDC user's memberships are re-read at most this often (provisioning writes).
_PROVISIONED_TTL_SECONDS = 60.0
_PROVISIONED_CACHE_SIZE = 10_000
_CREDENTIAL_PATHS = frozenset({"/graphql", "/mcp"})
"""Where a credential is read. Elsewhere nothing reads a principal: health probes, the sign-in
routes (`/auth/...`, which check what they need themselves), GraphiQL's files
(`/graphql/assets/...`) and the portal's page and files, which must load before anyone signs
in."""
_COOKIE_RULE = (
    "the session cookie counts only on POST with `Content-Type: application/json` and the "
    "X-Paved-CSRF header; or send `Authorization: Bearer <token>`"
)


def principal_of(request: Request) -> Principal:
    """Who is asking, as the authentication middleware found. Only requests it does not see
    (before start-up completes, or a path that needs no credential) have none: the local
    admin then, which the GraphQL endpoint never is without the middleware having run."""
    principal: Principal | None = getattr(request.state, "principal", None)
    return principal if principal is not None else LOCAL_ADMIN


def token_principal(identity: TokenIdentity) -> Principal:
    allowed = role_scopes(identity.kind, identity.is_admin)
    return Principal(
        kind=identity.kind,
        actor_id=identity.actor_id,
        name=identity.name,
        scopes=frozenset(identity.token.scopes) & allowed,
        is_admin=identity.is_admin,
        team_ids=identity.team_ids,
        token_id=identity.token.id,
        token_expires_at=identity.token.expires_at,
    )


class Authenticator:
    def __init__(
        self,
        store: AccessStore,
        oidc: OidcVerifier | None,
        *,
        anonymous_is_admin: bool,
        clock: Callable[[], float] = time.monotonic,
        tokens: TokenLookup | None = None,
    ) -> None:
        """`tokens`: where API tokens are verified (the token cache); the store by default."""
        self._store = store
        self._tokens: TokenLookup = store if tokens is None else tokens
        self._oidc = oidc
        self._anonymous_is_admin = anonymous_is_admin
        self._clock = clock
        self._provisioned: dict[OidcIdentity, tuple[float, ProvisionedUser]] = {}
        self._token_principals: dict[int, tuple[TokenIdentity, Principal]] = {}

    async def principal(self, authorization: str | None) -> Principal:
        if not authorization:
            if self._anonymous_is_admin:
                return LOCAL_ADMIN
            raise Unauthenticated("send a credential: `Authorization: Bearer <token>`")
        scheme, _, credential = authorization.partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            raise Unauthenticated("use `Authorization: Bearer <token>`")
        if credential.startswith(MARKER):
            # The token cache answers a token it verified before from memory, without looking
            # at its text again; anything else goes to the store, which refuses malformed text
            # before any SQL.
            identity = await self._tokens.authenticate(credential)
            if identity is not None:
                return self._token_principal(identity)
            if looks_like_token(credential):
                raise Unauthenticated("the API token is invalid, expired or revoked")
            raise Unauthenticated("the credential is not a valid token")
        if self._oidc is not None and credential.count(".") == 2:
            return await self.oidc_principal(await self._oidc.verify(credential))
        raise Unauthenticated("the credential is not a valid token")

    def _token_principal(self, identity: TokenIdentity) -> Principal:
        """The principal of `identity`, made once per identity the token cache hands out (a
        new lookup is a new identity, so nothing outlives what the cache holds)."""
        made = self._token_principals.get(identity.token.id)
        if made is not None and made[0] is identity:
            return made[1]
        principal = token_principal(identity)
        if len(self._token_principals) >= _PROVISIONED_CACHE_SIZE:
            self._token_principals.clear()
        self._token_principals[identity.token.id] = (identity, principal)
        return principal

    async def oidc_principal(self, identity: OidcIdentity) -> Principal:
        """The principal of a person the identity provider vouches for (by a bearer JWT or
        through a browser session): provisioned on first sight, groups naming teams."""
        now = self._clock()
        cached = self._provisioned.get(identity)
        if cached is None or now - cached[0] > _PROVISIONED_TTL_SECONDS:
            user = await self._store.provision_oidc_user(
                identity.subject, identity.email, identity.name or identity.subject, identity.groups
            )
            if len(self._provisioned) >= _PROVISIONED_CACHE_SIZE:
                self._provisioned.clear()
            cached = (now, user)
            self._provisioned[identity] = cached
        user = cached[1]
        return Principal(
            kind=ActorKind.USER,
            actor_id=user.user_id,
            name=identity.name or identity.email or identity.subject,
            scopes=role_scopes(ActorKind.USER, user.is_admin),
            is_admin=user.is_admin,
            team_ids=user.team_ids,
        )


class AuthenticationMiddleware:
    """Puts the request's `Principal` in `request.state.principal`, or answers 401. A request
    that acted through a browser session also gets its `request.state.session` (the
    credential, which subscriptions check again while they run)."""

    def __init__(
        self,
        app: ASGIApp,
        authenticator: Callable[[], Authenticator | None],
        sessions: Callable[[], WebSessions | None] = lambda: None,
    ) -> None:
        self._app = app
        self._authenticator = authenticator
        self._sessions = sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        authenticator = self._authenticator()
        if (
            scope["type"] != "http"
            or scope["path"] not in _CREDENTIAL_PATHS
            or authenticator is None
        ):
            await self._app(scope, receive, send)
            return
        if await admit(scope, send, authenticator, self._sessions()):
            await self._app(scope, receive, send)


async def admit(
    scope: Scope, send: Send, authenticator: Authenticator, sessions: WebSessions | None
) -> bool:
    """Puts the request's principal (and session) in its state; False once a refused
    credential was answered 401."""
    authorization = _authorization(scope)
    credential = None
    if not authorization and sessions is not None:
        credential = credential_of(scope["method"], Headers(scope=scope))
    state = scope.setdefault("state", {})
    try:
        if credential is not None and sessions is not None:
            state["principal"] = await sessions.principal(credential)
            state["session"] = credential
        else:
            state["principal"] = await authenticator.principal(authorization)
    except Unauthenticated as refused:
        ignored = (
            credential is None
            and not authorization
            and carries_session_cookie(Headers(scope=scope))
        )
        await _unauthorized(_COOKIE_RULE if ignored else refused.message, send)
        return False
    return True


def _authorization(scope: Scope) -> str | None:
    """The `Authorization` header, as `Headers(scope=scope).get` finds it (the first one),
    without building the mapping every request would."""
    for key, value in scope["headers"]:
        if key == b"authorization":
            found: str = value.decode("latin-1")
            return found
    return None


async def _unauthorized(message: str, send: Send) -> None:
    body = orjson.dumps(
        {"errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}]}
    )
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"www-authenticate", b'Bearer realm="paved"'),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
