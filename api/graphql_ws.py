"""Subscriptions over WebSocket on `/graphql`: the graphql-transport-ws protocol (that of the
`graphql-ws` library, which GraphiQL uses).

The credential is the upgrade request's `Authorization` header or the `connection_init`
payload's `authorization` (`"Bearer ..."`); or, without either, the browser session of the
`paved_session` cookie, only when the payload carries the session's `csrfToken` and the
upgrade's `Origin` is the server's public origin (`api.web_sessions`: another site's page
can open a WebSocket with the cookie, but cannot know the token). Without any, only
development mode lets the local admin in. Each `subscribe` goes through the same checks as a query
(`api.subscriptions`); a connection holds at most `PAVED_MAX_SUBSCRIPTIONS_PER_CONNECTION`
at once. The server pings every `PAVED_SUBSCRIPTION_KEEPALIVE_SECONDS`; at shutdown it closes
with 1001 (going away).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect

from api.http_requests import RequestError
from api.subscriptions import Running, Subscriber, Subscriptions, ends_stream
from domain.access.model import Unauthenticated
from domain.errors import ErrorCode

log = logging.getLogger(__name__)

PROTOCOL = "graphql-transport-ws"
INIT_TIMEOUT_SECONDS = 10.0
_MAX_ID_LENGTH = 128
_READY_SECONDS = 10.0
"""The longest the connection waits for a subscription to start before reading on."""

# The protocol's close codes.
INVALID_MESSAGE = 4400
UNAUTHORIZED = 4401
FORBIDDEN = 4403
SUBPROTOCOL_NOT_ACCEPTABLE = 4406
INIT_TIMEOUT = 4408
DUPLICATE_SUBSCRIBER = 4409
TOO_MANY_INITS = 4429
GOING_AWAY = 1001


class _Closed(Exception):
    """The connection is over (closed by either side)."""


async def graphql_ws(websocket: WebSocket) -> None:
    subscriptions: Subscriptions | None = getattr(websocket.app.state, "subscriptions", None)
    metrics = subscriptions.metrics if subscriptions is not None else None
    if subscriptions is None or PROTOCOL not in websocket.scope.get("subprotocols", ()):
        # Refused before the handshake completes: an HTTP 403 for the upgrade request.
        if metrics is not None:
            metrics.connection("refused")
        await websocket.close(SUBPROTOCOL_NOT_ACCEPTABLE)
        return
    await websocket.accept(subprotocol=PROTOCOL)
    connection = _Connection(websocket, subscriptions)
    if metrics is not None:
        metrics.open_connections.inc()
    async with subscriptions.transport():
        try:
            await connection.serve()
        except _Closed:
            pass
        finally:
            await connection.stop_operations()
            if metrics is not None:
                metrics.open_connections.dec()


class _Connection:
    def __init__(self, websocket: WebSocket, subscriptions: Subscriptions) -> None:
        self._ws = websocket
        self._subscriptions = subscriptions
        self._subscriber: Subscriber | None = None
        self._initialised = False
        self._operations: dict[str, asyncio.Task[None]] = {}
        self._sending = asyncio.Lock()
        self._closed = False

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        init_deadline = loop.time() + INIT_TIMEOUT_SECONDS
        closing = asyncio.ensure_future(self._subscriptions.closing.wait())
        receive: asyncio.Future[Any] | None = None
        try:
            while True:
                if receive is None:
                    receive = asyncio.ensure_future(self._ws.receive())
                wait = self._subscriptions.keepalive_seconds
                if not self._initialised:
                    wait = min(wait, max(init_deadline - loop.time(), 0.0))
                done, _ = await asyncio.wait(
                    (receive, closing), timeout=wait, return_when=asyncio.FIRST_COMPLETED
                )
                if closing in done:
                    await self._close(GOING_AWAY, "the server is shutting down")
                if receive in done:
                    message = receive.result()
                    receive = None
                    await self._received(message)
                elif not self._initialised and loop.time() >= init_deadline:
                    await self._close(INIT_TIMEOUT, "Connection initialisation timeout")
                elif not done:
                    await self._send({"type": "ping"})
        finally:
            closing.cancel()
            if receive is not None:
                receive.cancel()

    async def _received(self, message: dict[str, Any]) -> None:
        if message["type"] == "websocket.disconnect":
            self._closed = True
            raise _Closed
        raw = message.get("text") if message.get("text") is not None else message.get("bytes")
        if raw is not None and len(raw) > self._subscriptions.max_message_bytes:
            await self._close(INVALID_MESSAGE, "the message exceeds the request size limit")
        try:
            parsed = orjson.loads(raw) if raw is not None else None
        except orjson.JSONDecodeError:
            parsed = None
        if not isinstance(parsed, dict) or not isinstance(parsed.get("type"), str):
            await self._close(INVALID_MESSAGE, "Invalid message received")
        else:
            await self._handle(parsed)

    async def _handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "connection_init":
            await self._init(message.get("payload"))
        elif kind == "ping":
            await self._send({"type": "pong"})
        elif kind == "pong":
            return
        elif kind == "subscribe":
            await self._subscribe(message.get("id"), message.get("payload"))
        elif kind == "complete":
            operation_id = message.get("id")
            task = (
                self._operations.pop(operation_id, None) if isinstance(operation_id, str) else None
            )
            if task is not None:
                task.cancel()
        else:
            await self._close(INVALID_MESSAGE, f"Invalid message type {kind[:40]!r}")

    async def _init(self, payload: Any) -> None:
        if self._initialised:
            await self._close(TOO_MANY_INITS, "Too many initialisation requests")
        if payload is not None and not isinstance(payload, dict):
            await self._close(INVALID_MESSAGE, "the connection_init payload must be an object")
        sent = (payload or {}).get("authorization")
        if sent is not None and not isinstance(sent, str):
            await self._close(INVALID_MESSAGE, "`authorization` must be a string")
        authorization = sent or self._ws.headers.get("authorization")
        csrf = (payload or {}).get("csrfToken")
        if csrf is not None and not isinstance(csrf, str):
            await self._close(INVALID_MESSAGE, "`csrfToken` must be a string")
        sessions = self._subscriptions.sessions
        session = None
        try:
            if not authorization and csrf is not None and sessions is not None:
                session = sessions.websocket_credential(self._ws.headers, csrf)
                principal = await sessions.principal(session)
            else:
                principal = await self._subscriptions.authenticator.principal(authorization)
        except Unauthenticated as refused:
            self._count("unauthenticated")
            await self._close(FORBIDDEN, refused.message[:120])
        client = self._ws.client
        self._subscriber = Subscriber(
            principal,
            authorization,
            client.host if client else None,
            request_id=uuid.uuid4().hex,
            session=session,
        )
        self._initialised = True
        self._count("accepted")
        await self._send({"type": "connection_ack"})

    def _count(self, outcome: str) -> None:
        if self._subscriptions.metrics is not None:
            self._subscriptions.metrics.connection(outcome)

    async def _subscribe(self, operation_id: Any, payload: Any) -> None:
        if self._subscriber is None:
            await self._close(UNAUTHORIZED, "Unauthorized")
        if not isinstance(operation_id, str) or not 0 < len(operation_id) <= _MAX_ID_LENGTH:
            await self._close(INVALID_MESSAGE, "`id` must be a non-empty string")
        if not isinstance(payload, dict):
            await self._close(INVALID_MESSAGE, "`payload` must be an object")
        if operation_id in self._operations:
            await self._close(DUPLICATE_SUBSCRIBER, f"Subscriber for {operation_id} already exists")
        limit = self._subscriptions.per_connection
        if len(self._operations) >= limit:
            refused = RequestError(
                None,
                f"this connection has {limit} subscriptions open, the limit; end one first",
                ErrorCode.RATE_LIMITED,
                extensions={"limit": "max_subscriptions_per_connection"},
            )
            await self._send({"id": operation_id, "type": "error", "payload": [refused.error]})
            return
        assert self._subscriber is not None
        # Messages are handled in order: once this one is, the subscription receives events
        # (a client that then sends `ping` knows so from the `pong`).
        ready = asyncio.Event()
        self._operations[operation_id] = asyncio.create_task(
            self._operate(operation_id, payload, self._subscriber, ready)
        )
        with contextlib.suppress(TimeoutError):  # a stuck start must not stall the connection
            async with asyncio.timeout(_READY_SECONDS):
                await ready.wait()

    async def _operate(
        self, operation_id: str, params: dict[str, Any], who: Subscriber, ready: asyncio.Event
    ) -> None:
        """Run one subscription; `ready` is set once it receives live events (or failed)."""
        running: Running | None = None
        pending: asyncio.Future[dict[str, Any]] | None = None
        try:
            try:
                running = await self._subscriptions.start(params, who)
            except RequestError as refused:
                ready.set()
                await self._send({"id": operation_id, "type": "error", "payload": [refused.error]})
                return
            pending = await running.begin()
            ready.set()
            while True:
                try:
                    sent = await pending
                except StopAsyncIteration:
                    break
                pending = None
                if ends_stream(sent):
                    await self._send(
                        {"id": operation_id, "type": "error", "payload": sent["errors"]}
                    )
                    return
                await self._send({"id": operation_id, "type": "next", "payload": sent})
                pending = asyncio.ensure_future(anext(running.results))
            await self._send({"id": operation_id, "type": "complete"})
        except _Closed:
            pass
        except Exception:
            log.exception("subscription %s failed", operation_id)
        finally:
            ready.set()
            if running is not None:
                await running.end(pending)
            if self._operations.get(operation_id) is asyncio.current_task():
                del self._operations[operation_id]

    async def stop_operations(self) -> None:
        tasks = list(self._operations.values())
        self._operations.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _send(self, message: dict[str, Any]) -> None:
        if self._closed:
            raise _Closed
        try:
            async with self._sending:
                await self._ws.send_text(orjson.dumps(message).decode())
        except (WebSocketDisconnect, RuntimeError, OSError):
            self._closed = True
            raise _Closed from None

    async def _close(self, code: int, reason: str) -> None:
        """Close the connection with `code`; never returns."""
        if not self._closed:
            self._closed = True
            await self.stop_operations()
            with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
                async with self._sending:
                    await self._ws.close(code, reason)
        raise _Closed
