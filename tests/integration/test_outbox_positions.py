"""The outbox without a global lock: transactions write their events at the same time, and a
reader resuming after any position it saw still gets every committed event exactly once,
whatever order the writers began and committed in; rolled-back events never."""

from __future__ import annotations

import asyncio
import base64
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import asyncpg
import pytest

from domain.events.cursors import position_of
from domain.events.model import ORIGIN, EventDraft, EventType, Position, SubjectKind
from providers.postgres import outbox
from providers.postgres.events import PostgresEventLog

# A guard against hanging, never a measure: the awaited call returns at once unless blocked.
NOT_BLOCKED = 30


def _draft(subject_id: int) -> EventDraft:
    return EventDraft(EventType.TEAM_UPDATED, SubjectKind.TEAM, subject_id, {"n": subject_id})


@pytest.fixture
async def connections(
    pool: asyncpg.Pool, migrated_url: str
) -> AsyncIterator[list[asyncpg.Connection]]:
    opened = [await asyncpg.connect(migrated_url) for _ in range(4)]
    try:
        yield opened
    finally:
        for connection in opened:
            await connection.close()


async def _begin(connection: asyncpg.Connection) -> asyncpg.transaction.Transaction:
    transaction = connection.transaction()
    await transaction.start()
    return transaction


async def _append(connection: asyncpg.Connection, subject_id: int) -> None:
    await asyncio.wait_for(outbox.append(connection, [_draft(subject_id)], None), NOT_BLOCKED)


async def _read_all(log: PostgresEventLog, after: Position = ORIGIN) -> list[int]:
    return [event.subject_id for event in (await log.after(after, 1_000)).events]


async def test_two_transactions_write_their_events_at_the_same_time(
    pool: asyncpg.Pool, connections: list[asyncpg.Connection]
) -> None:
    first, second, observer, _ = connections
    one, two = await _begin(first), await _begin(second)
    await _append(first, 1)
    # With the old lock this would wait for `first` to commit, which it has not.
    await _append(second, 2)
    held = await observer.fetchval(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = ANY($1::int[])",
        [first.get_server_pid(), second.get_server_pid()],
    )
    assert held == 0
    await two.commit()
    await one.commit()
    assert sorted(await _read_all(PostgresEventLog(pool))) == [1, 2]


async def test_an_event_waits_for_the_older_transaction_that_may_still_write_before_it(
    pool: asyncpg.Pool, connections: list[asyncpg.Connection]
) -> None:
    older, newer, _, _ = connections
    log = PostgresEventLog(pool)
    one = await _begin(older)
    await _append(older, 1)
    two = await _begin(newer)
    await _append(newer, 2)
    await two.commit()

    read = await log.after(ORIGIN, 100)
    assert read.events == []  # readable only once `older` ends: it might write more before 2
    assert read.waiting

    await one.commit()
    read = await log.after(ORIGIN, 100)
    assert [event.subject_id for event in read.events] == [1, 2]
    assert not read.waiting
    position = read.events[0].position
    assert await _read_all(log, position) == [2]


async def test_an_event_comes_after_what_committed_before_it_was_written(
    pool: asyncpg.Pool, connections: list[asyncpg.Connection]
) -> None:
    """Two changes of one entity wait for each other on its row, whatever order their
    transactions got their ids in: the second one's event comes second."""
    early, late, _, _ = connections
    first_id = await _begin(early)
    early_xid = await early.fetchval("SELECT pg_current_xact_id()")
    second = await _begin(late)
    late_xid = await late.fetchval("SELECT pg_current_xact_id()")
    assert early_xid < late_xid
    await _append(late, 1)
    await second.commit()
    await _append(early, 2)
    await first_id.commit()
    assert await _read_all(PostgresEventLog(pool)) == [1, 2]


async def test_a_cursor_of_before_the_positions_resumes_after_its_event(
    pool: asyncpg.Pool,
) -> None:
    # Events written before migration 0017 have transaction id 0, in id order.
    await pool.execute(
        "INSERT INTO events (tx, type, subject_kind, subject_id) "
        "SELECT '0', 'TEAM_UPDATED', 'Team', n FROM generate_series(1, 3) n"
    )
    await pool.execute(
        "INSERT INTO events (type, subject_kind, subject_id) VALUES ('TEAM_UPDATED', 'Team', 4)"
    )
    ids = [row["id"] for row in await pool.fetch("SELECT id FROM events ORDER BY id")]
    old_cursor = base64.urlsafe_b64encode(f"event:{ids[1]}".encode()).decode().rstrip("=")
    assert await _read_all(PostgresEventLog(pool), position_of(old_cursor)) == [3, 4]


@dataclass
class Writer:
    connection: asyncpg.Connection
    steps: list[str] = field(default_factory=list)
    transaction: asyncpg.transaction.Transaction | None = None
    written: list[int] = field(default_factory=list)
    committed: list[int] = field(default_factory=list)
    rolled_back: list[int] = field(default_factory=list)

    def plan(self, rng: random.Random) -> None:
        """One more transaction: begin, maybe take its id early (writing nothing yet), write
        one to three events, end."""
        self.steps.append("begin")
        if rng.random() < 0.5:
            self.steps.append("xid")
        self.steps.extend(["event"] * rng.randint(1, 3))
        self.steps.append("rollback" if rng.random() < 0.25 else "commit")

    async def step(self, subject: int) -> None:
        """The next step; `subject` names the event it may write."""
        step = self.steps.pop(0)
        if step == "begin":
            self.transaction = await _begin(self.connection)
            self.written = []
        elif step == "xid":
            await self.connection.fetchval("SELECT pg_current_xact_id()")
        elif step == "event":
            await _append(self.connection, subject)
            self.written.append(subject)
        elif step == "commit":
            assert self.transaction is not None
            await self.transaction.commit()
            self.committed.extend(self.written)
        else:
            assert self.transaction is not None
            await self.transaction.rollback()
            self.rolled_back.extend(self.written)


async def test_a_reader_polling_across_random_interleavings_gets_each_committed_event_once(
    pool: asyncpg.Pool, migrated_url: str
) -> None:
    rng = random.Random(16)
    log = PostgresEventLog(pool)
    writers = [Writer(await asyncpg.connect(migrated_url)) for _ in range(6)]
    received: list[int] = []
    positions: list[Position] = []
    position = ORIGIN

    async def poll() -> bool:
        """Whether there may be more to read."""
        nonlocal position
        read = await log.after(position, rng.randint(1, 4))
        for event in read.events:
            received.append(event.subject_id)
            positions.append(event.position)
        if read.events:
            position = read.events[-1].position
        return bool(read.events) or read.waiting

    try:
        for _ in range(60):  # transactions, their steps interleaved at random
            rng.choice(writers).plan(rng)
        subject = 0
        while any(writer.steps for writer in writers):
            subject += 1
            await rng.choice([writer for writer in writers if writer.steps]).step(subject)
            if rng.random() < 0.5:
                await poll()
        for _ in range(1_000):  # waiting only while some other transaction of the cluster runs
            if not await poll():
                break
            await asyncio.sleep(0.01)
    finally:
        for writer in writers:
            await writer.connection.close()

    committed = [subject for writer in writers for subject in writer.committed]
    assert committed
    assert [subject for writer in writers for subject in writer.rolled_back]
    assert sorted(received) == sorted(committed)  # each once, none rolled back
    assert positions == sorted(positions)
    assert len(set(positions)) == len(positions)
