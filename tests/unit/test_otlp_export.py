"""With `OTEL_EXPORTER_OTLP_ENDPOINT` set, spans reach the collector over OTLP/HTTP (protobuf
to `<endpoint>/v1/traces`), named by `OTEL_SERVICE_NAME`; without it no tracer provider
exists at all."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from api.observability.telemetry import Telemetry
from api.observability.tracing import Tracing
from api.settings import Settings
from tests.support.deployer_fakes.local_server import FakeServer, serving


@dataclass
class Collector:
    received: list[tuple[str, str, bytes]] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    server: FakeServer[Collector]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.fake.received.append((self.path, self.headers.get("Content-Type", ""), body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


def test_spans_are_exported_to_the_collector_named_by_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    collector = Collector()
    server = FakeServer(_Handler, collector)
    with serving(server):
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{server.port}")
        monkeypatch.setenv("OTEL_SERVICE_NAME", "paved-test")
        tracing = Tracing.build("9.9.9")
        assert tracing is not None
        with tracing.tracer.start_as_current_span("POST /graphql"):
            pass
        tracing.shutdown()  # flushes the batch
    [(path, content_type, body)] = collector.received
    assert path == "/v1/traces"
    assert content_type == "application/x-protobuf"
    exported = ExportTraceServiceRequest.FromString(body)
    [resource_spans] = exported.resource_spans
    attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert attributes["service.name"] == "paved-test"
    assert attributes["service.version"] == "9.9.9"
    [span] = resource_spans.scope_spans[0].spans
    assert span.name == "POST /graphql"


def test_without_an_endpoint_there_is_no_tracer(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("OTEL_"):
            monkeypatch.delenv(name)
    telemetry = Telemetry.build(Settings())
    assert telemetry.tracing is None
    assert telemetry.tracer is None
    assert telemetry.provider_calls() is not None  # metrics still count provider calls
    assert Telemetry.build(Settings(metrics=False)).provider_calls() is None
