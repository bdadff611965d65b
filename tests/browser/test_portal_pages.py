"""Every page of the portal, at a desktop width and at 360 px: axe-core finds no serious or
critical violation, nothing overflows sideways, nothing logs an error (the `watch` fixture),
and a screenshot of each is kept (build/screenshots/)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.browser.accessibility import assert_accessible
from tests.browser.portal import loaded

PAGES = {
    "services": "/services",
    "service": "/services/checkout-api",
    "matrix": "/matrix",
    "teams": "/teams",
    "team": "/teams/platform",
    "user": "/users/kofi-mensah",
    "environments": "/environments",
    "environment": "/environments/production",
    "approvals": "/approvals",
    "tokens": "/tokens?user=alice-nguyen",
    "sign-in": "/sign-in",
    "not-found": "/services/no-such-service",
}
WIDTHS = {"desktop": 1280, "phone": 360}


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", PAGES)
def test_every_page_is_accessible_and_fits(
    page: Page, screenshot: Callable[[Page, str], Path], name: str, width: str
) -> None:
    page.set_viewport_size({"width": WIDTHS[width], "height": 800})
    page.goto(PAGES[name])
    loaded(page)
    page.wait_for_load_state("load")
    assert_accessible(page)
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{name} is {overflow}px wider than a {WIDTHS[width]}px screen"
    screenshot(page, "page")  # named after the test, which names the page and width


README_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.mark.skipif(
    not os.environ.get("PAVED_README_SCREENSHOTS"),
    reason="README screenshots are refreshed by `make screenshots`",
)
def test_readme_screenshots(page: Page) -> None:
    """The README's pictures of the service page and the release matrix (`make screenshots`)."""
    README_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    for name, path in (("service", "/services/checkout-api"), ("matrix", "/matrix")):
        page.goto(path)
        loaded(page)
        page.wait_for_load_state("load")
        page.screenshot(path=str(README_SCREENSHOTS / f"portal-{name}.png"))
