"""A provider call, observed: its span, the W3C trace context the provider receives with the
HTTP request, its count and duration by kind, operation and outcome; and nothing added to
the request when tracing is off."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from api.observability.metrics import Metrics
from api.observability.provider_calls import ProviderCalls
from api.observability.tracing import Tracing
from domain.deployments.model import DeploymentKind, DeploymentState, DeployRequest, ProviderError
from providers.deployers.webhook import WebhookDeployer
from tests.support.clock import FakeClock
from tests.support.deployer_fakes.policy import LOOPBACK
from tests.support.deployer_fakes.receiver import Reply, WebhookReceiver, running_receiver

SECRET_ENV = "PAVED_SECRET_TRACED_HOOK"
REQUEST = DeployRequest(7, "payments", "production", "1.2.3", "f00dcafe", DeploymentKind.DEPLOY)

pytestmark = pytest.mark.usefixtures("retries_without_waiting")


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[WebhookReceiver]:
    secret = "whsec_" + secrets.token_hex(16)
    monkeypatch.setenv(SECRET_ENV, secret)
    with running_receiver(secret) as receiver:
        yield receiver


def webhook(receiver: WebhookReceiver) -> WebhookDeployer:
    return WebhookDeployer(
        {"url": f"{receiver.url}/deploy", "secretEnv": SECRET_ENV},
        backoff_seconds=0.01,
        clock=FakeClock(time.time()),
        policy=LOOPBACK,
    )


def count(metrics: Metrics, operation: str, outcome: str) -> float:
    found = metrics.registry.get_sample_value(
        "paved_provider_calls_total",
        {"kind": "webhook", "operation": operation, "outcome": outcome},
    )
    return found or 0.0


async def test_the_provider_receives_the_calls_span_as_traceparent(
    receiver: WebhookReceiver,
) -> None:
    exporter = InMemorySpanExporter()
    tracing = Tracing.build("test", exporter)
    assert tracing is not None
    metrics = Metrics()
    deployer = ProviderCalls(metrics.provider_call, tracing.tracer).deployer(webhook(receiver))

    with tracing.tracer.start_as_current_span("request") as request_span:
        update = await deployer.start(REQUEST)
    assert update.state is DeploymentState.IN_PROGRESS

    [received] = receiver.requests
    assert received.signature_valid
    version, trace_id, parent_id, flags = received.headers["traceparent"].split("-")
    [call, request] = exporter.get_finished_spans()
    assert call.name == "provider deploy.start"
    assert call.attributes == {
        "paved.provider.kind": "webhook",
        "paved.provider.operation": "deploy.start",
    }
    assert call.parent is not None
    assert call.parent.span_id == request.context.span_id
    assert version == "00"
    assert int(flags, 16) & 1  # sampled
    assert trace_id == format(request_span.get_span_context().trace_id, "032x")
    assert parent_id == format(call.context.span_id, "016x")
    assert count(metrics, "deploy.start", "ok") == 1
    assert (
        metrics.registry.get_sample_value(
            "paved_provider_call_duration_seconds_count",
            {"kind": "webhook", "operation": "deploy.start"},
        )
        == 1
    )
    tracing.shutdown()


async def test_a_refusal_is_a_provider_error_and_without_tracing_nothing_is_added(
    receiver: WebhookReceiver,
) -> None:
    metrics = Metrics()
    deployer = ProviderCalls(metrics.provider_call, None).deployer(webhook(receiver))
    receiver.script.append(Reply(422, {"message": "no"}))
    with pytest.raises(ProviderError):
        await deployer.start(REQUEST)
    assert count(metrics, "deploy.start", "provider_error") == 1
    assert all("traceparent" not in received.headers for received in receiver.requests)
    assert deployer.kind == "webhook"
