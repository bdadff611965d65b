"""OpenTelemetry traces: on when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, or when a test hands in an exporter; off
otherwise, and then nothing of the SDK is even imported: every hook checks `tracer is None`.

The SDK reads the other standard variables itself: `OTEL_SERVICE_NAME`,
`OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER(_ARG)`, `OTEL_EXPORTER_OTLP_HEADERS`,
`..._TIMEOUT`, `..._COMPRESSION`, `OTEL_BSP_*`; `OTEL_SDK_DISABLED=true` or
`OTEL_TRACES_EXPORTER=none` turn tracing off. The tracer provider is this app's own (not the
global one), shut down (its spans flushed) with the app.

Spans: one per HTTP request (`api/observability/middleware.py`, continuing an incoming
`traceparent`), one per GraphQL operation (`api/graphql_http.py`), one per SQL statement of
a traced request (from asyncpg's query logger, `statement_span`), one per provider call
(`api/observability/provider_calls.py`), whose HTTP requests carry `traceparent`
(`providers/outbound/http.py`)."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

SERVICE_NAME = "paved-road"
_ENDPOINTS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
_LONGEST_STATEMENT = 2_000


def wanted(environ: Mapping[str, str]) -> bool:
    """Whether the environment asks for traces to be exported."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return False
    return any(environ.get(name, "").strip() for name in _ENDPOINTS)


class Tracing:
    """This app's tracer provider and its tracer."""

    def __init__(self, provider: TracerProvider) -> None:
        self.provider = provider
        self.tracer: Tracer = provider.get_tracer("paved-road")

    @classmethod
    def build(
        cls,
        version: str,
        exporter: SpanExporter | None = None,
        environ: Mapping[str, str] = os.environ,
    ) -> Tracing | None:
        """None (tracing off) unless `exporter` is given (spans exported as they end) or the
        environment names an OTLP endpoint (spans exported in batches over OTLP/HTTP)."""
        if exporter is None and not wanted(environ):
            return None
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

        attributes: dict[str, str] = {"service.version": version}
        if not environ.get("OTEL_SERVICE_NAME"):
            attributes["service.name"] = SERVICE_NAME
        provider = TracerProvider(resource=Resource.create(attributes))
        processor: SpanProcessor
        if exporter is not None:
            processor = SimpleSpanProcessor(exporter)
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            processor = BatchSpanProcessor(OTLPSpanExporter())
        provider.add_span_processor(processor)
        return cls(provider)

    def statement_span(self, logged: Any) -> None:
        """An asyncpg query logger: a span for a statement run while a span is current (a
        traced request or provider call; background statements make no root spans), from its
        end (now: asyncpg calls loggers soon after) back over its elapsed time."""
        parent = trace.get_current_span()
        if not parent.get_span_context().is_valid:
            return
        end = time.time_ns()
        query: str = logged.query
        words = query.lstrip().split(None, 1)
        operation = words[0].upper() if words else "SQL"
        span = self.tracer.start_span(
            f"{operation} postgresql",
            kind=SpanKind.CLIENT,
            start_time=end - int(logged.elapsed * 1e9),
            attributes={
                "db.system.name": "postgresql",
                "db.operation.name": operation,
                "db.query.text": query[:_LONGEST_STATEMENT],
            },
        )
        if logged.exception is not None:
            span.set_status(Status(StatusCode.ERROR, type(logged.exception).__name__))
        span.end(end_time=end)

    def shutdown(self) -> None:
        self.provider.shutdown()
