"""The portal as people use it, in Chromium against a served app with the demo data: find a
service, deploy and watch it succeed, promote through an approval, roll back, freeze, make a
token and use it. Journeys that change data get an app of their own (`fresh_demo_app`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import httpx2 as httpx
import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect

from tests.browser.accessibility import assert_accessible
from tests.browser.demo_apps import DemoApp
from tests.browser.portal import (
    deploy_and_wait,
    loaded,
    open_service,
    sign_in_with_token,
    token_for,
)
from tests.browser.watch import PageWatch

Screenshot = Callable[[Page, str], Path]
NewContext = Callable[..., BrowserContext]


def test_find_a_service_by_search_and_open_it(
    page: Page, screenshot: Screenshot, capsys: pytest.CaptureFixture[str]
) -> None:
    page.goto("/services")
    page.wait_for_selector("main table tbody tr")
    painted = page.evaluate(
        "() => ({ table: performance.now(), fcp: performance.getEntriesByName("
        "'first-contentful-paint')[0]?.startTime ?? null })"
    )
    with capsys.disabled():
        print(
            f"\n[portal] services page: first contentful paint {painted['fcp']:.0f} ms, "
            f"services table drawn at {painted['table']:.0f} ms after navigation"
        )
    screenshot(page, "services")

    page.get_by_role("searchbox", name="Search").fill("checkout")
    main = page.get_by_role("main")
    expect(main.get_by_role("link", name="Checkout API", exact=True)).to_be_visible()
    expect(main.get_by_role("link", name="Cart Service", exact=True)).to_have_count(0)
    assert "q=checkout" in page.url  # the search is in the URL: reload or share it
    main.get_by_role("link", name="Checkout API", exact=True).click()

    expect(page).to_have_url(re.compile(r"/services/checkout-api$"))
    expect(page.get_by_role("heading", level=1, name="Checkout API")).to_be_visible()
    expect(page.get_by_role("link", name="Cart Service (cart-service)")).to_be_visible()
    page.go_back()
    expect(page.get_by_role("searchbox", name="Search")).to_have_value("checkout")


def test_deploy_to_development_and_watch_it_succeed_without_reloading(
    fresh_demo_app: Callable[..., DemoApp], new_context: NewContext, screenshot: Screenshot
) -> None:
    app = fresh_demo_app()
    page = new_context().new_page()
    page.goto(f"{app.origin}/services/checkout-api")
    loaded(page)
    page.evaluate("() => { window.notReloaded = true }")

    page.get_by_role("button", name="Deploy…").click()
    dialog = page.get_by_role("dialog", name="Deploy Checkout API")
    dialog.get_by_label("Environment").select_option("development")
    dialog.get_by_role("button", name="Deploy", exact=True).click()
    # The API's refusal, next to the field it names.
    expect(dialog.locator("#deploy-version-errors")).to_contain_text("VALIDATION")
    expect(dialog.get_by_label("Version")).to_have_attribute("aria-invalid", "true")
    assert_accessible(page, within="dialog")

    dialog.get_by_label("Version").fill("2.30.0")
    dialog.get_by_role("button", name="Deploy", exact=True).click()
    expect(dialog).to_have_count(0)
    entry = page.locator(".timeline-item", has_text="2.30.0").first
    expect(entry.locator(".badge")).to_have_text("succeeded", timeout=30_000)
    development = page.get_by_role("row", name=re.compile(r"^Development"))
    expect(development).to_contain_text("2.30.0")
    assert page.evaluate("() => window.notReloaded") is True
    screenshot(page, "deployed")


def test_promote_to_production_through_an_approval(
    fresh_demo_app: Callable[..., DemoApp], new_context: NewContext, screenshot: Screenshot
) -> None:
    app = fresh_demo_app()
    deploy_and_wait(app, "event-bus", "staging", "3.8.0")
    # Alice (Platform, SRE) may deploy the Event Bus and approve production, not her own.
    deployer = new_context().new_page()
    sign_in_with_token(deployer, app, token_for(app, "alice-nguyen"), "Alice Nguyen")
    open_service(deployer, "event", "Event Bus")

    deployer.get_by_role("button", name="Promote…").click()
    dialog = deployer.get_by_role("dialog", name="Promote Event Bus")
    dialog.get_by_label("From").select_option("staging")
    dialog.get_by_label("To").select_option("production")
    dialog.get_by_role("button", name="Show the plan").click()
    plan = dialog.get_by_label("Promotion plan")
    expect(plan).to_contain_text("3.7.0")
    expect(plan).to_contain_text("3.8.0")
    assert_accessible(deployer, within="dialog")
    screenshot(deployer, "plan")
    dialog.get_by_role("button", name="Promote 3.8.0").click()
    expect(dialog).to_have_count(0)

    production = deployer.get_by_role("row", name=re.compile(r"^Production"))
    expect(production).to_contain_text("waiting approval")
    production.get_by_role("button", name="Approve").click()
    decide = deployer.get_by_role("dialog", name=re.compile("Approve deployment"))
    decide.get_by_role("button", name="Approve", exact=True).click()
    expect(decide.get_by_role("alert")).to_contain_text("FORBIDDEN")
    expect(decide.get_by_role("alert")).to_contain_text("may not approve")
    decide.get_by_role("button", name="Cancel").click()

    # Bob (SRE) approves from a browser of his own.
    approver = new_context().new_page()
    sign_in_with_token(approver, app, token_for(app, "bob-okafor"), "Bob Okafor")
    approver.get_by_role("navigation", name="Main").get_by_role("link", name="Approvals").click()
    card = approver.locator(".approvals > li", has_text="Event Bus")
    expect(card).to_contain_text("3.8.0")
    expect(card).to_contain_text("You are in an approver team.")
    screenshot(approver, "approvals")
    card.get_by_role("button", name="Approve…").click()
    approver.get_by_role("dialog").get_by_label("Comment (optional)").fill("looks good")
    approver.get_by_role("dialog").get_by_role("button", name="Approve", exact=True).click()
    expect(approver.get_by_role("status").filter(has_text="#")).to_contain_text("3.8.0")

    # Alice's page follows without a reload.
    expect(production.get_by_role("cell").nth(0)).to_contain_text("3.8.0", timeout=30_000)
    expect(production).not_to_contain_text("waiting approval")
    screenshot(deployer, "promoted")


def test_roll_back_staging_to_an_earlier_version(
    fresh_demo_app: Callable[..., DemoApp], new_context: NewContext
) -> None:
    app = fresh_demo_app()
    page = new_context().new_page()
    page.goto(f"{app.origin}/services/ledger")
    loaded(page)
    staging = page.get_by_role("row", name=re.compile(r"^Staging"))
    expect(staging).to_contain_text("3.9.2")

    page.get_by_role("button", name="Roll back…").click()
    dialog = page.get_by_role("dialog", name="Roll back Ledger")
    dialog.get_by_label("Environment").select_option("staging")
    dialog.get_by_role("radio", name=re.compile(r"#7 · 3\.8\.0 ·")).check()
    dialog.get_by_role("button", name="Roll back", exact=True).click()
    expect(dialog).to_have_count(0)

    rollback = page.locator(".timeline-item", has_text="rollback").first
    expect(rollback).to_contain_text("3.8.0")
    expect(rollback.locator(".badge")).to_have_text("succeeded", timeout=30_000)
    expect(staging.get_by_role("cell").nth(0)).to_contain_text("3.8.0")


def test_a_frozen_environment_refuses_deploys_with_its_reason(
    fresh_demo_app: Callable[..., DemoApp], new_context: NewContext, screenshot: Screenshot
) -> None:
    app = fresh_demo_app()
    page = new_context().new_page()
    page.goto(f"{app.origin}/environments/staging")
    loaded(page)
    page.get_by_role("button", name="Freeze…").click()
    dialog = page.get_by_role("dialog", name="Freeze Staging")
    dialog.get_by_label("Reason").fill("quarterly audit until Friday")
    dialog.get_by_role("button", name="Freeze", exact=True).click()
    expect(dialog).to_have_count(0)
    expect(page.get_by_role("note").filter(has_text="Frozen")).to_contain_text(
        "quarterly audit until Friday"
    )
    screenshot(page, "frozen")

    open_service(page, "ledger", "Ledger")
    page.get_by_role("button", name="Deploy…").click()
    deploy = page.get_by_role("dialog", name="Deploy Ledger")
    deploy.get_by_label("Environment").select_option("staging")
    deploy.get_by_label("Version").fill("3.10.0")
    deploy.get_by_role("button", name="Deploy", exact=True).click()
    expect(deploy).to_contain_text("quarterly audit until Friday")
    expect(deploy).to_be_visible()  # refused: the dialog stays, with why


def test_create_a_token_use_it_from_httpx_then_revoke_it(
    fresh_demo_app: Callable[..., DemoApp], new_context: NewContext, screenshot: Screenshot
) -> None:
    app = fresh_demo_app()
    context = new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.goto(f"{app.origin}/tokens?user=carla-mendes")
    loaded(page)
    page.get_by_label("Name").fill("laptop")
    page.get_by_role("button", name="Create token").click()
    secret = page.locator("#new-secret").inner_text()
    assert secret.startswith("paved_")
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("() => navigator.clipboard.readText()") == secret
    screenshot(page, "token")

    headers = {"Authorization": f"Bearer {secret}"}
    query = {"query": "{ viewer { name } }"}
    answer = httpx.post(app.served.url, json=query, headers=headers)
    assert answer.json()["data"] == {"viewer": {"name": "Carla Mendes"}}

    page.get_by_role("button", name="I have saved it").click()
    expect(page.locator("#new-secret")).to_have_count(0)  # shown once
    page.get_by_role("button", name="Revoke laptop").click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke", exact=True).click()
    expect(page.get_by_role("row", name=re.compile("^laptop"))).to_contain_text("revoked")
    assert httpx.post(app.served.url, json=query, headers=headers).status_code == 401


def test_an_api_that_is_down_shows_a_banner(page: Page, watch: PageWatch) -> None:
    page.goto("/services")
    loaded(page)
    page.route("**/graphql", lambda route: route.abort("connectionrefused"))
    watch.allow("ERR_CONNECTION_REFUSED")  # what the test does on purpose
    page.get_by_role("searchbox", name="Search").fill("ledger")
    expect(page.get_by_role("alert").filter(has_text="The API is not answering")).to_be_visible()
    expect(page.get_by_role("heading", level=1, name="Services")).to_be_visible()


def test_dialogs_trap_focus_and_give_it_back(page: Page) -> None:
    page.goto("/services/checkout-api")
    loaded(page)
    opener = page.get_by_role("button", name="Deploy…")
    opener.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Deploy Checkout API")
    expect(dialog).to_be_visible()
    for _ in range(12):
        page.keyboard.press("Tab")
        inside = page.evaluate("() => !!document.activeElement.closest('dialog')")
        assert inside, "focus left the dialog"
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(opener).to_be_focused()


def test_the_skip_link_and_keyboard_reach_the_content(page: Page) -> None:
    page.goto("/services")
    loaded(page)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    focused = page.evaluate("() => document.activeElement.closest('main') !== null")
    assert focused


def test_services_sort_page_filter_and_mine(page: Page, demo_app: DemoApp) -> None:
    page.goto("/services")
    loaded(page)
    main = page.get_by_role("main")
    expect(main).to_contain_text("25 shown of 29")
    main.get_by_role("button", name="Next →").click()
    expect(main).to_contain_text("4 shown of 29")
    main.get_by_role("button", name="← Previous").click()
    expect(main).to_contain_text("25 shown of 29")

    main.get_by_role("button", name=re.compile("^Tier")).click()
    tier = main.get_by_role("columnheader", name=re.compile("^Tier"))
    expect(tier).to_have_attribute("aria-sort", "ascending")
    assert "sort=TIER" in page.url
    first_row = main.get_by_role("row").nth(1)
    expect(first_row.get_by_role("cell").nth(3)).to_have_text("1")

    main.get_by_label("Owner team (and sub-teams)").select_option("payments")
    expect(main.get_by_role("link", name="Fraud Scoring", exact=True)).to_be_visible()  # sub-team
    expect(main.get_by_role("link", name="Event Bus", exact=True)).to_have_count(0)
    main.get_by_label("Lifecycle").select_option("DEPRECATED")
    expect(main.get_by_role("link", name="Legacy Billing", exact=True)).to_be_visible()
    expect(main.get_by_role("link", name="Ledger", exact=True)).to_have_count(0)

    # Mine: the services of the signed-in person's teams (Dmitri: Developer Experience, Platform).
    sign_in_with_token(
        page, demo_app, token_for(demo_app, "dmitri-volkov", ["READ"]), "Dmitri Volkov"
    )
    main.get_by_label("Mine").check()
    expect(main.get_by_role("link", name="CI Runners", exact=True)).to_be_visible()
    expect(main.get_by_role("link", name="Event Bus", exact=True)).to_be_visible()
    expect(main.get_by_role("link", name="Ledger", exact=True)).to_have_count(0)


def test_a_failing_provider_shows_its_error_where_live_health_would_be(page: Page) -> None:
    """The API answers `live: null` with a PROVIDER_ERROR at that path when the provider
    fails; the page shows that error in the environment's row (here the answer is edited on
    its way, since the demo's simulated provider does not fail)."""

    def provider_fails(route: Route) -> None:
        response = route.fetch()
        body = response.json()
        if "live" in (route.request.post_data_json or {}).get("query", "") and body.get("data"):
            body["data"]["service"]["environments"][3]["live"] = None
            body["errors"] = [
                {
                    "message": "provider timed out after 2.0 s",
                    "path": ["service", "environments", 3, "live"],
                    "extensions": {"code": "PROVIDER_ERROR"},
                }
            ]
        route.fulfill(response=response, json=body)

    page.route("**/graphql", provider_fails)
    page.goto("/services/checkout-api")
    loaded(page)
    production = page.get_by_role("row", name=re.compile(r"^Production"))
    expect(production).to_contain_text("Live status unavailable: provider timed out after 2.0 s")
    development = page.get_by_role("row", name=re.compile(r"^Development"))
    expect(development).not_to_contain_text("unavailable")


def test_cancel_a_deployment_waiting_for_approval(
    fresh_demo_app: Callable[..., DemoApp], new_context: NewContext
) -> None:
    app = fresh_demo_app()
    page = new_context().new_page()
    page.goto(f"{app.origin}/services/checkout-api")
    loaded(page)
    production = page.get_by_role("row", name=re.compile(r"^Production"))
    expect(production).to_contain_text("waiting approval")
    production.get_by_role("button", name="Cancel").click()
    page.get_by_role("dialog").get_by_role("button", name="Cancel the deployment").click()
    expect(production).not_to_contain_text("waiting approval")
    expect(page.locator(".timeline-item").first.locator(".badge")).to_have_text("canceled")


def test_without_the_event_stream_the_page_polls(
    fresh_demo_app: Callable[..., DemoApp], new_context: NewContext, watch: PageWatch
) -> None:
    app = fresh_demo_app()
    page = new_context().new_page()
    watch.allow("ERR_FAILED")  # the stream refused on purpose

    def no_stream(route: Route) -> None:
        if "text/event-stream" in route.request.headers.get("accept", ""):
            route.abort("failed")
        else:
            route.continue_()

    page.route("**/graphql", no_stream)
    page.goto(f"{app.origin}/services/payments-gateway")
    loaded(page)
    expect(page.get_by_role("status").filter(has_text="Updates:")).to_contain_text(
        "refreshing every few seconds"
    )
    page.get_by_role("button", name="Deploy…").click()
    dialog = page.get_by_role("dialog", name="Deploy Payments Gateway")
    dialog.get_by_label("Environment").select_option("development")
    dialog.get_by_label("Version").fill("4.25.0")
    dialog.get_by_role("button", name="Deploy", exact=True).click()
    entry = page.locator(".timeline-item", has_text="4.25.0").first
    expect(entry.locator(".badge")).to_have_text("succeeded", timeout=30_000)
