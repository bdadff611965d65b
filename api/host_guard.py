"""Refuses requests for a `Host` this server does not answer to, and cross-site `Origin`s.

In development an anonymous request acts as the local admin, so a web page the developer
visits must not reach the API by rebinding its own name to 127.0.0.1 (DNS rebinding): only
loopback names and `PAVED_ALLOWED_HOSTS` are answered (421), and a browser request from
another origin is refused (403). In production, `PAVED_ALLOWED_HOSTS`, when set, is the
list of names answered. Health probes (`/healthz`, `/readyz`) are answered for any host:
they reveal nothing, and orchestrators address them by the pod's IP. So is `/metrics`, which
scrapers address the same way and which guards itself (`api/observability/endpoint.py`).

Starlette's `TrustedHostMiddleware` checks only the host, with a 400 and no exemptions.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import orjson
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
_OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def host_name(host: str) -> str | None:
    """The name in a `Host` header, lowercase, without port or IPv6 brackets; None when
    the header is not a host[:port]."""
    try:
        parts = urlsplit(f"//{host.strip()}")
        name = parts.hostname
        _ = parts.port  # raises on a port that is not a number
    except ValueError:
        return None
    if not name or any(character.isspace() for character in name):
        return None
    return name.rstrip(".").lower()


def _is_loopback(name: str) -> bool:
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class HostPolicy:
    """`allowed` holds names and `*.domain` patterns; empty means any host."""

    allowed: tuple[str, ...]
    loopback: bool
    """Development: loopback names are answered, and nothing else unless listed."""

    @classmethod
    def of(cls, allowed: Iterable[str], *, development: bool) -> HostPolicy:
        return cls(tuple(name.lower() for name in allowed), development)

    def answers(self, name: str) -> bool:
        if self.loopback and _is_loopback(name):
            return True
        if not self.allowed:
            return not self.loopback
        return any(
            name == pattern or (pattern.startswith("*.") and name.endswith(pattern[1:]))
            for pattern in self.allowed
        )


class HostGuard:
    """ASGI middleware applying a `HostPolicy` to HTTP and WebSocket requests."""

    def __init__(self, app: ASGIApp, policy: HostPolicy) -> None:
        self._app = app
        self._policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in _OPEN_PATHS:
            await self._app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        host = headers.get("host", "")
        name = host_name(host)
        if name is None or not self._policy.answers(name):
            await _refuse(scope, send, 421, f"this server does not answer to host {host!r}")
            return
        origin = headers.get("origin")
        if self._policy.loopback and origin is not None and not _same_origin(origin, host):
            await _refuse(scope, send, 403, f"requests from origin {origin!r} are refused")
            return
        await self._app(scope, receive, send)


def _same_origin(origin: str, host: str) -> bool:
    """Whether a browser's `Origin` is this server as the request addressed it."""
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host.strip().lower()


async def _refuse(scope: Scope, send: Send, status: int, message: str) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
        return
    body = orjson.dumps({"errors": [{"message": message, "extensions": {"code": "FORBIDDEN"}}]})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
