"""A served app with signing in configured against the local identity provider, a browser
for it, and the steps of a sign-in, for the session tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx
from pydantic import SecretStr

from api.bootstrap import Overrides
from tests.support.browser import Browser
from tests.support.clock import FakeClock
from tests.support.network import free_port
from tests.support.oidc import IdentityProvider, SigningKey
from tests.support.oidc_authorization import AuthorizationServer
from tests.support.served import HOST, Served, served_app, served_settings

CLIENT_ID = "paved-portal"
CLIENT_SECRET = "portal-client-secret-7f3a"
AUDIENCE = "paved-api"
"""Bearer JWTs' audience: not the client id, which ID tokens are for."""
ANA = {
    "sub": "oidc-ana",
    "email": "ana@example.com",
    "name": "Ana",
    "groups": ["pay", "no-such-team"],
}
VIEWER = "{ viewer { __typename name ... on User { handle teams { slug } } } }"


def fresh_provider(idp: IdentityProvider, key: SigningKey) -> IdentityProvider:
    """The provider with a new authorization server: ana signs in, confidential client."""
    idp.requests.clear()
    idp.authorization = AuthorizationServer(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, signing_key=key, user=dict(ANA)
    )
    return idp


@dataclass
class Portal:
    served: Served
    origin: str
    browser: Browser
    idp: IdentityProvider
    clock: FakeClock

    def other_browser(self) -> Browser:
        return Browser(self.browser.http, self.origin)

    async def sign_in(self, next_path: str | None = None, browser: Browser | None = None) -> str:
        """Through the whole flow; returns the session's CSRF token."""
        browser = browser or self.browser
        back = await self.callback(await self.authorize(next_path, browser), browser)
        assert back.status_code == 303, back.text
        return await self.csrf(browser)

    async def authorize(self, next_path: str | None, browser: Browser) -> httpx.Response:
        """From /auth/login to the provider, which sends the browser back: its redirect."""
        params = {"next": next_path} if next_path is not None else {}
        started = await browser.request("GET", "/auth/login", params=params)
        assert started.status_code == 302, started.text
        at_provider = await browser.follow(started)
        assert at_provider.status_code == 302, at_provider.text
        return at_provider

    async def callback(self, redirect: httpx.Response, browser: Browser) -> httpx.Response:
        return await browser.follow(redirect)

    async def csrf(self, browser: Browser | None = None) -> str:
        answer = await (browser or self.browser).request("GET", "/auth/session")
        token: str = answer.json()["csrfToken"]
        return token

    async def graphql(
        self,
        csrf: str | None,
        query: str = VIEWER,
        *,
        browser: Browser | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """A JSON POST to /graphql with the cookies and, unless None, the CSRF header."""
        sent = {"X-Paved-CSRF": csrf} if csrf is not None else {}
        return await (browser or self.browser).request(
            "POST", "/graphql", json={"query": query}, headers={**sent, **(headers or {})}
        )


@asynccontextmanager
async def portal(
    database_url: str, idp: IdentityProvider, clock: FakeClock, **changes: Any
) -> AsyncIterator[Portal]:
    """The app in production mode (unless `changes` say otherwise) with signing in on, at
    a public URL on 127.0.0.1 registered with the provider."""
    port = free_port(HOST)
    origin = f"http://{HOST}:{port}"
    idp.authorization.redirect_uris = [origin + "/auth/callback"]
    settings = served_settings(
        database_url,
        **{
            "env": "production",
            "oidc_issuer": idp.issuer,
            "oidc_audience": AUDIENCE,
            "oidc_client_id": CLIENT_ID,
            "oidc_client_secret": SecretStr(CLIENT_SECRET),
            "public_url": origin,
            **changes,
        },
    )
    async with (
        served_app(settings, Overrides(session_clock=clock), port=port) as served,
        httpx.AsyncClient(trust_env=False, timeout=10) as http,
    ):
        yield Portal(served, origin, Browser(http, origin), idp, clock)
