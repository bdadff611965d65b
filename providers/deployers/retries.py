"""How the adapters try a provider call again: one policy, carried out by `stamina`.

Only idempotent calls are retried (GETs, and webhook POSTs carrying an `Idempotency-Key`): at
most `MAX_ATTEMPTS` attempts, waiting between them exponentially longer (`first_wait`, then
twice that...; at most `max_wait`) plus a random jitter of up to `jitter`. A call is tried again
only when it raised `TransientFailure` (no connection, no answer in time, HTTP 408, 429 or 5xx,
as the adapter judges); any other error, and every failure of a call that is not idempotent,
ends it at once. Whoever runs the call still bounds it with a deadline.

Tests make the waits instant with `stamina.set_testing(True, attempts=MAX_ATTEMPTS, cap=True)`
(the attempt counts stay the policy's) or a small `first_wait`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, TypeVar

import stamina

from domain.deployments.model import ProviderError, ProviderUnreachable
from providers.deployers.http_errors import http_status
from providers.outbound.addresses import RefusedAddress

MAX_ATTEMPTS: Final = 3
RETRIED_STATUSES: Final = frozenset({408, 429})

T = TypeVar("T")
logger = logging.getLogger(__name__)


class TransientFailure(Exception):
    """A failure that may pass if the call is tried again; `problem` is safe to show."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem

    @classmethod
    def no_answer(cls, within: float) -> TransientFailure:
        return cls(f"no answer within {within:g} s")

    @classmethod
    def connection_failed(cls, error: Exception) -> TransientFailure:
        return cls(f"connection failed ({type(error).__name__})")


def is_transient_status(status: int) -> bool:
    """HTTP statuses worth another attempt: 408, 429 and 5xx."""
    return status >= 500 or status in RETRIED_STATUSES


def status_failure(status: int, refused: Callable[[int], ProviderError]) -> Exception:
    """What an answer with a status other than 2xx fails with: a `TransientFailure` (tried
    again) for 408, 429 and 5xx, else `refused(status)`. Told by the status only."""
    if is_transient_status(status):
        return TransientFailure(http_status(status))
    return refused(status)


@dataclass(frozen=True, slots=True)
class Backoff:
    """The waits between attempts, in seconds."""

    first_wait: float = 0.5
    max_wait: float = 5.0
    jitter: float | None = None
    """Up to this much is added to each wait at random; by default `first_wait`."""


async def call_with_retries(
    call: Callable[[], Awaitable[T]], *, what: str, idempotent: bool, backoff: Backoff
) -> T:
    """`call()`'s answer; tried again on `TransientFailure` when `idempotent`. When every
    attempt fails: `ProviderError("<what> failed[ after N attempts]: <last problem>")`. A
    host the address rule refuses (`RefusedAddress`) is never tried again:
    `ProviderError("<what>: not connecting: <why>")`."""
    attempts = MAX_ATTEMPTS if idempotent else 1
    tried = 0
    try:
        async for attempt in stamina.retry_context(
            on=TransientFailure,
            attempts=attempts,
            timeout=None,
            wait_initial=backoff.first_wait,
            wait_max=backoff.max_wait,
            wait_jitter=backoff.first_wait if backoff.jitter is None else backoff.jitter,
        ):
            with attempt:
                tried = attempt.num
                try:
                    return await call()
                except TransientFailure as failure:
                    logger.warning("%s attempt %d/%d: %s", what, tried, attempts, failure.problem)
                    raise
                except RefusedAddress as refused:
                    raise ProviderError(f"{what}: not connecting: {refused}") from None
    except TransientFailure as failure:
        after = f" after {tried} attempts" if tried > 1 else ""
        raise ProviderUnreachable(f"{what} failed{after}: {failure.problem}") from None
    raise AssertionError("stamina.retry_context ended without an attempt")  # pragma: no cover
