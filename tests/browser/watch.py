"""What a test's pages did that it did not ask for: console errors, uncaught exceptions, and
requests to anywhere but the app under test."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Request, WebError, WebSocket

# Schemes that never leave the browser.
_LOCAL_SCHEMES = frozenset({"data", "blob", "about", "chrome-extension", "devtools"})


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass
class PageWatch:
    """Attached to every browser context a test opens (the `page` and `context` fixtures do
    it): records every console error, uncaught page error and request URL. The browser
    fixtures fail the test on any console error not `allow`ed, and on any request to an
    origin other than `origins` (the apps the test serves; WebSocket addresses count as
    their http origin). Not slotted: Playwright keeps state on the bound methods' owner."""

    origins: set[str]
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    contexts: list[BrowserContext] = field(default_factory=list)
    """The contexts watched and still open."""
    _allowed: list[re.Pattern[str]] = field(default_factory=list)

    def attach(self, context: BrowserContext) -> None:
        self.contexts.append(context)
        context.on("close", self._closed)
        context.on("console", self._console)
        context.on("weberror", self._uncaught)
        context.on("request", self._request)
        context.on("page", self._page)

    def allow(self, pattern: str) -> None:
        """Console errors matching `pattern` (a regular expression) are expected: say why
        where you call it (e.g. a test that stops the API on purpose)."""
        self._allowed.append(re.compile(pattern))

    def close_contexts(self) -> None:
        """Close every watched context (before stopping the apps their pages talk to: a page
        left open would see its server go and say so in the console)."""
        for context in list(self.contexts):
            context.close()

    def unexpected_errors(self) -> list[str]:
        return [
            error
            for error in self.console_errors
            if not any(pattern.search(error) for pattern in self._allowed)
        ]

    def foreign_requests(self) -> list[str]:
        """Requests that left the served apps' origins."""
        return [url for url in self.requests if not self._is_local(url)]

    def assert_no_console_errors(self) -> None:
        errors = self.unexpected_errors()
        assert not errors, "console errors:\n" + "\n".join(errors)

    def assert_same_origin(self) -> None:
        foreign = self.foreign_requests()
        assert not foreign, f"requests left {sorted(self.origins)}:\n" + "\n".join(
            dict.fromkeys(foreign)
        )

    def _is_local(self, url: str) -> bool:
        scheme = urlsplit(url).scheme
        if scheme in _LOCAL_SCHEMES:
            return True
        if scheme in ("ws", "wss"):
            url = ("http" if scheme == "ws" else "https") + url[len(scheme) :]
        return origin_of(url) in self.origins

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location.get("url", "")
            self.console_errors.append(f"{message.text} ({where})" if where else message.text)

    def _uncaught(self, error: WebError) -> None:
        self.console_errors.append(f"uncaught: {error.error}")

    def _request(self, request: Request) -> None:
        self.requests.append(request.url)

    def _closed(self, context: BrowserContext) -> None:
        self.contexts.remove(context)

    def _page(self, page: Page) -> None:
        page.on("websocket", self._websocket)

    def _websocket(self, socket: WebSocket) -> None:
        self.requests.append(socket.url)
