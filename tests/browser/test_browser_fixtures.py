"""The browser tests' own fixtures catch what they promise to: console errors, requests
that leave the app, accessibility violations; and each fresh app is a copy of its own."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx2 as httpx
import pytest
from playwright.sync_api import BrowserContext, Page

from tests.browser.accessibility import assert_accessible
from tests.browser.demo_apps import DemoApp
from tests.browser.watch import PageWatch

TEAMS = "{ teams { totalCount } }"


def team_count(app: DemoApp) -> int:
    answer = httpx.post(app.served.url, json={"query": TEAMS}).json()
    count: int = answer["data"]["teams"]["totalCount"]
    return count


def test_console_errors_and_uncaught_exceptions_are_recorded(page: Page, watch: PageWatch) -> None:
    page.set_content(
        "<script>console.error('broken widget'); setTimeout(() => { throw new Error('boom') })"
        "</script>"
    )
    page.wait_for_timeout(50)

    assert any("broken widget" in error for error in watch.console_errors)
    assert any("boom" in error for error in watch.console_errors)
    assert len(watch.unexpected_errors()) == 2
    watch.allow("broken widget|boom")
    assert watch.unexpected_errors() == []


def test_requests_leaving_the_app_are_recorded(page: Page, watch: PageWatch, base_url: str) -> None:
    # Routed and aborted: the address does not exist, and nothing leaves the machine.
    page.route("http://example.invalid/**", lambda route: route.abort())
    page.set_content(
        f'<img alt="" src="{base_url}/healthz"><img alt="" src="http://example.invalid/a.png">'
    )
    page.wait_for_load_state("load")

    assert f"{base_url}/healthz" in watch.requests
    assert watch.foreign_requests() == ["http://example.invalid/a.png"]
    watch.requests.clear()
    watch.allow("ERR_FAILED")


def test_websocket_addresses_count_as_their_http_origin(watch: PageWatch, base_url: str) -> None:
    watch.requests.extend([base_url.replace("http", "ws", 1) + "/graphql", "ws://other:1/x"])

    assert watch.foreign_requests() == ["ws://other:1/x"]
    watch.requests.clear()


def test_assert_accessible_fails_on_a_serious_violation(page: Page) -> None:
    page.set_content(
        '<html lang="en"><head><title>bad</title></head><body><main>'
        '<img src="data:,"><button></button></main></body></html>'
    )

    with pytest.raises(AssertionError) as failed:
        assert_accessible(page)

    assert "image-alt (critical)" in str(failed.value)
    assert "button-name (critical)" in str(failed.value)


def test_assert_accessible_passes_a_plain_page(page: Page) -> None:
    page.set_content(
        '<html lang="en"><head><title>fine</title></head><body><main><h1>Hello</h1>'
        '<img alt="a dot" src="data:,"><button>Go</button></main></body></html>'
    )

    assert_accessible(page)


def test_screenshots_are_kept_under_build(
    page: Page, screenshot: Callable[[Page, str], Path]
) -> None:
    page.set_content("<p>Hello</p>")

    path = screenshot(page, "hello")

    assert path.parts[-3:-1] == ("build", "screenshots")
    assert path.read_bytes().startswith(b"\x89PNG")


def test_each_fresh_app_has_a_copy_of_the_demo_of_its_own(
    demo_app: DemoApp, fresh_demo_app: Callable[..., DemoApp]
) -> None:
    fresh = fresh_demo_app()
    before = team_count(demo_app)
    assert team_count(fresh) == before > 0

    created = httpx.post(
        fresh.served.url,
        json={
            "query": 'mutation { createTeam(input: {slug: "scratch", name: "Scratch"}) '
            "{ errors { message } } }"
        },
    ).json()

    assert created["data"]["createTeam"]["errors"] == []
    assert team_count(fresh) == before + 1
    assert team_count(demo_app) == before


def test_the_contexts_of_a_test_are_closed_before_its_fresh_apps_stop(
    new_context: Callable[..., BrowserContext],
    fresh_demo_app: Callable[..., DemoApp],
    watch: PageWatch,
) -> None:
    """Requested in this order, pytest would stop the fresh app first, under the pages still
    connected to it (a live subscription would log the lost connection as a console error):
    its fixture closes the watched contexts before it stops its apps."""
    app = fresh_demo_app()
    kept = new_context(base_url=app.origin)
    closed_early = new_context(base_url=app.origin)
    page = kept.new_page()
    page.goto("/graphql")
    closed_early.close()

    assert watch.contexts == [kept]
    watch.close_contexts()

    assert watch.contexts == []
    assert page.is_closed()
