"""The answer to a request the database could not serve: 503 with `Retry-After`.

`providers/postgres/availability.py` tells an outage from a bug (the composition root hands
its classifier to the app); the GraphQL endpoint answers 503 itself when nothing was executed,
and `UnavailableMiddleware` does for whatever fails before the endpoint runs (looking up a
token or a session): a client may retry such an answer as it is."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.errors import ErrorCode, Unavailable

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 1

_SHUTTING_DOWN = Unavailable(
    "the server shut down before this request finished; retry it (a write with the same "
    "idempotency key: whether it was made is not known)"
)

Outage = Callable[[BaseException], Unavailable | None]


def unavailable_body(down: Unavailable) -> bytes:
    return orjson.dumps(
        {
            "errors": [
                {
                    "message": down.message,
                    "extensions": {
                        "code": ErrorCode.UNAVAILABLE.value,
                        "retryAfter": RETRY_AFTER_SECONDS,
                    },
                }
            ]
        }
    )


def unavailable_headers() -> dict[str, str]:
    return {"Retry-After": str(RETRY_AFTER_SECONDS)}


class UnavailableMiddleware:
    """A database outage raised under it before any answer started: 503 with `Retry-After`
    (and a warning in the log) rather than a 500."""

    def __init__(self, app: ASGIApp, outage: Callable[[], Outage | None]) -> None:
        self._app = app
        self._outage = outage

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self._app(scope, receive, sending)
        except asyncio.CancelledError:
            # The server's graceful shutdown ran out while this request was still running:
            # say "retry" (with the same idempotency key for a write) rather than let the
            # server answer a bare 500.
            if not started:
                log.warning("%s: cut off by the shutdown", scope.get("path"))
                await _answer(send, unavailable_body(_SHUTTING_DOWN))
            raise
        except Exception as error:
            classify = self._outage()
            down = None if classify is None else classify(error)
            if down is None or started:
                raise
            log.warning("%s: the database is unavailable (%r)", scope.get("path"), error)
            await _answer(send, unavailable_body(down))


async def _answer(send: Send, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
