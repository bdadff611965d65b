"""A browser as far as signing in goes: it keeps the cookies the server sets (with their
attributes, so tests can check them), sends each back only on the paths it is for, and
follows redirects one at a time so that every hop can be looked at.

Secure cookies are sent over plain http here on purpose: browsers do so for loopback
addresses, where the tests serve."""

from __future__ import annotations

from dataclasses import dataclass, field
from http.cookies import Morsel, SimpleCookie
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx2 as httpx


@dataclass
class Browser:
    http: httpx.AsyncClient
    origin: str
    """The server's origin; cookies are kept for it only."""
    cookies: dict[str, Morsel[str]] = field(default_factory=dict)

    def cookie_header(self, path: str) -> str:
        return "; ".join(
            f"{name}={morsel.value}"
            for name, morsel in self.cookies.items()
            if path.startswith(morsel["path"] or "/")
        )

    async def request(
        self, method: str, url: str, headers: dict[str, str] | None = None, **options: Any
    ) -> httpx.Response:
        """One request, without following redirects; cookies sent and kept for our origin."""
        target = urljoin(self.origin + "/", url)
        parts = urlsplit(target)
        ours = f"{parts.scheme}://{parts.netloc}" == self.origin
        sent = dict(headers or {})
        if ours and (cookie := self.cookie_header(parts.path)):
            sent["Cookie"] = cookie
        response = await self.http.request(method, target, headers=sent, **options)
        if ours:
            self._keep(response)
        return response

    def _keep(self, response: httpx.Response) -> None:
        for line in response.headers.get_list("set-cookie"):
            jar: SimpleCookie = SimpleCookie()
            jar.load(line)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or morsel.value == "":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel

    async def follow(self, response: httpx.Response) -> httpx.Response:
        """The answer at the redirect's target."""
        assert response.is_redirect, (response.status_code, response.text)
        return await self.request("GET", response.headers["location"])

    def session_cookie(self) -> str:
        return self.cookies["paved_session"].value
