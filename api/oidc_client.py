"""This server as an OpenID Connect client (relying party) in the authorization code flow
with PKCE: the issuer's endpoints (from its discovery document), the authorization URL a
browser is sent to, and the exchange of the code it comes back with for an ID token.

The ID token is checked by `api.oidc.OidcVerifier.verify_id_token`, on the keys bearer JWTs are
checked with. Failures are `CatalogError`s whose messages are safe to show and never carry the
code, the verifier or the client secret: `ProviderFailure` when the identity provider cannot be
used (unreachable, a malformed answer), `Unauthenticated` when it refuses the code.

The client borrows its `httpx.AsyncClient`, as the verifier does.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeGuard
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import httpx2 as httpx
import orjson
from pydantic import SecretStr

from api.settings import Settings
from domain.access.model import Unauthenticated
from domain.errors import ProviderFailure

log = logging.getLogger(__name__)

CALLBACK_PATH = "/auth/callback"
FETCH_TIMEOUT_SECONDS = 5.0
DISCOVERY_MAX_AGE_SECONDS = 3600.0
RETRY_INTERVAL_SECONDS = 5.0
MAX_ANSWER_BYTES = 256 * 1024
"""The most read of a discovery document or a token answer (each a few kilobytes)."""
_UNAVAILABLE = "the identity provider is unavailable; try again later"


def pkce_challenge(verifier: str) -> str:
    """The S256 code challenge of a PKCE code verifier (RFC 7636, 4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _trusted_url(url: object) -> TypeGuard[str]:
    """An endpoint we may send the browser or the client secret to: https, or http on a
    loopback host (a local identity provider)."""
    if not isinstance(url, str):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    local = parts.hostname in ("localhost", "127.0.0.1", "::1")
    return bool(parts.hostname) and (parts.scheme == "https" or (parts.scheme == "http" and local))


@dataclass(frozen=True, slots=True)
class Endpoints:
    authorization: str
    token: str
    auth_methods: tuple[str, ...]
    """`token_endpoint_auth_methods_supported` (by default `client_secret_basic`)."""


class OidcClient:
    """One per process. `redirect_uri` is `<public origin>/auth/callback`; `secret` is set
    for a confidential client (sent by HTTP Basic, or in the form when the provider only
    takes that)."""

    def __init__(
        self,
        *,
        issuer: str,
        client_id: str,
        redirect_uri: str,
        http: httpx.AsyncClient,
        secret: SecretStr | None = None,
        scopes: tuple[str, ...] = ("openid", "email", "profile"),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self._http = http
        self._secret = secret
        self._scopes = scopes
        self._clock = clock
        self._lock = asyncio.Lock()
        self._endpoints: Endpoints | None = None
        self._fetched_at = 0.0
        self._failed_at: float | None = None

    @classmethod
    def from_settings(cls, settings: Settings, http: httpx.AsyncClient) -> OidcClient:
        if not (settings.oidc_issuer and settings.oidc_client_id):
            raise ValueError("sign-in is off: PAVED_OIDC_ISSUER and PAVED_OIDC_CLIENT_ID are unset")
        return cls(
            issuer=settings.oidc_issuer,
            client_id=settings.oidc_client_id,
            redirect_uri=settings.public_origin + CALLBACK_PATH,
            http=http,
            secret=settings.oidc_client_secret,
            scopes=settings.oidc_scopes,
        )

    def authorization_url(
        self, endpoints: Endpoints, *, state: str, nonce: str, verifier: str
    ) -> str:
        """Where to send the browser: the authorization endpoint (its own query kept) with
        our request, the PKCE challenge of `verifier` included."""
        ours = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": " ".join(self._scopes),
            "state": state,
            "nonce": nonce,
            "code_challenge": pkce_challenge(verifier),
            "code_challenge_method": "S256",
        }
        parts = urlsplit(endpoints.authorization)
        kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ours]
        return urlunsplit(parts._replace(query=urlencode([*kept, *ours.items()])))

    async def endpoints(self) -> Endpoints:
        """The issuer's endpoints, from its discovery document (kept an hour; after a failed
        fetch, asked again only some seconds later)."""
        async with self._lock:
            now = self._clock()
            fresh = now - self._fetched_at < DISCOVERY_MAX_AGE_SECONDS
            if self._endpoints is not None and fresh:
                return self._endpoints
            if self._failed_at is not None and 0 <= now - self._failed_at < RETRY_INTERVAL_SECONDS:
                if self._endpoints is not None:
                    return self._endpoints
                raise ProviderFailure(_UNAVAILABLE)
            try:
                self._endpoints = await self._discover()
            except ProviderFailure:
                self._failed_at = self._clock()
                if self._endpoints is not None:  # stale beats none
                    return self._endpoints
                raise
            self._fetched_at, self._failed_at = self._clock(), None
            return self._endpoints

    async def exchange(self, code: str, verifier: str) -> str:
        """The ID token the token endpoint gives for `code` (with the PKCE `verifier`)."""
        endpoints = await self.endpoints()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": verifier,
        }
        headers = {"Accept": "application/json"}
        if self._secret is None:
            form["client_id"] = self.client_id
        elif "client_secret_basic" in endpoints.auth_methods:
            # RFC 6749, 2.3.1: both parts form-encoded before Basic encoding.
            pair = ":".join(
                quote(part, safe="") for part in (self.client_id, self._secret.get_secret_value())
            )
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        else:
            form["client_id"] = self.client_id
            form["client_secret"] = self._secret.get_secret_value()
        status, answer = await self._call("POST", endpoints.token, headers, form)
        if status in (400, 401):
            error = answer.get("error") if isinstance(answer, dict) else None
            log.info("OIDC: the token endpoint refused the code (%s)", str(error)[:64])
            raise Unauthenticated("the identity provider refused the sign-in code")
        id_token = answer.get("id_token") if status == 200 else None
        if not isinstance(id_token, str) or not id_token:
            log.warning("OIDC: the token endpoint answered %s without an ID token", status)
            raise ProviderFailure(_UNAVAILABLE)
        return id_token

    async def _discover(self) -> Endpoints:
        url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        status, document = await self._call("GET", url, {"Accept": "application/json"}, None)
        if status != 200 or document.get("issuer") != self.issuer:
            log.warning("OIDC: the discovery document does not match the issuer")
            raise ProviderFailure(_UNAVAILABLE)
        authorization = document.get("authorization_endpoint")
        token = document.get("token_endpoint")
        if not _trusted_url(authorization) or not _trusted_url(token):
            log.warning("OIDC: the discovery document has no usable https endpoints")
            raise ProviderFailure(_UNAVAILABLE)
        challenges = document.get("code_challenge_methods_supported")
        if isinstance(challenges, list) and "S256" not in challenges:
            log.warning("OIDC: the identity provider does not support PKCE with S256")
            raise ProviderFailure(_UNAVAILABLE)
        methods = document.get("token_endpoint_auth_methods_supported")
        if not isinstance(methods, list):
            methods = ["client_secret_basic"]
        return Endpoints(
            authorization, token, tuple(method for method in methods if isinstance(method, str))
        )

    async def _call(
        self, method: str, url: str, headers: dict[str, str], form: dict[str, str] | None
    ) -> tuple[int, dict[str, Any]]:
        """The status and JSON object of one call; ProviderFailure when there is none."""
        try:
            async with asyncio.timeout(FETCH_TIMEOUT_SECONDS):
                async with self._http.stream(method, url, headers=headers, data=form) as response:
                    body = bytearray()
                    async for chunk in response.aiter_bytes():
                        body += chunk
                        if len(body) > MAX_ANSWER_BYTES:
                            log.warning("OIDC: %s answered more than %d bytes", url, len(body))
                            raise ProviderFailure(_UNAVAILABLE)
                    status = response.status_code
            answer = orjson.loads(body)
        except (httpx.HTTPError, httpx.InvalidURL, orjson.JSONDecodeError, TimeoutError) as error:
            log.warning("OIDC: %s %s failed: %s", method, url, type(error).__name__)
            raise ProviderFailure(_UNAVAILABLE) from None
        if not isinstance(answer, dict):
            log.warning("OIDC: %s did not answer a JSON object", url)
            raise ProviderFailure(_UNAVAILABLE)
        return status, answer
