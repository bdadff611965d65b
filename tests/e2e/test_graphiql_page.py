"""GraphiQL's page and assets over plain HTTP: nothing from elsewhere, a strict policy, and
assets cacheable forever, compressed, under names only their content gives. The browser
tests (tests/browser/test_graphiql.py) check the same page works in Chromium."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser

import httpx2 as httpx
import pytest

from api.graphiql import SCRIPTS, STYLESHEETS
from api.settings import Settings
from tests.support.app import in_process_client, started_app

HTML = {"Accept": "text/html"}


class References(HTMLParser):
    """Every address the page names, and the inline scripts and styles it has."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]
        if "style" in values or tag == "style" or any(name.startswith("on") for name in values):
            self.inline.append(tag)
        self._in_script = tag == "script" and "src" not in values

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append(data)

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False


def references(page: str) -> References:
    parser = References()
    parser.feed(page)
    return parser


async def page_assets(client: httpx.AsyncClient) -> list[str]:
    page = await client.get("/graphql", headers=HTML)
    assert page.status_code == 200
    return references(page.text).urls


async def asset_url(client: httpx.AsyncClient, path: str) -> str:
    """The address the page gives the file `path` (hashed)."""
    unhashed = {
        re.sub(r"\.[0-9a-f]{16}(\.\w+)$", r"\1", url): url for url in await page_assets(client)
    }
    return unhashed[f"/graphql/assets/{path}"]


async def test_the_page_references_nothing_outside_the_server(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/graphql", headers=HTML)

    assert page.headers["content-type"] == "text/html; charset=utf-8"
    found = references(page.text)
    assert found.urls
    assert all(url.startswith("/graphql/assets/") for url in found.urls), found.urls
    assert not re.search(r"(https?:)?//", page.text), "an absolute address in the page"
    assert found.inline == []
    assert len(found.urls) == len(SCRIPTS) + len(STYLESHEETS) + 1  # and the icon


async def test_the_stylesheets_load_nothing_but_data(client: httpx.AsyncClient) -> None:
    for url in await page_assets(client):
        if url.endswith(".css"):
            css = (await client.get(url)).text
            assert "@import" not in css, url
            assert set(re.findall(r"url\(\s*['\"]?([a-z]+:)", css)) <= {"data:"}, url
            assert not re.findall(r"url\(\s*['\"]?/", css), url


async def test_the_page_has_a_strict_content_security_policy(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/graphql", headers=HTML)

    policy = dict(
        directive.strip().split(" ", 1)
        for directive in page.headers["content-security-policy"].split(";")
    )
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["connect-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe" not in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-cache"
    assert page.headers["x-content-type-options"] == "nosniff"


async def test_assets_are_immutable_revalidated_by_etag_and_gzipped(
    client: httpx.AsyncClient,
) -> None:
    for url in await page_assets(client):
        plain = await client.get(url, headers={"Accept-Encoding": "identity"})
        assert plain.status_code == 200, url
        assert plain.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert plain.headers["x-content-type-options"] == "nosniff"
        assert "content-encoding" not in plain.headers
        etag = plain.headers["etag"]
        assert etag.strip('"') in url
        again = await client.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304
        assert again.content == b""
        if url.endswith((".js", ".css")):
            kind = "text/javascript" if url.endswith(".js") else "text/css"
            assert plain.headers["content-type"] == f"{kind}; charset=utf-8"
        if url.endswith((".js", ".css")) and len(plain.content) >= 1024:
            packed = await client.get(url, headers={"Accept-Encoding": "gzip"})
            assert packed.headers["content-encoding"] == "gzip"
            assert packed.headers["vary"] == "Accept-Encoding"
            # httpx decodes it; the bytes on the wire are the smaller ones.
            assert packed.content == plain.content
            assert int(packed.headers["content-length"]) < len(plain.content)


async def test_gzip_is_only_sent_to_clients_that_accept_it(client: httpx.AsyncClient) -> None:
    script = await asset_url(client, "vendor/graphiql.min.js")
    for refused in ("identity", "gzip;q=0", "br", "gzip;q=zero"):
        answer = await client.get(script, headers={"Accept-Encoding": refused})
        assert "content-encoding" not in answer.headers, refused
    raw = await client.get(script, headers={"Accept-Encoding": "br, gzip;q=0.5"})
    assert raw.headers["content-encoding"] == "gzip"


async def test_only_hashed_names_of_shipped_files_are_served(client: httpx.AsyncClient) -> None:
    script = await asset_url(client, "vendor/graphiql.min.js")
    stale = re.sub(r"\.[0-9a-f]{16}\.js$", ".0000000000000000.js", script)
    for url in (
        "/graphql/assets/vendor/graphiql.min.js",
        stale,
        "/graphql/assets/../app.py",
        "/graphql/assets/%2e%2e/app.py",
        "/graphql/assets/..%2fgraphiql.py",
        "/graphql/assets/vendor/",
        "/graphql/assets/",
    ):
        answer = await client.get(url)
        assert answer.status_code == 404, url
        assert "import" not in answer.text
    refused = await client.post(script)
    assert refused.status_code == 405


async def test_assets_answer_only_the_hosts_the_api_answers(client: httpx.AsyncClient) -> None:
    script = (await page_assets(client))[0]

    answer = await client.get(script, headers={"Host": "rebound.example"})

    assert answer.status_code == 421


@pytest.fixture
async def production_client(test_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    settings = test_settings.model_copy(update={"env": "production", "graphiql": True})
    async with started_app(settings) as app, in_process_client(app) as client:
        yield client


async def test_in_production_assets_need_no_credential_but_the_page_does(
    production_client: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    script = (await page_assets(client))[0]

    page = await production_client.get("/graphql", headers=HTML)
    asset = await production_client.get(script)

    assert page.status_code == 401
    assert asset.status_code == 200


async def test_without_graphiql_there_are_no_assets(
    test_settings: Settings, client: httpx.AsyncClient
) -> None:
    script = (await page_assets(client))[0]
    settings = test_settings.model_copy(update={"graphiql": False})
    async with started_app(settings) as app, in_process_client(app) as off:
        assert (await off.get("/graphql", headers=HTML)).status_code == 404
        assert (await off.get(script)).status_code == 404
