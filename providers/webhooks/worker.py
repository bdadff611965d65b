"""The delivery worker: one per process, any number of processes on one database.

Each round it turns new outbox events into deliveries (`PostgresWebhookQueue.dispatch`),
claims the due ones under a lease, sends them at once (up to `batch` in flight) and records
each outcome. It sleeps `poll_seconds` only when a round found nothing to do (`RECHECK_SECONDS`
when committed events were not readable yet, an older transaction still running). `stop()` ends
the round in flight and gives the leases back, so another process sends them at once; a
process killed without stopping leaves leases that expire after `lease_seconds`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass

import orjson

from domain.background import start_background
from domain.webhooks.backoff import retry_delay
from domain.webhooks.model import Attempt
from domain.webhooks.payload import event_message, global_id
from providers.postgres.webhook_queue import Claim, EventToSend, Limits, PostgresWebhookQueue
from providers.webhooks.sender import WebhookSender

log = logging.getLogger(__name__)

RECHECK_SECONDS = 0.1
DISPATCH_BATCH = 500
"""Events a dispatch round reads at most: a round that reads fewer has caught up."""


@dataclass(frozen=True, slots=True)
class WorkerTimings:
    poll_seconds: float = 1.0
    lease_seconds: float = 30.0
    backoff_scale: float = 1.0
    """Multiplies the retry schedule (`domain.webhooks.backoff`); tests shorten it."""
    batch: int = 32


def worker_name() -> str:
    """This worker in `leased_by`: host, process id and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class WebhookWorker:
    def __init__(
        self,
        queue: PostgresWebhookQueue,
        sender: WebhookSender,
        limits: Limits,
        timings: WorkerTimings = WorkerTimings(),
        *,
        delay: Callable[[int], float] | None = None,
    ) -> None:
        self._queue = queue
        self._sender = sender
        self._limits = limits
        self._timings = timings
        self._delay = delay or (lambda made: retry_delay(made, scale=timings.backoff_scale))
        self.name = worker_name()
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._waiting = False

    def start(self) -> None:
        if self._task is None:
            self._task = start_background(self._loop(), "webhook-deliveries")

    def wake(self) -> None:
        """Start the next round now instead of after the poll interval."""
        self._wake.set()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        try:
            released = await self._queue.release(self.name)
        except Exception:
            log.exception("could not release the webhook delivery leases of %s", self.name)
        else:
            if released:
                log.info("released %d webhook deliveries in flight", released)

    async def run_once(self) -> int:
        """One round: dispatch everything new, then send what is due (at most `batch`);
        how many deliveries were attempted."""
        while (dispatched := await self._queue.dispatch(DISPATCH_BATCH)).read >= DISPATCH_BATCH:
            pass
        self._waiting = dispatched.waiting
        claims = await self._queue.claim(
            self.name, self._timings.lease_seconds, self._timings.batch
        )
        if not claims:
            return 0
        events = await self._queue.events(sorted({claim.event_id for claim in claims}))
        await asyncio.gather(
            *(self._deliver(claim, events.get(claim.event_id)) for claim in claims)
        )
        return len(claims)

    async def _loop(self) -> None:
        while True:
            # Cleared before the round: a wake-up while it runs (an event committed after
            # its dispatch read) brings the next round at once.
            self._wake.clear()
            try:
                attempted = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("webhook delivery round failed")
                attempted = 0
            if attempted < self._timings.batch:
                with contextlib.suppress(TimeoutError):
                    pause = self._timings.poll_seconds
                    async with asyncio.timeout(
                        min(pause, RECHECK_SECONDS) if self._waiting else pause
                    ):
                        await self._wake.wait()

    async def _deliver(self, claim: Claim, to_send: EventToSend | None) -> None:
        if to_send is None:  # pruned since: nothing left to send
            attempt = Attempt(None, 0, None, "the event no longer exists")
        else:
            body = orjson.dumps(event_message(to_send.event, to_send.references))
            attempt = await self._sender.send(
                claim.url, global_id("Event", to_send.event.id), body, claim.secrets
            )
        retry_in = self._delay(claim.attempts_made + 1)
        state = await self._queue.record(claim, self.name, attempt, self._limits, retry_in)
        log.debug("webhook delivery %d: %s (%s)", claim.delivery_id, state, attempt.error)
