"""GraphiQL at GET /graphql works on a machine without internet access: everything it loads
comes from the server, its editor runs queries and subscriptions, the explorer is there; no
console error (a Content-Security-Policy violation is one) and no request elsewhere."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2 as httpx
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.browser.demo_apps import DemoApp
from tests.browser.watch import PageWatch, origin_of

EDITOR = ".graphiql-query-editor .CodeMirror"
RESPONSE = ".graphiql-response"


def api(app: DemoApp, query: str) -> dict[str, Any]:
    answer = httpx.post(app.served.url, json={"query": query}).json()
    assert "errors" not in answer, answer
    data: dict[str, Any] = answer["data"]
    return data


def open_graphiql(page: Page) -> None:
    page.goto("/graphql")
    expect(page.locator(EDITOR)).to_be_visible()
    expect(page.get_by_text("Loading…")).to_have_count(0)


def type_query(page: Page, text: str) -> None:
    """Replace the editor's text as a person would: select all, then type (inserted as
    one input, so that the editor's bracket closing does not add to it). Returns once
    GraphiQL has taken the change in (it does so after a pause, then writes it in the
    address): run before, it would still run the text it had."""
    for _ in range(3):
        page.locator(EDITOR).click()
        page.keyboard.press("Control+A")
        page.keyboard.press("Backspace")
        page.keyboard.insert_text(text)
        try:
            page.wait_for_function(
                "text => new URLSearchParams(location.search).get('q') === text",
                arg=text,
                timeout=5_000,
            )
        except PlaywrightTimeoutError:
            continue  # typed before the editor took focus (a loaded machine): type again
        return
    raise AssertionError(f"GraphiQL never took the query in: {text}")


def run_query(page: Page) -> None:
    page.get_by_role("button", name=re.compile("^Execute query")).click()


def test_graphiql_renders_from_the_server_alone(
    page: Page, watch: PageWatch, base_url: str, screenshot: Callable[[Page, str], Path]
) -> None:
    open_graphiql(page)

    screenshot(page, "graphiql")
    assert page.title() == "Paved Road · GraphiQL"
    loaded = {url for url in watch.requests if "/graphql/assets/" in url}
    assert {Path(url).name.split(".")[0] for url in loaded} >= {
        "react",
        "react-dom",
        "graphiql",
        "plugin-explorer",
        "paved-graphiql",
    }
    assert {origin_of(url) for url in watch.requests} == {base_url}
    watch.assert_same_origin()
    watch.assert_no_console_errors()


def test_a_typed_query_runs_and_shows_its_result(
    page: Page, watch: PageWatch, demo_app: DemoApp
) -> None:
    expected = api(demo_app, "{ teams { totalCount } }")["teams"]["totalCount"]
    open_graphiql(page)

    type_query(page, "{ teams { totalCount } }")
    with page.expect_response(
        lambda response: (
            response.request.method == "POST"
            and response.url == demo_app.served.url
            and "teams" in (response.request.post_data or "")
        )
    ) as posted:
        run_query(page)

    assert posted.value.ok
    expect(page.locator(RESPONSE)).to_contain_text(f'"totalCount": {expected}')
    assert expected > 0
    watch.assert_same_origin()


def test_a_subscription_runs_over_the_websocket(
    page: Page, watch: PageWatch, demo_app: DemoApp
) -> None:
    finished = api(
        demo_app, "{ deployments(first: 1, filter: {states: [SUCCEEDED]}) { nodes { id } } }"
    )
    deployment = finished["deployments"]["nodes"][0]["id"]
    open_graphiql(page)

    type_query(
        page, f'subscription {{ deploymentUpdated(deployment: "{deployment}") {{ state }} }}'
    )
    run_query(page)

    expect(page.locator(RESPONSE)).to_contain_text('"state": "SUCCEEDED"')
    sockets = [url for url in watch.requests if url.startswith("ws")]
    assert sockets == [demo_app.served.ws_url]
    watch.assert_same_origin()


def test_the_explorer_plugin_lists_the_query_fields(page: Page) -> None:
    open_graphiql(page)

    page.get_by_role("button", name="Show GraphiQL Explorer").click()

    explorer = page.locator(".graphiql-explorer-root")
    expect(explorer).to_be_visible()
    expect(explorer.get_by_text("services", exact=True).first).to_be_visible()


def test_the_page_policy_refuses_inline_script_and_says_so_in_the_console(
    page: Page, watch: PageWatch
) -> None:
    """What makes "no console errors" mean "no Content-Security-Policy violation"."""
    open_graphiql(page)

    page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.injected = true";
            document.head.appendChild(script);
        }"""
    )

    expect(page.locator(EDITOR)).to_be_visible()
    assert page.evaluate("() => window.injected") is None
    refusals = [error for error in watch.console_errors if "Content Security Policy" in error]
    assert refusals
    assert "script-src 'self'" in refusals[0]
    watch.allow("Content Security Policy")
