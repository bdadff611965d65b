"""The portal as the API process serves it: the page at every page URL, assets under the
version's digest, a strict CSP, ETags and 304s, gzip, 404s for what is not there, and no
portal at all with PAVED_PORTAL=false. The API's own paths are never shadowed."""

from __future__ import annotations

import gzip
import re
from collections.abc import AsyncIterator

import asyncpg
import httpx2 as httpx
import pytest

from api.app import create_app
from api.settings import Settings
from portal.serving import CONTENT_SECURITY_POLICY
from tests.support.app import in_process_client, started_app

pytestmark = pytest.mark.usefixtures("pool")


def asset_urls(page: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/static/[^"]+)"', page)


async def test_the_page_carries_a_strict_policy_and_is_revalidated(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    policy = response.headers["content-security-policy"]
    assert policy == CONTENT_SECURITY_POLICY
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["etag"].startswith('"')
    # No inline script: every script names its file, every asset its digest.
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", response.text) == []
    assert "{{" not in response.text
    assert asset_urls(response.text)


async def test_an_unchanged_page_or_asset_is_304(client: httpx.AsyncClient) -> None:
    page = await client.get("/services")
    again = await client.get("/services", headers={"If-None-Match": page.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == page.headers["etag"]
    stale = await client.get("/services", headers={"If-None-Match": '"something-else"'})
    assert stale.status_code == 200
    asset = asset_urls(page.text)[0]
    first = await client.get(asset)
    assert first.headers["cache-control"] == "public, max-age=31536000, immutable"
    cached = await client.get(asset, headers={"If-None-Match": f"W/{first.headers['etag']}"})
    assert cached.status_code == 304


async def test_bodies_are_gzipped_for_clients_that_accept_it(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    script = next(url for url in asset_urls(page.text) if url.endswith("/js/main.js"))
    plain = await client.get(script, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.headers["content-type"] == "text/javascript; charset=utf-8"
    packed = await client.get(script, headers={"Accept-Encoding": "gzip"})
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.headers["vary"] == "Accept-Encoding"
    assert packed.headers["etag"] != plain.headers["etag"]
    # httpx decodes it; the raw length on the wire is the compressed one.
    assert packed.content == plain.content
    assert int(packed.headers["content-length"]) < len(plain.content)
    refused = await client.get(script, headers={"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers
    assert gzip.decompress(gzip.compress(plain.content)) == plain.content


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/services",
        "/services/checkout-api",
        "/matrix",
        "/teams/platform/",
        "/tokens",
        "/environments/production",
        "/users/alice",
        "/approvals",
        "/sign-in",
    ],
)
async def test_every_page_url_gets_the_page(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert '<div id="app">' in response.text


async def test_unknown_pages_get_the_page_with_404_and_missing_files_a_plain_404(
    client: httpx.AsyncClient,
) -> None:
    unknown = await client.get("/no-such-section/here")
    assert unknown.status_code == 404
    assert '<div id="app">' in unknown.text  # the app says "not found" itself
    for path in ("/favicon.ico", "/robots.txt", "/app.js"):
        missing = await client.get(path)
        assert missing.status_code == 404, path
        assert missing.headers["content-type"].startswith("text/plain")
        assert "content-security-policy" in missing.headers


async def test_assets_exist_only_under_this_versions_digest(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    script = next(url for url in asset_urls(page.text) if url.endswith("/js/main.js"))
    digest = script.split("/")[2]
    assert (await client.get(script)).status_code == 200
    for path in (
        "/static/0000000000000000/js/main.js",
        f"/static/{digest}/js/nothing.js",
        f"/static/{digest}/index.html",
        f"/static/{digest}/../../api/settings.py",
        f"/static/{digest}/%2e%2e/%2e%2e/api/settings.py",
        "/static/",
    ):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.headers["cache-control"] == "no-store"


async def test_only_get_and_head_are_answered(client: httpx.AsyncClient) -> None:
    head = await client.head("/services")
    assert head.status_code == 200
    assert head.content == b""
    assert int(head.headers["content-length"]) > 0
    posted = await client.post("/services", content=b"x")
    assert posted.status_code == 405
    assert posted.headers["allow"] == "GET, HEAD"


async def test_the_api_paths_are_not_shadowed(client: httpx.AsyncClient) -> None:
    answered = await client.post("/graphql", json={"query": "{ viewer { name } }"})
    assert answered.json()["data"] == {"viewer": {"name": "local admin"}}
    ide = await client.get("/graphql", headers={"Accept": "text/html"})
    assert ide.status_code == 200
    assert '<div id="app">' not in ide.text  # GraphiQL, not the portal
    assert ide.headers.get("content-security-policy") != CONTENT_SECURITY_POLICY
    assert (await client.get("/healthz")).status_code == 200


async def test_the_portal_loads_without_credentials_in_production_but_the_api_does_not(
    test_settings: Settings,
) -> None:
    settings = test_settings.model_copy(update={"env": "production"})
    async with started_app(settings) as app, in_process_client(app) as client:
        page = await client.get("/services", headers={"Host": "localhost"})
        assert page.status_code == 200
        asset = asset_urls(page.text)[0]
        assert (await client.get(asset)).status_code == 200
        refused = await client.post("/graphql", json={"query": "{ viewer { name } }"})
        assert refused.status_code == 401
        # A bad credential on a page does not matter: the page reads none.
        page = await client.get("/", headers={"Authorization": "Bearer nonsense"})
        assert page.status_code == 200


@pytest.fixture
async def without_portal(
    test_settings: Settings, monkeypatch: pytest.MonkeyPatch, pool: asyncpg.Pool
) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("PAVED_PORTAL", "false")
    from_environment = Settings(database_url=test_settings.database_url, demo=False)
    assert from_environment.portal is False
    settings = test_settings.model_copy(update={"portal": from_environment.portal})
    async with started_app(settings) as app, in_process_client(app) as client:
        yield client


async def test_paved_portal_false_serves_no_portal(without_portal: httpx.AsyncClient) -> None:
    for path in ("/", "/services", "/static/0000000000000000/js/main.js"):
        response = await without_portal.get(path)
        assert response.status_code == 404, path
        assert "content-security-policy" not in response.headers
        assert "<html" not in response.text
    answered = await without_portal.post("/graphql", json={"query": "{ viewer { name } }"})
    assert answered.status_code == 200


def test_the_portal_is_on_by_default() -> None:
    assert Settings().portal is True
    assert create_app(Settings()).router.default.__class__.__name__ == "Portal"
