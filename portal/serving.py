"""Serves the portal: assets under `/static/<digest>/`, the page at every page URL.

Installed as the router's fallback (`install`), so it answers only paths no API route
took: `/graphql` and the others are never shadowed, whatever their order. A page URL (its
first segment one of the portal's sections, see `PAGE_SECTIONS`) gets index.html and the
client-side router draws the page; any other extension-less path gets index.html with 404
(the app says "not found"); a missing asset, or an asset of another version, is a plain 404.
Every answer carries a strict Content-Security-Policy; assets are immutable for a year,
the page is revalidated with its ETag; bodies are gzipped for clients that accept it.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.types import Receive, Scope, Send

from portal.files import Asset, PortalFiles

PAGE_SECTIONS = frozenset(
    {"", "services", "matrix", "teams", "users", "environments", "approvals", "tokens", "sign-in"}
)
"""First path segments of the pages `static/js/routes.js` draws."""

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
_SECURITY_HEADERS = (
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
    ("cross-origin-opener-policy", "same-origin"),
)
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


class Portal:
    """The ASGI app answering the portal's GETs (see the module's docstring)."""

    def __init__(self, files: PortalFiles) -> None:
        self.files = files

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await _send(send, 404, _plain(b"not found"), ())
            return
        if scope["method"] not in ("GET", "HEAD"):
            await _send(send, 405, _plain(b"method not allowed"), (("allow", "GET, HEAD"),))
            return
        path: str = scope["path"]
        headers = Headers(scope=scope)
        if path.startswith("/static/"):
            asset = self._asset(path)
            if asset is None:
                await _send(send, 404, _plain(b"not found"), (("cache-control", "no-store"),))
                return
            await _answer(send, scope, headers, 200, asset, IMMUTABLE)
            return
        status = 200 if _is_page(path) else 404
        if status == 404 and "." in path.rsplit("/", 1)[-1]:
            await _send(send, 404, _plain(b"not found"), (("cache-control", "no-store"),))
            return
        await _answer(send, scope, headers, status, self.files.index, REVALIDATE)

    def _asset(self, path: str) -> Asset | None:
        prefix = self.files.prefix
        if not path.startswith(prefix):
            return None
        return self.files.assets.get(path.removeprefix(prefix))


def install(app: Starlette, files: PortalFiles | None = None) -> Portal:
    """Make the portal the app's fallback: it answers what no route matched."""
    portal = Portal(files if files is not None else PortalFiles.load())
    app.router.default = portal
    return portal


def _is_page(path: str) -> bool:
    section = path.strip("/").split("/", 1)[0]
    return section in PAGE_SECTIONS


def _plain(body: bytes) -> Asset:
    return Asset(body, None, "text/plain; charset=utf-8", '""')


def _accepts_gzip(headers: Headers) -> bool:
    """Whether `Accept-Encoding` allows gzip (by name or `*`, with a q-value above 0)."""
    for part in headers.get("accept-encoding", "").split(","):
        coding, *parameters = (piece.strip() for piece in part.split(";"))
        if coding.lower() not in ("gzip", "*"):
            continue
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    return float(value) > 0
                except ValueError:
                    return False
        return True
    return False


def _gzip_etag(etag: str) -> str:
    return f'{etag[:-1]}-gz"'


def _matches(headers: Headers, etag: str) -> bool:
    """Whether `If-None-Match` names either representation of the body (or `*`)."""
    wanted = headers.get("if-none-match")
    if wanted is None:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in wanted.split(",")}
    return "*" in tags or not tags.isdisjoint({etag, _gzip_etag(etag)})


async def _answer(
    send: Send, scope: Scope, headers: Headers, status: int, asset: Asset, cache: str
) -> None:
    gzipped = asset.gzipped is not None and _accepts_gzip(headers)
    etag = _gzip_etag(asset.etag) if gzipped else asset.etag
    extra: list[tuple[str, str]] = [("cache-control", cache), ("etag", etag)]
    if asset.gzipped is not None:
        extra.append(("vary", "Accept-Encoding"))
    if status == 200 and _matches(headers, asset.etag):
        await _send(send, 304, None, extra)
        return
    body = asset.gzipped if gzipped and asset.gzipped is not None else asset.body
    if gzipped:
        extra.append(("content-encoding", "gzip"))
    served = Asset(body, None, asset.media_type, etag)
    await _send(send, status, served, extra, head=scope["method"] == "HEAD")


async def _send(
    send: Send,
    status: int,
    asset: Asset | None,
    extra: tuple[tuple[str, str], ...] | list[tuple[str, str]],
    *,
    head: bool = False,
) -> None:
    headers = [*_SECURITY_HEADERS, *extra]
    body = b""
    if asset is not None:
        body = asset.body
        headers += [("content-type", asset.media_type), ("content-length", str(len(body)))]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(name.encode(), value.encode()) for name, value in headers],
        }
    )
    await send({"type": "http.response.body", "body": b"" if head else body})
