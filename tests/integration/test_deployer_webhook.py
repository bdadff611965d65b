"""The webhook provider against a real receiver on 127.0.0.1, and its signature helper."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from domain.deployments.model import (
    DeploymentKind,
    DeploymentState,
    DeployRequest,
    InvalidProviderSettings,
    ProviderError,
    ProviderUpdate,
)
from providers.deployers.registry import validate_settings
from providers.deployers.signatures import sign, verify_signature
from providers.deployers.webhook import TIMED_OUT, UNKNOWN, WebhookDeployer
from tests.support.clock import FakeClock
from tests.support.deployer_fakes.policy import LOOPBACK
from tests.support.deployer_fakes.receiver import Reply, WebhookReceiver, running_receiver
from tests.support.network import free_port

SECRET_ENV = "PAVED_SECRET_TEST_HOOK"
REQUEST = DeployRequest(42, "payments", "production", "1.2.3", "f00dcafe", DeploymentKind.PROMOTION)


pytestmark = pytest.mark.usefixtures("retries_without_waiting")


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> str:
    value = "whsec_" + secrets.token_hex(16)
    monkeypatch.setenv(SECRET_ENV, value)
    return value


@pytest.fixture
def receiver(secret: str) -> Iterator[WebhookReceiver]:
    with running_receiver(secret) as receiver:
        yield receiver


def webhook(
    receiver: WebhookReceiver, clock: FakeClock | None = None, **settings: object
) -> WebhookDeployer:
    return WebhookDeployer(
        {"url": f"{receiver.url}/deploy", "secretEnv": SECRET_ENV, **settings},
        backoff_seconds=0.01,
        clock=clock or FakeClock(time.time()),
        policy=LOOPBACK,
    )


async def test_start_posts_a_signed_json_request(receiver: WebhookReceiver) -> None:
    deployer = webhook(receiver, callbackUrl="https://paved.example.com/graphql")
    update = await deployer.start(REQUEST)
    assert (update.state, update.external_id) == (DeploymentState.IN_PROGRESS, "rcv-42")
    [received] = receiver.requests
    assert received.path == "/deploy"
    assert received.signature_valid
    assert received.headers["idempotency-key"] == "deployment-42"
    assert received.headers["content-type"] == "application/json"
    assert received.json == {
        "deploymentId": 42,
        "service": "payments",
        "environment": "production",
        "version": "1.2.3",
        "commitSha": "f00dcafe",
        "kind": "PROMOTION",
        "rollbackToExternalId": None,
        "callback": {
            "mutation": "reportDeploymentStatus",
            "deploymentId": 42,
            "url": "https://paved.example.com/graphql",
        },
    }


async def test_the_signature_covers_timestamp_and_body(
    receiver: WebhookReceiver, secret: str
) -> None:
    second = int(time.time())
    clock = FakeClock(second + 0.7)
    deployer = WebhookDeployer(
        {"url": f"{receiver.url}/deploy", "secretEnv": SECRET_ENV}, clock=clock, policy=LOOPBACK
    )
    await deployer.start(REQUEST)
    [received] = receiver.requests
    timestamp = received.headers["x-paved-timestamp"]
    assert timestamp == str(second)
    assert received.headers["x-paved-signature"] == sign(secret, timestamp, received.body)


async def test_an_answer_without_a_body_is_queued(receiver: WebhookReceiver) -> None:
    receiver.script.append(Reply(202))
    update = await webhook(receiver).start(REQUEST)
    assert (update.state, update.external_id) == (DeploymentState.QUEUED, None)


async def test_the_receivers_id_urls_and_message_are_kept(receiver: WebhookReceiver) -> None:
    answer = {
        "externalId": 991,
        "status": "queued",
        "url": "https://ci/1",
        "logUrl": "https://ci/1/log",
    }
    receiver.script.append(Reply(201, answer))
    update = await webhook(receiver).start(REQUEST)
    assert update.state is DeploymentState.QUEUED
    assert (update.external_id, update.raw_status) == ("991", "queued")
    assert (update.url, update.log_url) == ("https://ci/1", "https://ci/1/log")


async def test_5xx_is_retried_with_the_same_idempotency_key(receiver: WebhookReceiver) -> None:
    receiver.script.extend([Reply(500), Reply(503)])
    update = await webhook(receiver).start(REQUEST)
    assert update.external_id == "rcv-42"
    assert len(receiver.requests) == 3
    assert {r.headers["idempotency-key"] for r in receiver.requests} == {"deployment-42"}
    assert all(r.signature_valid for r in receiver.requests)


async def test_a_timeout_is_retried(receiver: WebhookReceiver) -> None:
    receiver.script.append(Reply(200, {"id": "late"}, delay=0.5))
    update = await webhook(receiver, timeoutSeconds=0.2).start(REQUEST)
    assert update.external_id == "rcv-42"
    assert len(receiver.requests) == 2


async def test_it_gives_up_after_three_attempts(
    receiver: WebhookReceiver, secret: str, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.script.extend([Reply(502), Reply(200, {}, delay=0.5), Reply(503), Reply(200)])
    with caplog.at_level(logging.DEBUG), pytest.raises(ProviderError) as raised:
        await webhook(receiver, timeoutSeconds=0.2).start(REQUEST)
    assert len(receiver.requests) == 3
    assert raised.value.message == (
        f"webhook receiver {receiver.url} failed after 3 attempts: HTTP 503 Service Unavailable"
    )
    assert "attempt 2/3: no answer within 0.2 s" in caplog.text
    assert secret not in caplog.text


async def test_a_4xx_is_final_and_told_by_its_status_only(
    receiver: WebhookReceiver, secret: str
) -> None:
    receiver.script.append(Reply(422, {"message": f"unknown service; your key is {secret}"}))
    with pytest.raises(ProviderError) as raised:
        await webhook(receiver).start(REQUEST)
    assert len(receiver.requests) == 1
    assert raised.value.message == (
        f"webhook receiver {receiver.url} refused the request: HTTP 422 Unprocessable Entity"
    )
    assert "unknown service" not in repr(raised.value)
    assert secret not in repr(raised.value)


async def test_an_unreachable_receiver_fails_with_a_provider_error(secret: str) -> None:
    port = free_port()
    deployer = WebhookDeployer(
        {"url": f"http://127.0.0.1:{port}/hook?token=t0ps3cret", "secretEnv": SECRET_ENV},
        backoff_seconds=0.01,
        policy=LOOPBACK,
    )
    with pytest.raises(ProviderError) as raised:
        await deployer.start(REQUEST)
    assert raised.value.message.startswith(
        f"webhook receiver http://127.0.0.1:{port} failed after 3 attempts: connection failed"
    )
    assert "t0ps3cret" not in repr(deployer)


async def test_a_missing_secret_sends_nothing(
    receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SECRET_ENV)
    with pytest.raises(ProviderError) as raised:
        await webhook(receiver).start(REQUEST)
    assert raised.value.message == f"webhook secret: environment variable {SECRET_ENV} is not set"
    assert receiver.requests == []


async def test_the_secret_is_read_at_each_call(
    receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployer = webhook(receiver)
    rotated = "whsec_" + secrets.token_hex(16)
    monkeypatch.setenv(SECRET_ENV, rotated)
    receiver.secret = rotated
    await deployer.start(REQUEST)
    assert receiver.requests[0].signature_valid
    assert rotated not in repr(vars(deployer))


async def test_poll_answers_what_is_known(receiver: WebhookReceiver) -> None:
    deployer = webhook(receiver)
    unknown = await deployer.poll(REQUEST, "rcv-42")
    assert (unknown.state, unknown.raw_status) == (DeploymentState.QUEUED, UNKNOWN)
    started = await deployer.start(REQUEST)
    polled = await deployer.poll(REQUEST, "rcv-42")
    assert started.raw_status is not None
    # The state it is in, without the start's words: the receiver's own reports (stored
    # through the API) say more, and a poll must not overwrite them.
    assert (polled.state, polled.raw_status, polled.message) == (
        DeploymentState.IN_PROGRESS, None, None,
    )  # fmt: skip
    for deployment_id, update in receiver.take_reports():
        deployer.record_report(deployment_id, update)
    done = await deployer.poll(REQUEST, "rcv-42")
    assert (done.state, done.external_id) == (DeploymentState.SUCCEEDED, "rcv-42")
    assert receiver.requests[1:] == []


async def test_a_receiver_that_never_reports_fails_after_report_timeout_seconds(
    receiver: WebhookReceiver,
) -> None:
    clock = FakeClock(time.time())
    deployer = webhook(receiver, clock)
    started = await deployer.start(REQUEST)
    clock.advance(3599)
    assert (await deployer.poll(REQUEST, started.external_id)).state is (
        DeploymentState.IN_PROGRESS
    )
    clock.advance(1)
    failed = await deployer.poll(REQUEST, started.external_id)
    assert failed == ProviderUpdate(
        DeploymentState.FAILED,
        TIMED_OUT,
        "no final status report from the receiver within 3600 s",
        "rcv-42",
    )
    # a report arriving after that changes nothing: the outcome stays
    deployer.record_report(42, ProviderUpdate(DeploymentState.SUCCEEDED, "SUCCEEDED"))
    assert await deployer.poll(REQUEST, started.external_id) == failed
    assert len(receiver.requests) == 1


async def test_a_final_report_in_time_is_kept_after_the_timeout(
    receiver: WebhookReceiver,
) -> None:
    clock = FakeClock(time.time())
    deployer = webhook(receiver, clock, reportTimeoutSeconds=60)
    await deployer.start(REQUEST)
    clock.advance(59)
    for deployment_id, update in receiver.take_reports():
        deployer.record_report(deployment_id, update)
    clock.advance(3600)
    assert (await deployer.poll(REQUEST, "rcv-42")).state is DeploymentState.SUCCEEDED


async def test_the_timeout_counts_from_the_requests_start_after_a_restart(
    receiver: WebhookReceiver,
) -> None:
    clock = FakeClock(float(int(time.time())))  # whole seconds: datetimes keep microseconds
    restarted = webhook(receiver, clock, reportTimeoutSeconds=600)
    started_at = datetime.fromtimestamp(clock.now - 599, UTC)
    request = replace(REQUEST, started_at=started_at)
    waiting = await restarted.poll(request, "rcv-42")
    assert (waiting.state, waiting.raw_status) == (DeploymentState.QUEUED, UNKNOWN)
    clock.advance(1)
    failed = await restarted.poll(request, "rcv-42")
    assert (failed.state, failed.external_id) == (DeploymentState.FAILED, "rcv-42")
    assert failed.message == "no final status report from the receiver within 600 s"
    # without a start time, it counts from the first poll this process made
    fresh = webhook(receiver, clock, reportTimeoutSeconds=600)
    assert (await fresh.poll(REQUEST, "rcv-42")).state is DeploymentState.QUEUED
    clock.advance(600)
    assert (await fresh.poll(REQUEST, "rcv-42")).state is DeploymentState.FAILED


@pytest.mark.parametrize("value", [0, -5, "soon", 31 * 86_400])
def test_report_timeout_seconds_is_validated(value: object) -> None:
    settings = {"url": "https://deploy.example.com/hook", "secretEnv": "PAVED_SECRET_S"}
    with pytest.raises(InvalidProviderSettings) as raised:
        validate_settings("webhook", {**settings, "reportTimeoutSeconds": value})
    assert raised.value.setting == "reportTimeoutSeconds"
    validate_settings("webhook", {**settings, "reportTimeoutSeconds": 90})


async def test_cancel_posts_to_the_cancel_url(receiver: WebhookReceiver) -> None:
    deployer = webhook(receiver, cancelUrl=f"{receiver.url}/cancel")
    await deployer.start(REQUEST)
    canceled = await deployer.cancel(REQUEST, None)
    assert canceled.state is DeploymentState.CANCELED
    cancel = receiver.requests[1]
    assert (cancel.path, cancel.signature_valid) == ("/cancel", True)
    assert cancel.headers["idempotency-key"] == "deployment-42-cancel"
    assert cancel.json["externalId"] == "rcv-42"


def test_verify_signature() -> None:
    body = b'{"deploymentId":1}'
    header = sign("s3cret", "1000", body)
    assert header.startswith("sha256=")
    assert verify_signature("s3cret", "1000", body, header, tolerance_seconds=300, now=1200)
    assert verify_signature(b"s3cret", "1000", body, header, tolerance_seconds=300, now=700)
    for secret, timestamp, sent, signature, now in [
        ("other", "1000", body, header, 1000),
        ("s3cret", "1000", body + b" ", header, 1000),
        ("s3cret", "1001", body, header, 1000),
        ("s3cret", "1000", body, header, 1301),
        ("s3cret", "soon", body, header, 1000),
        ("s3cret", "1000", body, header.removeprefix("sha256="), 1000),
        ("s3cret", "1000", body, "sha256=00", 1000),
    ]:
        assert not verify_signature(
            secret, timestamp, sent, signature, tolerance_seconds=300, now=now
        )
