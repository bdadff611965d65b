"""The audit sealer: a background job that seals committed audit records into the hash chain
shortly after they commit, and announces the chain's head outside the database.

Every process runs one (started and stopped with the app); at most one seals at a time (the
others find the sealers' lock taken and try again at their next look), so a replica's crash
costs nothing: what it left unsealed is sealed by the next look of any process, its own after a
restart. Each look is one cheap query when there is nothing to seal. The head is logged as
`audit seal SEQ:HASH[:SIG]` (signed with `PAVED_AUDIT_SEAL_KEY` when set) at most once per
`announce_seconds`, and once more on stopping: kept by the log pipeline, it is what
`paved audit verify --expect-head` checks a later chain against.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from domain.audit.ports import AuditLog
from domain.audit.seals import SealHead, seal_line
from domain.background import start_background

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


class AuditSealer:
    def __init__(
        self,
        audit: AuditLog,
        *,
        poll_seconds: float = 0.5,
        batch_size: int = 1000,
        key: bytes | None = None,
        announce_seconds: float = 1.0,
        observe_lag: Callable[[float], None] | None = None,
        observe_head: Callable[[SealHead], None] | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`observe_lag`: each sealed record's wait from append to seal, in seconds;
        `observe_head`: the head after each sealing."""
        self._audit = audit
        self._poll = poll_seconds
        self._batch = batch_size
        self._key = key
        self._announce_every = announce_seconds
        self._observe_lag = observe_lag
        self._observe_head = observe_head
        self._sleep = sleep
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self.head: SealHead | None = None
        """The newest head this process sealed."""
        self._announced: int | None = None
        self._announced_at = float("-inf")

    async def seal_pending(self) -> int:
        """Seal until nothing is left or another sealer is at work; how many."""
        sealed = 0
        while True:
            batch = await self._audit.seal(self._batch)
            if batch is None or batch.sealed == 0:
                return sealed
            sealed += batch.sealed
            if self._observe_lag is not None:
                for lag in batch.lags:
                    self._observe_lag(lag)
            if batch.head is not None:
                self.head = batch.head
                if self._observe_head is not None:
                    self._observe_head(batch.head)
            if batch.sealed < self._batch:
                return sealed

    def announce(self, *, now: bool = False) -> None:
        """Log the head if it moved, unless one was logged less than `announce_seconds` ago."""
        head = self.head
        if head is None or head.seq == self._announced:
            return
        if not now and self._clock() - self._announced_at < self._announce_every:
            return
        at = "" if head.at is None else f" at {head.at.isoformat()}"
        log.info("audit seal %s%s", seal_line(head, self._key), at)
        self._announced, self._announced_at = head.seq, self._clock()

    def start(self) -> None:
        if self._task is None:
            self._task = start_background(self._run(), "audit-sealer")

    async def stop(self, final_seconds: float = 2.0) -> None:
        """Stop looking; seal what is left (for at most `final_seconds`), announce the head."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        try:
            async with asyncio.timeout(final_seconds):
                await self.seal_pending()
        except Exception as error:
            log.warning("the last audit sealing failed: %s: %s", type(error).__name__, error)
        self.announce(now=True)

    async def _run(self) -> None:
        while True:
            pause = self._poll
            try:
                await self.seal_pending()
            except Exception as error:
                log.warning("sealing audit records failed: %s: %s", type(error).__name__, error)
                pause = max(pause, 1.0)  # a database outage: no warning every tenth of a second
            self.announce()
            await self._sleep(pause)
