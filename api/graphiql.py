"""GraphiQL for browsers at `GET /graphql`, served wholly by the API process: no CDN, so it
works on a machine without internet access.

React, GraphiQL and its explorer plugin are the exact builds strawberry's own page loads from
a CDN, vendored from the npm registry (`vendor.json`, `VENDORED.md`) into
`api/static/graphiql/vendor/`; `paved-graphiql.js` is strawberry's inline bootstrap as a
file (its fetcher keeps subscriptions over graphql-ws on `/graphql`). Everything is served at
`/graphql/assets/...` under hashed names (`api.static_assets`).

The page's Content-Security-Policy allows scripts, styles and connections to this origin
only, and no inline script. GraphiQL's stylesheet embeds its fonts and a few images as `data:`
URLs, hence `font-src` and `img-src` also allow `data:` (nothing else). It needs neither
`'unsafe-eval'` nor inline styles: React and CodeMirror set styles through the CSSOM, which
the policy does not restrict (the browser tests fail on any violation, reported as a console
error).
"""

from __future__ import annotations

from functools import cache
from html import escape
from pathlib import Path

from starlette.responses import HTMLResponse

from api.static_assets import StaticAssets

ASSETS_PREFIX = "/graphql/assets"
FOLDER = Path(__file__).parent / "static" / "graphiql"

STYLESHEETS = ("vendor/graphiql.min.css", "vendor/plugin-explorer.css", "paved-graphiql.css")
# In this order: each needs the ones before it as globals (React, ReactDOM, GraphiQL).
SCRIPTS = (
    "vendor/react.production.min.js",
    "vendor/react-dom.production.min.js",
    "vendor/graphiql.min.js",
    "vendor/plugin-explorer.umd.js",
    "paved-graphiql.js",
)
FAVICON = "favicon.svg"

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        # 'self' covers ws:// and wss:// to this host (CSP 3): subscriptions over graphql-ws.
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    # The page names its assets by hash: it must be revalidated to pick up a new release.
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


@cache
def graphiql_assets() -> StaticAssets:
    """One per process: the files are the package's and never change while it runs."""
    return StaticAssets(FOLDER, ASSETS_PREFIX)


@cache
def graphiql_html() -> str:
    assets = graphiql_assets()

    def url(path: str) -> str:
        return escape(assets.url(path))

    styles = "\n".join(f'  <link rel="stylesheet" href="{url(path)}">' for path in STYLESHEETS)
    scripts = "\n".join(f'  <script defer src="{url(path)}"></script>' for path in SCRIPTS)
    return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Paved Road · GraphiQL</title>
  <link rel="icon" type="image/svg+xml" href="{url(FAVICON)}">
{styles}
{scripts}
</head>
<body>
  <div id="graphiql" class="graphiql-container">Loading…</div>
  <noscript>GraphiQL needs JavaScript.</noscript>
</body>
</html>
"""


def graphiql_page() -> HTMLResponse:
    return HTMLResponse(graphiql_html(), headers=PAGE_HEADERS)
