"""Browser tests: Paved Road served with the demo data, driven in Debian's Chromium through
Playwright's sync API (pytest-playwright).

- `demo_app`: one app for the whole package, on its own copy of the demo organisation; for
  tests that only read (or change nothing others look at). `fresh_demo_app()`: an app of the
  test's own, on a new copy, for journeys that change data (a new copy costs ~0.2 s).
  `base_url` is `demo_app`'s origin, so `page.goto("/graphql")` opens it.
- `page`, `context`, `new_context` (pytest-playwright's): a new browser context per test;
  every context a test opens is watched (`watch`, see `watch.py`), and the test fails on a
  console error or a request to anywhere but the apps it serves.
- `screenshot(page, name)`: a full-page PNG under build/screenshots/ (git-ignored).
- `assert_accessible(page)` (accessibility.py): axe-core, failing on serious or critical.

Playwright's sync API keeps an event loop of its own in the test thread, so these tests are
plain functions and never await: what must run asynchronously (SQL, an API call) goes through
`app.run(coroutine)`, which runs it in the apps' event loop, in a thread of its own. For that
same reason Playwright and the browser live for this package only (scope "package", where
pytest-playwright's are per session): the rest of the suite's async tests find the thread's
event loop free again.

Without Chromium every test here is skipped, with one line saying how to enable them.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    BrowserType,
    Page,
    Playwright,
    sync_playwright,
)

from tests.browser.background import BackgroundLoop
from tests.browser.demo_apps import DemoApp, DemoTemplate
from tests.browser.watch import PageWatch

SKIP_REASON = (
    "browser tests skipped: install Debian's chromium (apt-get install -y chromium) "
    "to run them, or point PAVED_TEST_CHROMIUM at a Chromium executable"
)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
DEFAULT_TIMEOUT_MS = 10_000


def chromium_path() -> str | None:
    """The Chromium to drive: PAVED_TEST_CHROMIUM, else Debian's `chromium` on the PATH."""
    configured = os.environ.get("PAVED_TEST_CHROMIUM")
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    return shutil.which("chromium")


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Without Chromium, skip every test here from this one place, so that the summary
    folds them into one line."""
    if chromium_path() is None:
        pytest.skip(SKIP_REASON)


@pytest.fixture(scope="package")
def chromium() -> str:
    path = chromium_path()
    assert path is not None, SKIP_REASON
    return path


# --- the apps under test -----------------------------------------------------------------


@pytest.fixture(scope="package")
def app_loop() -> Iterator[BackgroundLoop]:
    loop = BackgroundLoop("browser-tests-apps")
    yield loop
    loop.close()


@pytest.fixture(scope="package")
def demo_template(app_loop: BackgroundLoop, database_url: str) -> Iterator[DemoTemplate]:
    template = DemoTemplate(app_loop, database_url)
    yield template
    template.close()


@pytest.fixture(scope="package")
def demo_app(demo_template: DemoTemplate) -> Iterator[DemoApp]:
    app = demo_template.app()
    yield app
    app.close()


@pytest.fixture
def fresh_demo_app(
    demo_template: DemoTemplate, watch: PageWatch
) -> Iterator[Callable[..., DemoApp]]:
    """`fresh_demo_app(port=None, **settings)`: a new app on a new copy of the demo
    (settings as for `tests.support.served.served_settings`; `port` chosen beforehand with
    `free_port` when a setting must name it, e.g. `public_url`), stopped after the test. Open
    its pages with `new_context(base_url=app.origin)` or absolute URLs."""
    apps: list[DemoApp] = []

    def start(*, port: int | None = None, **settings: Any) -> DemoApp:
        app = demo_template.app(port=port, **settings)
        apps.append(app)
        watch.origins.add(app.origin)
        return app

    yield start
    if apps:
        # Pages first: one still connected would see its server go, and say so.
        watch.close_contexts()
    for app in apps:
        app.close()


@pytest.fixture(scope="package")
def base_url(demo_app: DemoApp) -> str:
    return demo_app.origin


# --- Playwright, for this package only ---------------------------------------------------


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    driver = sync_playwright().start()
    yield driver
    driver.stop()


@pytest.fixture(scope="package")
def browser_type(playwright: Playwright, browser_name: str) -> BrowserType:
    if browser_name != "chromium":
        pytest.skip("the browser tests drive Chromium only")
    return playwright.chromium


@pytest.fixture(scope="package")
def browser_type_launch_args(
    browser_type_launch_args: dict[str, Any], chromium: str
) -> dict[str, Any]:
    """pytest-playwright's (--headed, --slowmo) with Debian's executable: Playwright cannot
    download browsers of its own here."""
    return {**browser_type_launch_args, "executable_path": chromium}


@pytest.fixture(scope="package")
def launch_browser(
    browser_type_launch_args: dict[str, Any], browser_type: BrowserType
) -> Callable[..., Browser]:
    def launch(**options: Any) -> Browser:
        return browser_type.launch(**{**browser_type_launch_args, **options})

    return launch


@pytest.fixture(scope="package")
def browser(launch_browser: Callable[..., Browser]) -> Iterator[Browser]:
    launched = launch_browser()
    yield launched
    launched.close()


@pytest.fixture(scope="package")
def browser_context_args() -> dict[str, Any]:
    """What every context gets (`base_url` is added by `new_context`, where a test may
    change it)."""
    return {"viewport": {"width": 1280, "height": 800}}


# --- each test's contexts, watched -------------------------------------------------------


@pytest.fixture
def watch(demo_app: DemoApp) -> Iterator[PageWatch]:
    """Fails the test, after it, on console errors and on requests that left the apps."""
    watched = PageWatch(origins={demo_app.origin})
    yield watched
    watched.assert_no_console_errors()
    watched.assert_same_origin()


@pytest.fixture
def new_context(
    new_context: Callable[..., BrowserContext], watch: PageWatch, base_url: str
) -> Callable[..., BrowserContext]:
    """pytest-playwright's, with every context watched, a shorter default timeout, and
    `base_url` the package's app unless given (`new_context(base_url=app.origin)`)."""

    def create(**options: Any) -> BrowserContext:
        context = new_context(**{"base_url": base_url, **options})
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        watch.attach(context)
        return context

    return create


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable[[Page, str], Path]:
    """`screenshot(page, name)`: the whole page as build/screenshots/<test>-<name>.png."""

    def take(page: Page, name: str) -> Path:
        test = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
        path = SCREENSHOTS / f"{test}-{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
