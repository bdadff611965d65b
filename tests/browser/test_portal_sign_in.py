"""Signing in to the portal in production mode through the local identity provider, in
Chromium: the page asks who you are, single sign-on brings you back signed in (the session's
cookie and CSRF header carry every GraphQL request), and signing out ends it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack

import pytest
from playwright.sync_api import BrowserContext, Request, expect

from tests.browser.accessibility import assert_accessible
from tests.browser.background import BackgroundLoop
from tests.browser.watch import PageWatch, origin_of
from tests.support.clock import FakeClock
from tests.support.oidc import IdentityProvider, SigningKey
from tests.support.processes import migrated_scratch_database
from tests.support.sign_in import Portal, fresh_provider, portal

CSRF_HEADER = "X-Paved-CSRF"


@pytest.fixture
def signed_in_portal(
    app_loop: BackgroundLoop, database_url: str, watch: PageWatch
) -> Iterator[Portal]:
    """The app in production mode with signing in on, on an empty catalog of its own."""
    key = SigningKey.rsa("portal-browser")
    idp = IdentityProvider(keys=[key.jwk()])
    idp.start()
    stack = AsyncExitStack()

    async def start() -> Portal:
        url = await stack.enter_async_context(migrated_scratch_database(database_url))
        return await stack.enter_async_context(
            portal(url, fresh_provider(idp, key), FakeClock(time.time()))
        )

    try:
        served = app_loop.run(start())
        watch.origins.update({served.origin, origin_of(idp.issuer)})
        yield served
    finally:
        app_loop.run(stack.aclose())
        idp.stop()


def test_sign_in_with_single_sign_on_then_sign_out(
    signed_in_portal: Portal, new_context: Callable[..., BrowserContext], watch: PageWatch
) -> None:
    context = new_context()
    page = context.new_page()
    # Production: without a credential the API says 401 and the page asks to sign in.
    watch.allow("status of 401")
    page.goto(f"{signed_in_portal.origin}/services")
    expect(page.get_by_role("heading", level=1, name="Sign in")).to_be_visible()
    expect(page.locator(".banner-dev")).to_have_count(0)  # no local admin here
    assert_accessible(page)

    graphql_headers: list[dict[str, str]] = []

    def record(request: Request) -> None:
        if request.url.endswith("/graphql"):
            graphql_headers.append(request.headers)

    page.on("request", record)
    page.get_by_role("link", name="Sign in with single sign-on").click()
    expect(page.get_by_role("heading", level=1, name="Services")).to_be_visible()
    expect(page.get_by_role("banner").get_by_text("Ana")).to_be_visible()
    assert graphql_headers
    assert all(CSRF_HEADER.lower() in headers for headers in graphql_headers)
    assert not any("authorization" in headers for headers in graphql_headers)
    cookies = {cookie["name"]: cookie for cookie in context.cookies()}
    assert cookies["paved_session"]["httpOnly"] is True

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", level=1, name="Sign in")).to_be_visible()
    assert "paved_session" not in {cookie["name"] for cookie in context.cookies()}
