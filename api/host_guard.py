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
from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
_OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
_REMEMBERED_HOSTS = 256


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
        self._verdicts: dict[bytes, bool] = {}
        """Whether each `Host` value seen lately is answered (a few distinct values arrive
        over and over; bounded, so made-up ones cannot grow it)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in _OPEN_PATHS:
            await self._app(scope, receive, send)
            return
        host = origin = None
        for key, value in scope["headers"]:
            if key == b"host" and host is None:
                host = value
            elif key == b"origin" and origin is None:
                origin = value
        host = host or b""
        if not self._answers(host):
            refused = host.decode("latin-1")
            await _refuse(scope, send, 421, f"this server does not answer to host {refused!r}")
            return
        if self._policy.loopback and origin is not None:
            sent = origin.decode("latin-1")
            if not _same_origin(sent, host.decode("latin-1")):
                await _refuse(scope, send, 403, f"requests from origin {sent!r} are refused")
                return
        await self._app(scope, receive, send)

    def _answers(self, host: bytes) -> bool:
        verdict = self._verdicts.get(host)
        if verdict is None:
            name = host_name(host.decode("latin-1"))
            verdict = name is not None and self._policy.answers(name)
            if len(self._verdicts) >= _REMEMBERED_HOSTS:
                self._verdicts.clear()
            self._verdicts[host] = verdict
        return verdict


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
