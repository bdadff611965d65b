"""What the portal's browser tests share: calls to the served API (as the local admin, or
with a token), tokens for demo people, signing in by pasting one, and waiting for a page
to have drawn its data."""

from __future__ import annotations

import time
from typing import Any

import httpx2 as httpx
from playwright.sync_api import Page, expect

from tests.browser.demo_apps import DemoApp

ALL_SCOPES = ["READ", "WRITE", "DEPLOY", "APPROVE"]


def api(
    app: DemoApp, query: str, variables: dict[str, Any] | None = None, token: str | None = None
) -> dict[str, Any]:
    """The data of one GraphQL request to `app` (the local admin without `token`)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answer = httpx.post(
        app.served.url, json={"query": query, "variables": variables or {}}, headers=headers
    )
    body: dict[str, Any] = answer.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def token_for(app: DemoApp, handle: str, scopes: list[str] = ALL_SCOPES) -> str:
    """A new API token of the demo user `handle`, made by the local admin."""
    created = api(
        app,
        "mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) {"
        " secret errors { message } } }",
        {"input": {"user": handle, "name": f"browser test {handle}", "scopes": scopes}},
    )["createApiToken"]
    assert created["errors"] == [], created
    secret: str = created["secret"]
    return secret


def deploy_and_wait(app: DemoApp, service: str, environment: str, version: str) -> None:
    """Deploy as the local admin and wait until the deployment has SUCCEEDED."""
    deployed = api(
        app,
        "mutation($input: DeployInput!) { deploy(input: $input) {"
        " deployment { id } errors { message } } }",
        {"input": {"service": service, "environment": environment, "version": version}},
    )["deploy"]
    assert deployed["errors"] == [], deployed
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        node = api(
            app,
            "query($id: ID!) { node(id: $id) { ... on Deployment { state } } }",
            {"id": deployed["deployment"]["id"]},
        )["node"]
        if node["state"] == "SUCCEEDED":
            return
        assert node["state"] in ("QUEUED", "IN_PROGRESS"), node
        time.sleep(0.1)
    raise AssertionError(f"{service} {version} did not reach SUCCEEDED in {environment}")


def loaded(page: Page) -> None:
    """The page has drawn its heading and nothing is loading any more."""
    expect(page.locator("main h1")).to_be_visible()
    expect(page.locator("main .loading")).to_have_count(0)


def sign_in_with_token(page: Page, app: DemoApp, secret: str, name: str) -> None:
    """Paste `secret` on the sign-in page; the portal keeps it in this tab's memory only, so
    the test moves on through the app's own links from here (a reload forgets it)."""
    page.goto(f"{app.origin}/sign-in")
    page.get_by_role("textbox", name="API token").fill(secret)
    page.get_by_role("button", name="Use this token").click()
    expect(page.get_by_role("heading", level=1, name="Services")).to_be_visible()
    expect(page.get_by_role("banner").get_by_role("link", name=name)).to_be_visible()


def open_service(page: Page, search: str, name: str) -> None:
    """Find a service with the search box and open its page."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Services").click()
    page.get_by_role("searchbox", name="Search").fill(search)
    link = page.get_by_role("main").get_by_role("link", name=name, exact=True)
    expect(link).to_be_visible()
    link.click()
    expect(page.get_by_role("heading", level=1, name=name)).to_be_visible()
