"""`GET /metrics`: the app's metrics in the Prometheus text format.

In development anyone who reaches the server may read them (it listens on loopback). In
production only a client on this machine may, or one that sends
`Authorization: Bearer <PAVED_METRICS_TOKEN>` (compared in constant time). A request that
came through a proxy (it carries `Forwarded`, `X-Forwarded-For` or `X-Real-IP`) is not
taken for a local one even when the proxy connects from loopback, and forwarded headers never
make a remote client local: only the socket's peer address counts."""

from __future__ import annotations

import hmac
import ipaddress

from starlette.requests import Request
from starlette.responses import Response

from api.observability.telemetry import Telemetry
from api.settings import Settings

_FORWARDING = ("forwarded", "x-forwarded-for", "x-real-ip")


def _on_this_machine(request: Request) -> bool:
    if any(name in request.headers for name in _FORWARDING):
        return False
    host = request.client.host if request.client is not None else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bearer(request: Request) -> bytes | None:
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        return None
    return credential.strip().encode()


def may_read(request: Request, settings: Settings) -> bool:
    if not settings.production:
        return True
    token = settings.metrics_token
    sent = _bearer(request)
    if sent is not None:
        return token is not None and hmac.compare_digest(sent, token.get_secret_value().encode())
    return _on_this_machine(request)


async def metrics(request: Request) -> Response:
    settings: Settings = request.app.state.container.settings
    telemetry: Telemetry = request.app.state.telemetry
    if telemetry.metrics is None:
        return Response("metrics are off (PAVED_METRICS=false)\n", 404, media_type="text/plain")
    if not may_read(request, settings):
        return Response(
            "metrics need a loopback client or Authorization: Bearer <PAVED_METRICS_TOKEN>\n",
            401,
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            media_type="text/plain",
        )
    await telemetry.metrics.refresh_backlog()
    body, content_type = telemetry.metrics.render(request.headers.get("accept", ""))
    return Response(body, headers={"Cache-Control": "no-store", "Content-Type": content_type})
