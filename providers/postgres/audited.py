"""One transaction per change, with the change's audit record, events and idempotency key
inside it.

The catalog writer, the access store and the deployment store all run their changes through
this, so an accepted change and its audit record commit together or not at all.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from typing import Self, TypeVar

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from domain.audit.model import AuditEntry, ClaimingEntry
from domain.audit.ports import AuditLog
from domain.events.model import EventDraft
from providers.postgres import idempotency, outbox
from providers.postgres.audit_log import (
    INSERT_FOR_EACH,
    INSERT_VALUES,
    PostgresAuditLog,
    insert_arguments,
)
from providers.postgres.event_notices import EventNotices, announce
from providers.postgres.write_batches import WriteBatches

T = TypeVar("T")

_RECORDED = INSERT_VALUES.format(*(f"${n}" for n in range(1, 13)))
# The audit record ($1..$12, `insert_arguments`) and the events after it: one round trip.
_RECORDED_WITH_EVENTS = {
    one: f"WITH recorded AS ({_RECORDED}), " + outbox.events_from(13, one) for one in (True, False)
}
Connection = asyncpg.Connection | PoolConnectionProxy


def _always(_: object) -> bool:
    return True


@functools.lru_cache(maxsize=256)
def _alone_statement(changes: str, first: int, owner: str | None, one: bool) -> str:
    """`insert_alone`'s statement: the same few texts again and again, made once each."""
    recorded = INSERT_FOR_EACH.format(*(f"${n}" for n in range(first, first + 12)), "changed")
    return f"WITH {changes}, recorded AS ({recorded}), " + outbox.events_with_new_row(
        first + 12, "changed", owner, one
    )


class AuditedTransactions:
    def __init__(
        self,
        pool: asyncpg.Pool,
        audit_log: AuditLog | None = None,
        entry: AuditEntry | None = None,
        *,
        batches: WriteBatches | None = None,
        notices: EventNotices | None = None,
    ) -> None:
        """`batches`: where `insert_alone` statements go, to be committed with others sent
        meanwhile (None: each runs on its own). `notices`: what wakes the event listeners
        after a change that wrote events has committed (None: a wake-up sent at once, on the
        change's connection)."""
        self.pool = pool
        self._audit_log = audit_log
        self._entry = entry
        self._batches = batches
        self._notices = notices

    @property
    def entry(self) -> AuditEntry | None:
        """The audit entry recorded with each change, if any: who makes the changes."""
        return self._entry

    def recording(self, entry: AuditEntry) -> AuditedTransactions:
        """The same, recording `entry` with every change it runs."""
        return AuditedTransactions(
            self.pool, self._audit_log, entry, batches=self._batches, notices=self._notices
        )

    async def run(
        self,
        work: Callable[[Connection], Awaitable[T]],
        changed: Callable[[T], bool] = _always,
        amend: Callable[[AuditEntry, T], AuditEntry] | None = None,
    ) -> T:
        """`work` in one transaction; the audit record joins it when `changed(result)`
        (`amend`ed with what the result says, when given), and the events `work` emitted
        (`outbox.emit`) are written with it."""
        claim = (
            self._entry.claim
            if self._audit_log is not None and isinstance(self._entry, ClaimingEntry)
            else None
        )
        async with self.pool.acquire() as connection:
            async with connection.transaction():
                if claim is not None:
                    # First: a concurrent attempt with the same key waits here, then stops.
                    await idempotency.claim(connection, claim)
                with outbox.collecting() as events:
                    result = await work(connection)
                if self._entry is not None and self._audit_log is not None and changed(result):
                    entry = self._entry if amend is None else amend(self._entry, result)
                    newest = await self._record(connection, entry, events)
                else:
                    if claim is not None:
                        await idempotency.release(connection, claim)
                    newest = await outbox.append(connection, events, self._entry)
            await self._committed(connection, newest)
        return result

    def writes_alone(self) -> bool:
        """Whether a new row can be written with its audit record and events in ONE statement
        (`insert_alone`): a change is recorded, in this database's audit log, and claims no
        idempotency key (a claim is made first, in the change's transaction, where a
        concurrent attempt with the same key waits)."""
        return (
            self._entry is not None
            and isinstance(self._audit_log, PostgresAuditLog)
            and not isinstance(self._entry, ClaimingEntry)
        )

    async def insert_alone(
        self,
        changes: str,
        arguments: Sequence[object],
        events: Sequence[EventDraft],
        owner: str | None = None,
    ) -> asyncpg.Record | None:
        """The new row, with the audit record and `events`, in ONE statement: one round trip,
        atomic without BEGIN and COMMIT. `changes` are the `WITH` queries of the change (their
        parameters `arguments`, `$1` on), the last named `changed`: the new row, or no row
        when nothing was inserted (then nothing is recorded either, and the answer is None).
        The events' ids that are `outbox.NEW_ROW` become the row's id (`NEW_ROW_OWNER`: its
        column `owner`). Only when `writes_alone()`."""
        entry = self._entry
        assert entry is not None
        assert self.writes_alone()
        statement = _alone_statement(changes, len(arguments) + 1, owner, outbox.one_event(events))
        values = (*arguments, *insert_arguments(entry), *outbox.event_arguments(events, entry))
        row: asyncpg.Record | None
        if self._batches is not None:
            row = await self._batches.fetchrow(statement, *values)
            await self._committed(self.pool, row[outbox.NEWEST_EVENT])
        else:
            async with self.pool.acquire() as connection:
                row = await connection.fetchrow(statement, *values)
                await self._committed(connection, None if row is None else row[outbox.NEWEST_EVENT])
        return None if row is None or row["id"] is None else row

    async def _committed(self, connection: Connection | asyncpg.Pool, newest: int | None) -> None:
        """A change that wrote events up to id `newest` (None: none) has committed: wake the
        listeners, outside its transaction (`event_notices.py`)."""
        if newest is None:
            return
        if self._notices is not None:
            self._notices.written(newest)
        else:
            await announce(connection, newest)

    async def _record(
        self, connection: Connection, entry: AuditEntry, events: Sequence[EventDraft]
    ) -> int | None:
        """The change's audit record and its events, in one statement when the audit log is
        this database's; the newest event's id (None: no events)."""
        if not isinstance(self._audit_log, PostgresAuditLog):
            assert self._audit_log is not None
            await self._audit_log.append(entry, connection)
            return await outbox.append(connection, events, self._entry)
        if events:
            newest: int = await connection.fetchval(
                _RECORDED_WITH_EVENTS[outbox.one_event(events)],
                *insert_arguments(entry),
                *outbox.event_arguments(events, self._entry),
            )
            return newest
        await connection.execute(_RECORDED, *insert_arguments(entry))
        return None


class AuditedStore:
    """A store whose changes run through `AuditedTransactions`: `audited(entry)` is the same
    store over the same pool, recording `entry` with each change it makes."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        audit_log: AuditLog | None = None,
        *,
        transactions: AuditedTransactions | None = None,
        batches: WriteBatches | None = None,
        notices: EventNotices | None = None,
    ) -> None:
        self._pool = pool
        self._transactions = transactions or AuditedTransactions(
            pool, audit_log, batches=batches, notices=notices
        )

    def audited(self, entry: AuditEntry) -> Self:
        return type(self)(self._pool, transactions=self._transactions.recording(entry))
