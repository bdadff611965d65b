"""The adapters' one retry policy (`providers/deployers/retries.py`), carried out by stamina."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import stamina
from stamina.instrumentation import RetryDetails, set_on_retry_hooks

from domain.deployments.model import ProviderError
from providers.deployers.retries import (
    MAX_ATTEMPTS,
    Backoff,
    TransientFailure,
    call_with_retries,
    is_transient_status,
)
from tests.support.deployer_fakes.retries import instant_retries


class Flaky:
    """Fails with the given errors, one per call, then answers "done"."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


@pytest.fixture
def instant() -> Iterator[None]:
    with instant_retries():
        yield


@pytest.fixture
def waits() -> Iterator[list[float]]:
    """The waits stamina schedules, with real (small) sleeps."""
    scheduled: list[float] = []

    def record(details: RetryDetails) -> None:
        scheduled.append(details.wait_for)

    set_on_retry_hooks([record])
    try:
        with stamina.set_testing(False):
            yield scheduled
    finally:
        set_on_retry_hooks(None)


@pytest.mark.usefixtures("instant")
async def test_an_idempotent_call_is_tried_again_on_transient_failures() -> None:
    call = Flaky(TransientFailure("HTTP 503"), TransientFailure("no answer within 1 s"))
    answer = await call_with_retries(call, what="GET thing", idempotent=True, backoff=Backoff())
    assert (answer, call.calls) == ("done", 3)


@pytest.mark.usefixtures("instant")
async def test_it_gives_up_after_three_attempts_naming_the_last_problem(
    caplog: pytest.LogCaptureFixture,
) -> None:
    call = Flaky(*(TransientFailure(f"HTTP 50{n}") for n in range(5)))
    with caplog.at_level(logging.WARNING), pytest.raises(ProviderError) as raised:
        await call_with_retries(call, what="GET thing", idempotent=True, backoff=Backoff())
    assert call.calls == MAX_ATTEMPTS == 3
    assert raised.value.message == "GET thing failed after 3 attempts: HTTP 502"
    assert "GET thing attempt 2/3: HTTP 501" in caplog.text


@pytest.mark.usefixtures("instant")
async def test_a_call_that_is_not_idempotent_is_tried_once() -> None:
    call = Flaky(TransientFailure("HTTP 503"))
    with pytest.raises(ProviderError) as raised:
        await call_with_retries(call, what="PATCH thing", idempotent=False, backoff=Backoff())
    assert call.calls == 1
    assert raised.value.message == "PATCH thing failed: HTTP 503"


@pytest.mark.usefixtures("instant")
async def test_other_errors_end_the_call_at_once() -> None:
    call = Flaky(ProviderError("refused: HTTP 403"))
    with pytest.raises(ProviderError, match="refused: HTTP 403"):
        await call_with_retries(call, what="GET thing", idempotent=True, backoff=Backoff())
    assert call.calls == 1


async def test_waits_grow_exponentially_with_jitter(waits: list[float]) -> None:
    call = Flaky(TransientFailure("HTTP 500"), TransientFailure("HTTP 500"))
    backoff = Backoff(first_wait=0.01, jitter=0.005)
    await call_with_retries(call, what="GET thing", idempotent=True, backoff=backoff)
    first, second = waits
    assert 0.01 <= first <= 0.015
    assert 0.02 <= second <= 0.025


async def test_waits_stop_growing_at_the_maximum(waits: list[float]) -> None:
    call = Flaky(TransientFailure("HTTP 500"), TransientFailure("HTTP 500"))
    backoff = Backoff(first_wait=0.01, max_wait=0.012, jitter=0.0)
    await call_with_retries(call, what="GET thing", idempotent=True, backoff=backoff)
    assert waits == pytest.approx([0.01, 0.012])


def test_transient_statuses() -> None:
    statuses = (200, 400, 404, 408, 409, 429, 500, 502, 503)
    transient = [status for status in statuses if is_transient_status(status)]
    assert transient == [408, 429, 500, 502, 503]
