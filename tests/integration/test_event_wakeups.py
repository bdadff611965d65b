"""A change that writes events wakes the event listeners once it has committed, in a
statement of its own, never inside its transaction: a transaction that has notified takes, as
it commits, a lock every notifying transaction of the database shares and holds it until its
commit is flushed, so notifying inside would make every write commit one at a time.

With `EventNotices` (the server's) the wake-up is sent in the background; without it, at once
on the change's connection. Either way the listeners are told the newest event's id."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import asyncpg
import pytest
from asyncpg.connection import LoggedQuery

from domain.catalog.changes import TeamDraft
from domain.events.model import EventDraft, EventType, SubjectKind
from providers.postgres import outbox
from providers.postgres.audit_log import PostgresAuditLog
from providers.postgres.audited import AuditedTransactions, Connection
from providers.postgres.database import create_pool
from providers.postgres.event_notices import EventNotices
from providers.postgres.writes.teams import create_team_alone
from tests.support.audit import accepted_entry

ENTRY = accepted_entry("req-wakeups")
WAIT_SECONDS = 5.0


@dataclass(eq=False)
class Logged:
    """The statements of a pool of one connection, in order."""

    queries: list[str] = field(default_factory=list)

    def __call__(self, logged: LoggedQuery) -> None:
        self.queries.append(logged.query)

    def notifying(self) -> list[int]:
        return [at for at, query in enumerate(self.queries) if "pg_notify" in query]


@pytest.fixture
async def logged_pool(
    pool: asyncpg.Pool, migrated_url: str
) -> AsyncIterator[tuple[asyncpg.Pool, Logged]]:
    logged = Logged()
    one = await create_pool(migrated_url, min_size=1, max_size=1, query_logger=logged)
    try:
        yield one, logged
    finally:
        await one.close()


@pytest.fixture
async def wakeups(migrated_url: str) -> AsyncIterator[asyncio.Queue[str]]:
    """The payloads of the notices on the events' channel, as a listener gets them."""
    received: asyncio.Queue[str] = asyncio.Queue()
    listener = await asyncpg.connect(migrated_url)
    await listener.add_listener(outbox.CHANNEL, lambda *args: received.put_nowait(args[-1]))
    try:
        yield received
    finally:
        await listener.close()


def _team_updated() -> EventDraft:
    return EventDraft(EventType.TEAM_UPDATED, SubjectKind.TEAM, 41, {"slug": "t"}, team_id=41)


async def _emitting(connection: Connection) -> None:
    await connection.execute("SELECT 1")
    outbox.emit(_team_updated())
    outbox.emit(_team_updated())


async def _newest_event(pool: asyncpg.Pool) -> str:
    return str(await pool.fetchval("SELECT max(id) FROM events"))


async def _settled() -> None:
    """asyncpg logs a statement in a callback of its own: let them run."""
    for _ in range(3):
        await asyncio.sleep(0)


CHANGES: dict[str, Callable[[AuditedTransactions], Awaitable[object]]] = {
    "a change in a transaction": lambda transactions: transactions.run(_emitting),
    "a new row in one statement": lambda transactions: create_team_alone(
        transactions, TeamDraft("t-wakes", "Wakes")
    ),
}


@pytest.mark.parametrize("change", CHANGES)
async def test_a_change_wakes_the_listeners_after_its_commit_not_inside_it(
    logged_pool: tuple[asyncpg.Pool, Logged], wakeups: asyncio.Queue[str], change: str
) -> None:
    pool, logged = logged_pool
    transactions = AuditedTransactions(pool, PostgresAuditLog(pool), ENTRY)
    await CHANGES[change](transactions)
    await _settled()

    payload = await asyncio.wait_for(wakeups.get(), WAIT_SECONDS)
    assert payload == await _newest_event(pool)
    (at,) = logged.notifying()
    assert logged.queries[at] == "SELECT pg_notify($1, $2)"
    written = logged.queries[:at]
    assert written, "the change ran before its wake-up"
    if "BEGIN;" in written:
        assert written[-1] == "COMMIT;", logged.queries


async def test_a_change_without_events_sends_no_wake_up(
    logged_pool: tuple[asyncpg.Pool, Logged], wakeups: asyncio.Queue[str]
) -> None:
    pool, logged = logged_pool
    transactions = AuditedTransactions(pool, PostgresAuditLog(pool), ENTRY)

    async def quiet(connection: Connection) -> None:
        await connection.execute("SELECT 1")

    await transactions.run(quiet)
    await _settled()
    assert logged.notifying() == []
    assert wakeups.empty()


async def test_a_change_that_rolls_back_sends_no_wake_up(
    logged_pool: tuple[asyncpg.Pool, Logged], wakeups: asyncio.Queue[str]
) -> None:
    pool, logged = logged_pool
    transactions = AuditedTransactions(pool, PostgresAuditLog(pool), ENTRY)

    async def failing(connection: Connection) -> None:
        await _emitting(connection)
        raise LookupError("refused")

    with pytest.raises(LookupError):
        await transactions.run(failing)
    await _settled()
    assert logged.notifying() == []
    assert wakeups.empty()


async def test_the_servers_notices_wake_the_listeners_in_the_background(
    logged_pool: tuple[asyncpg.Pool, Logged], wakeups: asyncio.Queue[str]
) -> None:
    pool, logged = logged_pool
    notices = EventNotices(pool)
    transactions = AuditedTransactions(pool, PostgresAuditLog(pool), ENTRY, notices=notices)
    for _ in range(3):
        await transactions.run(_emitting)
    await notices.close()
    await _settled()

    newest = await _newest_event(pool)
    payloads = [wakeups.get_nowait() for _ in range(wakeups.qsize())]
    while not payloads or payloads[-1] != newest:
        payloads.append(await asyncio.wait_for(wakeups.get(), WAIT_SECONDS))
    assert 1 <= len(payloads) <= 3
    assert notices.sent == len(payloads)
    for at in logged.notifying():
        assert logged.queries[at] == "SELECT pg_notify($1, $2)"
        assert logged.queries[at - 1] != "BEGIN;"
