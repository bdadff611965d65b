"""Subscriptions over Server-Sent Events on `/graphql`: GraphQL over SSE, "distinct connections"
mode. A request (GET with the parameters in the URL, or POST with them as JSON) that accepts
`text/event-stream` gets one subscription, streamed as `next` events and ended by `complete`.

Each `next` carries the cursor of the event it was made from as its SSE `id`: a browser's
`EventSource` that reconnects sends it back as `Last-Event-ID`, which the subscription then
resumes after (it stands for `after`). Comment lines keep the connection alive; at shutdown
the stream ends with `complete`. A request refused before it is subscribed gets a JSON error
(4xx), as for any GraphQL request. A browser session counts on POST only, with JSON and its
`X-Paved-CSRF` token, as for any request (`api.web_sessions`); it is checked again while
the subscription runs, and an ended session ends it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from api.authentication import principal_of
from api.http_requests import JSON, RequestError, error_body, read_params
from api.request_ids import request_id
from api.subscriptions import Running, Subscriber, Subscriptions, ends_stream

EVENT_STREAM = "text/event-stream"
_COMPLETE = b"event: complete\ndata:\n\n"
_KEEPALIVE = b": keep-alive\n\n"


def wants_event_stream(request: Request) -> bool:
    return EVENT_STREAM in request.headers.get("accept", "").lower()


async def graphql_sse(request: Request, subscriptions: Subscriptions, max_body: int) -> Response:
    client = request.client
    subscriber = Subscriber(
        principal_of(request),
        request.headers.get("authorization"),
        client.host if client else None,
        request_id=request_id(request),
        resume_after=request.headers.get("last-event-id") or None,
        session=getattr(request.state, "session", None),
        transport="sse",
    )
    try:
        params = await read_params(request, max_body)
        running = await subscriptions.start(params, subscriber)
    except RequestError as refused:
        return Response(
            error_body(refused.error),
            status_code=refused.status or 400,
            media_type=JSON,
            headers=refused.headers,
        )
    # The response starts once the subscription receives events: a client that sees it
    # misses nothing committed afterwards.
    try:
        first = await running.begin()
    except BaseException:
        await running.end(None)
        raise
    return StreamingResponse(
        _stream(running, first, subscriptions),
        media_type=EVENT_STREAM,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _next(sent: dict[str, Any], cursor: str | None) -> bytes:
    event_id = f"id: {cursor}\n".encode() if cursor else b""
    return b"event: next\n" + event_id + b"data: " + orjson.dumps(sent) + b"\n\n"


async def _stream(
    running: Running, first: asyncio.Future[dict[str, Any]], subscriptions: Subscriptions
) -> AsyncIterator[bytes]:
    async with subscriptions.transport():
        closing = asyncio.ensure_future(subscriptions.closing.wait())
        pending: asyncio.Future[dict[str, Any]] | None = first
        try:
            yield _KEEPALIVE  # the stream is open: clients see it at once
            while True:
                if pending is None:
                    pending = asyncio.ensure_future(anext(running.results))
                done, _ = await asyncio.wait(
                    (pending, closing),
                    timeout=subscriptions.keepalive_seconds,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if pending in done:
                    finished, pending = pending, None
                    try:
                        sent = finished.result()
                    except StopAsyncIteration:
                        break
                    yield _next(sent, running.stream.last_cursor)
                    if ends_stream(sent):
                        break
                elif closing in done:
                    break
                else:
                    yield _KEEPALIVE
            yield _COMPLETE
        finally:
            closing.cancel()
            await running.end(pending)
