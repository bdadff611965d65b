"""Every HTTP request observed: its `RequestStats` current while it is answered, a server span
around it when tracing is on (continuing the client's `traceparent`), and once answered its
metrics and its log line. WebSocket connections pass through (their operations are not
requests of this kind); so does everything before start-up completed."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from opentelemetry import propagate
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.observability.logs import REQUESTS, log_request, trace_id
from api.observability.metrics import outcome_of
from api.observability.telemetry import Telemetry
from api.request_ids import assign_request_id
from domain.access.model import Principal
from resolvers.request_stats import RequestStats, current_stats

_NAMED_PATHS = frozenset({"/graphql", "/metrics", "/healthz", "/readyz"})
"""Paths that name a server span; others (portal pages, files) are named by method only."""
_LONGEST_OPERATION_NAME = 100


class ObserveRequests:
    def __init__(self, app: ASGIApp, telemetry: Callable[[], Telemetry | None]) -> None:
        self._app = app
        self._telemetry = telemetry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        telemetry = self._telemetry() if scope["type"] == "http" else None
        if telemetry is None:
            await self._app(scope, receive, send)
            return
        stats = RequestStats()
        reset = current_stats.set(stats)
        ids = assign_request_id(scope)  # fixed now: the endpoint's errors carry the same
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        span: AbstractContextManager[Any] = nullcontext()
        tracer = telemetry.tracer
        path: str = scope["path"]
        method: str = scope["method"]
        if tracer is not None:
            carrier = {
                key.decode("latin-1"): value.decode("latin-1")
                for key, value in scope["headers"]
                if key in (b"traceparent", b"tracestate")
            }
            span = tracer.start_as_current_span(
                f"{method} {path}" if path in _NAMED_PATHS else method,
                context=propagate.extract(carrier),
                kind=SpanKind.SERVER,
                attributes={"http.request.method": method, "url.path": path},
            )
        started = time.perf_counter()
        traced: str | None = None
        try:
            with span as current:
                try:
                    await self._app(scope, receive, sending)
                finally:
                    # asyncpg reports statements to the query logger with `call_soon`: let the
                    # reports of this request's last statements arrive (counted, and their
                    # spans ended) before the request's span ends and its statements are
                    # counted.
                    await asyncio.sleep(0)
                    traced = trace_id() if current is not None else None
                    if current is not None:
                        current.set_attribute("http.response.status_code", status)
                        if status >= 500:
                            current.set_status(Status(StatusCode.ERROR))
        finally:
            current_stats.reset(reset)
            seconds = time.perf_counter() - started
            if telemetry.metrics is not None:
                telemetry.metrics.observe_request(stats, seconds)
            if REQUESTS.isEnabledFor(logging.INFO):
                log_request(_fields(scope, ids, traced, status, stats, seconds))


def _fields(
    scope: Scope,
    ids: str,
    traced: str | None,
    status: int,
    stats: RequestStats,
    seconds: float,
) -> dict[str, Any]:
    principal = scope.get("state", {}).get("principal")
    graphql = stats.operation_type is not None or stats.failure is not None
    outcome, code = outcome_of(stats) if graphql else (None, None)
    name = stats.operation_name
    return {
        "request_id": ids,
        "trace_id": traced,
        "method": scope["method"],
        "path": scope["path"],  # never the query string: it may carry a code or a state
        "status": status,
        "actor_kind": principal.kind.value if isinstance(principal, Principal) else None,
        "actor_id": principal.actor_id if isinstance(principal, Principal) else None,
        "operation": name[:_LONGEST_OPERATION_NAME] if name else None,
        "operation_type": stats.operation_type,
        "read_path": stats.read_path,
        "outcome": outcome,
        "code": code or None,
        "duration_ms": round(seconds * 1000, 3),
        "sql": stats.statements,
    }
