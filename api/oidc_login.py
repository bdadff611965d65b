"""Signing in to the portal: the routes under `/auth/`.

- `GET /auth/login[?next=/path]`: sends the browser to the identity provider's authorization
  endpoint (authorization code flow with PKCE S256, `state` and `nonce`). What the callback
  needs (nonce, PKCE verifier, `next`) is filed server-side under the hash of `state`, for ten
  minutes and one use; `state` also goes into a short-lived `paved_login` cookie (path
  `/auth/callback`) so that only the browser that started a sign-in can finish it (no login
  CSRF). `next` must be a path on this server (`same_origin_path`): anything that could lead
  elsewhere is refused.
- `GET /auth/callback?code&state`: the `state` must be the cookie's and a pending sign-in's;
  the code is exchanged (with the verifier, and the client secret if any), the ID token
  checked (signature, issuer, audience = client id, expiry, nonce); then a new session starts
  (`api/web_sessions.py`) and the browser goes to `next`.
- `POST /auth/logout`: ends the session (with its `X-Paved-CSRF` token) and clears the cookie.
- `GET /auth/session`: who is signed in, the CSRF token the page sends with each request, and
  whether sign-in is available; never cached.

The browser's own navigations (login, callback) get plain-text refusals; the page's calls
(logout, session) JSON, as `/graphql` answers.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from api.oidc import OidcVerifier
from api.oidc_client import CALLBACK_PATH, OidcClient
from api.web_sessions import CSRF_HEADER, WebSessions, csrf_token, session_secret
from domain.access.model import Unauthenticated
from domain.access.sessions import PendingLogin, SessionStore, secret_hash
from domain.errors import CatalogError, ErrorCode, ValidationFailed

log = logging.getLogger(__name__)

LOGIN_COOKIE = "paved_login"
LOGIN_SECONDS = 600
MAX_PENDING_LOGINS = 10_000
"""Sign-ins under way at once (each lives ten minutes): past that, new ones wait."""
_MAX_NEXT = 2_000
_MAX_PARAMETER = 4_096
_NEXT = re.compile(r"/(?![/\\])[\x21-\x7e]*")
"""A path on this server: one `/` then printable ASCII; never `//` or `/\\` (another host)."""
_ERROR_CODE = re.compile(r"[a-z_]{1,64}")
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_STATUS = {
    ErrorCode.VALIDATION: 400,
    ErrorCode.UNAUTHENTICATED: 403,
    ErrorCode.PROVIDER_ERROR: 502,
}


def same_origin_path(value: str | None) -> str:
    """Where to go after signing in: `value` when it is a path on this server (default
    `/`); refuses (`ValidationFailed`) anything a browser could take to another origin:
    absolute URLs, `//host`, backslashes (read as slashes), whitespace and control
    characters (tabs and newlines are dropped by browsers), non-ASCII."""
    if value is None or value == "":
        return "/"
    if len(value) > _MAX_NEXT or _NEXT.fullmatch(value) is None or "\\" in value:
        raise ValidationFailed("`next` must be a path on this server, such as /services", ["next"])
    return value


@dataclass(frozen=True, slots=True)
class SignIn:
    """The sign-in itself: on when the issuer and the client id are configured."""

    client: OidcClient
    verifier: OidcVerifier
    sessions: WebSessions
    store: SessionStore
    max_pending: int = MAX_PENDING_LOGINS

    async def login(self, request: Request) -> Response:
        if len(request.query_params.getlist("next")) > 1:
            raise ValidationFailed("send one `next`", ["next"])
        next_path = same_origin_path(request.query_params.get("next"))
        endpoints = await self.client.endpoints()
        state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
        now = self.sessions.now()
        pending = PendingLogin(nonce, verifier, next_path, now + timedelta(seconds=LOGIN_SECONDS))
        if not await self.store.begin_login(
            secret_hash(state), pending, now=now, limit=self.max_pending
        ):
            log.warning("sign-in refused: %d sign-ins are under way", self.max_pending)
            return PlainTextResponse(
                "too many sign-ins are under way; try again in a few minutes",
                503,
                headers={"Retry-After": "60", **_NO_STORE},
            )
        url = self.client.authorization_url(endpoints, state=state, nonce=nonce, verifier=verifier)
        response = RedirectResponse(url, 302, headers=_NO_STORE)
        response.set_cookie(
            LOGIN_COOKIE,
            state,
            max_age=LOGIN_SECONDS,
            path=CALLBACK_PATH,
            secure=self.sessions.secure,
            httponly=True,
            samesite="lax",
        )
        return response

    async def callback(self, request: Request) -> Response:
        try:
            secret, next_path = await self._signed_in(request)
        except CatalogError as refused:
            log.info("sign-in refused: %s", refused.message)
            response = _refusal(refused)
        else:
            response = RedirectResponse(next_path, 303, headers=_NO_STORE)
            self.sessions.set_cookie(response, secret)
        response.delete_cookie(
            LOGIN_COOKIE, path=CALLBACK_PATH, secure=self.sessions.secure, httponly=True
        )
        return response

    async def _signed_in(self, request: Request) -> tuple[str, str]:
        """The new session's id and where the browser goes next."""
        params = request.query_params
        state = _parameter(params.getlist("state"), "state")
        started = request.cookies.get(LOGIN_COOKIE, "")
        if not state or not hmac.compare_digest(state.encode(), started.encode()):
            raise Unauthenticated(
                "this sign-in was not started in this browser, or took too long: "
                "start again at /auth/login"
            )
        pending = await self.store.take_login(secret_hash(state), now=self.sessions.now())
        if pending is None:
            raise Unauthenticated(
                "this sign-in has expired or was finished already: start again at /auth/login"
            )
        error = params.get("error")
        if error is not None:
            shown = error if _ERROR_CODE.fullmatch(error) else "an error"
            raise Unauthenticated(f"the identity provider did not sign you in ({shown})")
        code = _parameter(params.getlist("code"), "code")
        if not code:
            raise ValidationFailed("the identity provider sent no code", ["code"])
        id_token = await self.client.exchange(code, pending.verifier)
        identity = await self.verifier.verify_id_token(
            id_token, client_id=self.client.client_id, nonce=pending.nonce
        )
        earlier = session_secret(request.headers)
        if earlier is not None:  # a sign-in never continues an earlier session (fixation)
            await self.sessions.end(earlier)
        log.info("signed in: OIDC subject %r", identity.subject[:200])
        return await self.sessions.start(identity), pending.next_path


@dataclass(frozen=True, slots=True)
class SignInRoutes:
    """What the routes use. `sign_in` is None when signing in is off (a session cookie then
    means nothing); `anonymous_admin`: development, where a request without credential acts
    as the local admin (the page shows a banner)."""

    sign_in: SignIn | None
    anonymous_admin: bool

    @property
    def sessions(self) -> WebSessions | None:
        return self.sign_in.sessions if self.sign_in is not None else None

    async def logout(self, request: Request) -> Response:
        secret = session_secret(request.headers)
        if self.sessions is None or secret is None:
            return Response(status_code=204, headers=_NO_STORE)
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), csrf_token(secret).encode()):
            return _json_error(
                403, f"send the session's {CSRF_HEADER} token to sign out", ErrorCode.FORBIDDEN
            )
        await self.sessions.end(secret)
        response = Response(status_code=204, headers=_NO_STORE)
        self.sessions.clear_cookie(response)
        return response

    async def session(self, request: Request) -> Response:
        secret = session_secret(request.headers)
        current = None
        if self.sessions is not None and secret is not None:
            current = await self.sessions.current(secret)
        body: dict[str, Any] = {
            "signedIn": current is not None,
            "user": None,
            "csrfToken": None,
            "csrfHeader": CSRF_HEADER,
            "expiresAt": None,
            "idleMinutes": None,
            "loginUrl": "/auth/login" if self.sign_in is not None else None,
            "logoutUrl": "/auth/logout",
            "anonymousAdmin": self.anonymous_admin,
        }
        if current is not None and secret is not None and self.sessions is not None:
            identity = current.identity
            body["user"] = {
                "name": identity.name or identity.email or identity.subject,
                "email": identity.email,
            }
            body["csrfToken"] = csrf_token(secret)
            body["expiresAt"] = current.expires_at.isoformat()
            body["idleMinutes"] = int(self.sessions.idle.total_seconds() // 60)
        return Response(
            orjson.dumps(body),
            media_type="application/json",
            headers={**_NO_STORE, "Vary": "Cookie", "X-Content-Type-Options": "nosniff"},
        )


def _parameter(values: list[str], name: str) -> str:
    """The one value of a callback parameter, bounded."""
    if len(values) > 1 or any(len(value) > _MAX_PARAMETER for value in values):
        raise ValidationFailed(f"send one `{name}` of at most {_MAX_PARAMETER} characters", [name])
    return values[0] if values else ""


def _refusal(refused: CatalogError) -> Response:
    return PlainTextResponse(
        refused.message,
        _STATUS.get(refused.code, 400),
        headers={**_NO_STORE, "X-Content-Type-Options": "nosniff"},
    )


def _json_error(status: int, message: str, code: ErrorCode) -> Response:
    body = {"errors": [{"message": message, "extensions": {"code": code.value}}]}
    return Response(orjson.dumps(body), status, headers=_NO_STORE, media_type="application/json")


def _routes_of(request: Request) -> SignInRoutes:
    routes: SignInRoutes = request.app.state.sign_in
    return routes


_OFF = "signing in is not configured on this server"


async def _login(request: Request) -> Response:
    sign_in = _routes_of(request).sign_in
    if sign_in is None:
        return PlainTextResponse(_OFF, 404)
    try:
        return await sign_in.login(request)
    except CatalogError as refused:
        log.info("sign-in not started: %s", refused.message)
        return _refusal(refused)


async def _callback(request: Request) -> Response:
    sign_in = _routes_of(request).sign_in
    if sign_in is None:
        return PlainTextResponse(_OFF, 404)
    return await sign_in.callback(request)


async def _logout(request: Request) -> Response:
    return await _routes_of(request).logout(request)


async def _session(request: Request) -> Response:
    return await _routes_of(request).session(request)


def routes() -> list[Route]:
    return [
        Route("/auth/login", _login, methods=["GET"]),
        Route(CALLBACK_PATH, _callback, methods=["GET"]),
        Route("/auth/logout", _logout, methods=["POST"]),
        Route("/auth/session", _session, methods=["GET"]),
    ]
