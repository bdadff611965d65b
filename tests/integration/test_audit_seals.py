"""Sealing the audit log after commit: appends never wait for each other, the sealer chains
committed records in the order it sees them, exactly once however many sealers run, a sealing
cut off leaves its records for the next, and verify catches a changed, removed, reordered or
re-hashed record and, against a head kept outside, a truncated tail.

Each test has a database of its own, so that its chain holds only what it appends."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest

from domain.audit.ports import SealBatch
from domain.audit.seals import ExpectedHead
from providers.postgres.audit_chain import ANY_UNSEALED, record_hash, seal_batch
from providers.postgres.audit_log import PostgresAuditLog
from providers.postgres.database import create_pool
from resolvers.audit_sealing import AuditSealer
from tests.integration.test_audit_log import entry
from tests.support.processes import migrated_scratch_database

_UNLOCKED = "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"


@pytest.fixture
async def dsn(database_url: str) -> AsyncIterator[str]:
    async with migrated_scratch_database(database_url) as own:
        yield own


@pytest.fixture
async def pool(dsn: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(dsn, min_size=1, max_size=6)
    try:
        yield pool
    finally:
        await pool.close()


async def _until(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    """Wait for `condition`, checking often; a generous bound only against hanging forever."""
    for _ in range(3000):
        if await condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


async def _chain(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT id, seal_seq, prev_hash, hash FROM audit_events ORDER BY seal_seq NULLS LAST, id"
    )


async def _unsealed(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM audit_events WHERE seal_seq IS NULL"))


# --- writers ----------------------------------------------------------------------------


async def test_appends_in_open_transactions_do_not_wait_for_each_other(
    pool: asyncpg.Pool,
) -> None:
    """Two transactions each hold an uncommitted append at once. With the chain lock of
    before, the second append waited in `pg_locks` until the first committed."""
    log = PostgresAuditLog(pool)
    async with pool.acquire() as first, pool.acquire() as second:
        first_tx, second_tx = first.transaction(), second.transaction()
        await first_tx.start()
        await second_tx.start()
        await log.append(entry(targets=("Service:a",)), first)
        appending = asyncio.create_task(log.append(entry(targets=("Service:b",)), second))
        waiting = (
            "SELECT count(*) FROM pg_locks WHERE pid = $1 AND NOT granted",
            second.get_server_pid(),
        )
        while not appending.done():
            assert await pool.fetchval(*waiting) == 0, "the second append waits for the first"
            await asyncio.sleep(0)
        await appending
        held = await pool.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = ANY($1::int[])",
            [first.get_server_pid(), second.get_server_pid()],
        )
        assert held == 0
        await second_tx.commit()
        await first_tx.commit()
    assert (await log.verify()).checked == 2


# --- sealing ----------------------------------------------------------------------------


async def test_records_are_sealed_in_the_order_they_are_seen_committed(
    pool: asyncpg.Pool,
) -> None:
    """A lower id committed later is sealed later: the chain follows seal_seq, not ids."""
    log = PostgresAuditLog(pool)
    async with pool.acquire() as slow:
        transaction = slow.transaction()
        await transaction.start()
        early = await log.append(entry(targets=("Service:early",)), slow)
        late = await log.append(entry(targets=("Service:late",)))
        assert early.id < late.id
        first = await log.seal()
        assert first is not None
        assert first.sealed == 1
        await transaction.commit()
    second = await log.seal()
    assert second is not None
    assert second.sealed == 1
    chain = await _chain(pool)
    assert [(row["id"], row["seal_seq"]) for row in chain] == [(late.id, 1), (early.id, 2)]
    assert chain[1]["prev_hash"] == chain[0]["hash"]
    assert first.head is not None
    assert second.head is not None
    assert (first.head.seq, first.head.hash) == (1, chain[0]["hash"])
    assert (second.head.seq, second.head.hash) == (2, chain[1]["hash"])
    result = await log.verify(seal_first=False)
    assert (result.intact, result.checked, result.unsealed) == (True, 2, 0)


async def test_nothing_to_seal_is_one_statement_outside_a_transaction(
    pool: asyncpg.Pool,
) -> None:
    log = PostgresAuditLog(pool)
    assert await log.seal() == SealBatch(0, None)
    await log.append(entry())
    assert (await log.seal()) is not None
    assert await log.seal() == SealBatch(0, None)


async def test_the_look_for_unsealed_records_reads_their_index_not_the_table(
    pool: asyncpg.Pool,
) -> None:
    """Statistics taken while many records waited (as under a write load) once made the look
    a scan of the whole table, whose newest rows, at its end, are the unsealed ones."""
    log = PostgresAuditLog(pool)
    for _ in range(300):
        await log.append(entry())
    await pool.execute("ANALYZE audit_events")
    await log.seal()
    plan = await pool.fetchval(f"EXPLAIN (FORMAT JSON) {ANY_UNSEALED}")
    assert "audit_events_unsealed_idx" in str(plan)
    assert "Seq Scan" not in str(plan)


async def test_only_sealing_may_change_a_record_and_only_once(pool: asyncpg.Pool) -> None:
    log = PostgresAuditLog(pool)
    record = await log.append(entry(targets=("Service:once",)))
    with pytest.raises(asyncpg.RaiseError, match="append-only: UPDATE"):
        await pool.execute(
            "UPDATE audit_events SET seal_seq = 1, hash = 'x', actor_name = 'mallory'"
            " WHERE id = $1",
            record.id,
        )
    await log.seal()
    with pytest.raises(asyncpg.RaiseError, match="append-only: UPDATE"):
        await pool.execute(
            "UPDATE audit_events SET seal_seq = 7, hash = 'x' WHERE id = $1", record.id
        )
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute(
            "INSERT INTO audit_events (actor_kind, actor_name, operation, outcome, seal_seq)"
            " VALUES ('local-admin', 'x', 'x', 'ACCEPTED', 9)"
        )
    assert (await log.verify(seal_first=False)).intact


async def test_a_sealing_cut_off_mid_batch_leaves_its_records_to_the_next(
    pool: asyncpg.Pool, dsn: str
) -> None:
    """The sealer's connection dies inside its transaction (a crash, a kill -9): nothing it
    sealed stays sealed, and the next sealing takes every record, once."""
    log = PostgresAuditLog(pool)
    records = [await log.append(entry(targets=(f"Service:s{n}",))) for n in range(5)]
    sealer = await asyncpg.connect(dsn)
    transaction = sealer.transaction()
    await transaction.start()
    batch = await seal_batch(sealer, 10, wait=False)
    assert batch is not None
    assert batch.sealed == 5
    assert await pool.fetchval("SELECT pg_terminate_backend($1)", sealer.get_server_pid())
    # Whichever way the driver hears of it: the server's error, a closed connection, or the
    # commit racing the termination notice still being read (InternalClientError).
    died = (
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
        asyncpg.InternalClientError,
        ConnectionError,
    )
    with pytest.raises(died):
        await transaction.commit()
    sealer.terminate()
    assert await _unsealed(pool) == 5
    again = await log.seal()
    assert again is not None
    assert again.sealed == 5
    chain = await _chain(pool)
    assert [row["id"] for row in chain] == [record.id for record in records]
    assert [row["seal_seq"] for row in chain] == [1, 2, 3, 4, 5]
    assert (await log.verify(seal_first=False)).checked == 5


async def test_a_sealer_holding_the_lock_keeps_every_other_out(pool: asyncpg.Pool) -> None:
    log = PostgresAuditLog(pool)
    await log.append(entry())
    async with pool.acquire() as holder, holder.transaction():
        batch = await seal_batch(holder, 10, wait=False)
        assert batch is not None
        assert batch.sealed == 1
        await log.append(entry())
        assert await log.seal() is None
    after = await log.seal()
    assert after is not None
    assert after.sealed == 1
    assert [row["seal_seq"] for row in await _chain(pool)] == [1, 2]


async def test_two_sealers_on_two_pools_make_one_chain(
    pool: asyncpg.Pool, dsn: str, caplog: pytest.LogCaptureFixture
) -> None:
    other_pool = await create_pool(dsn, min_size=1, max_size=2)
    sealed: list[int] = []

    class Counting(PostgresAuditLog):
        async def seal(self, limit: int = 1000, *, wait: bool = False) -> SealBatch | None:
            batch = await super().seal(limit, wait=wait)
            if batch is not None:
                sealed.append(batch.sealed)
            return batch

    sealers = [
        AuditSealer(Counting(one), poll_seconds=0.001, batch_size=7) for one in (pool, other_pool)
    ]
    log = PostgresAuditLog(pool)
    caplog.set_level(logging.WARNING, logger="resolvers.audit_sealing")
    try:
        for sealer in sealers:
            sealer.start()

        async def writer(n: int) -> None:
            for k in range(25):
                await log.append(entry(targets=(f"Service:w{n}-{k}",)))

        await asyncio.gather(*(writer(n) for n in range(4)))

        async def all_sealed() -> bool:
            return await _unsealed(pool) == 0

        await _until(all_sealed, "every record sealed")
    finally:
        for sealer in sealers:
            await sealer.stop()
        await other_pool.close()
    assert sum(sealed) == 100
    assert [row["seal_seq"] for row in await _chain(pool)] == list(range(1, 101))
    assert (await log.verify(seal_first=False)).checked == 100
    assert caplog.records == []


async def test_records_left_unsealed_are_sealed_once_a_sealer_runs_again(
    pool: asyncpg.Pool, caplog: pytest.LogCaptureFixture
) -> None:
    log = PostgresAuditLog(pool)
    lags: list[float] = []
    sealer = AuditSealer(log, poll_seconds=0.01, observe_lag=lags.append)
    sealer.start()
    await log.append(entry(targets=("Service:before",)))

    async def none_waiting() -> bool:
        return await _unsealed(pool) == 0

    await _until(none_waiting, "the first record sealed")
    await sealer.stop()
    # The process is gone: what commits meanwhile waits.
    for n in range(3):
        await log.append(entry(targets=(f"Service:while-down-{n}",)))
    waiting = await log.verify(seal_first=False)
    assert (waiting.checked, waiting.unsealed) == (1, 3)
    assert waiting.oldest_unsealed is not None

    caplog.set_level(logging.INFO, logger="resolvers.audit_sealing")
    restarted = AuditSealer(log, poll_seconds=0.01, observe_lag=lags.append)
    restarted.start()
    try:
        await _until(none_waiting, "the records left sealed after the restart")
    finally:
        await restarted.stop()
    assert len(lags) == 4
    assert all(lag >= 0 for lag in lags)
    result = await log.verify(seal_first=False)
    assert (result.intact, result.checked, result.unsealed) == (True, 4, 0)
    assert result.head is not None
    assert restarted.head is not None
    assert restarted.head.token == result.head.token
    announced = [r.getMessage() for r in caplog.records if "audit seal" in r.getMessage()]
    assert announced[-1].startswith(f"audit seal {result.head.token} at ")


# --- verification -----------------------------------------------------------------------


async def _sealed_five(pool: asyncpg.Pool) -> tuple[list[int], ExpectedHead]:
    log = PostgresAuditLog(pool)
    for n in range(5):
        await log.append(entry(targets=(f"Service:v{n}",), input={"n": n}))
    batch = await log.seal()
    assert batch is not None
    assert batch.head is not None
    ids = [row["id"] for row in await _chain(pool)]
    return ids, ExpectedHead(batch.head.seq, batch.head.hash)


async def test_verify_names_a_changed_record(pool: asyncpg.Pool) -> None:
    ids, _ = await _sealed_five(pool)
    await pool.execute(_UNLOCKED)
    await pool.execute("UPDATE audit_events SET input = '{\"n\": 9}' WHERE id = $1", ids[2])
    broken = await PostgresAuditLog(pool).verify()
    assert (broken.broken_id, broken.reason) == (ids[2], "its hash does not match its contents")
    assert broken.checked == 2


async def test_verify_names_the_record_after_a_removed_one(pool: asyncpg.Pool) -> None:
    ids, _ = await _sealed_five(pool)
    await pool.execute(_UNLOCKED)
    await pool.execute("DELETE FROM audit_events WHERE id = $1", ids[2])
    broken = await PostgresAuditLog(pool).verify()
    assert broken.broken_id == ids[3]
    assert broken.reason == f"its prev_hash is not the hash of record {ids[1]}"


async def test_verify_notices_reordered_records(pool: asyncpg.Pool) -> None:
    ids, _ = await _sealed_five(pool)
    await pool.execute(_UNLOCKED)
    # Their places swapped...
    await pool.execute(
        "UPDATE audit_events SET seal_seq = -seal_seq WHERE id = ANY($1::bigint[])", ids[1:3]
    )
    await pool.execute(
        "UPDATE audit_events SET seal_seq = CASE seal_seq WHEN -2 THEN 3 ELSE 2 END"
        " WHERE id = ANY($1::bigint[])",
        ids[1:3],
    )
    log = PostgresAuditLog(pool)
    broken = await log.verify()
    assert broken.broken_id == ids[2]
    assert broken.reason == f"its prev_hash is not the hash of record {ids[0]}"
    # ...or their ids swapped, every other column left in place.
    await pool.execute(
        "UPDATE audit_events SET seal_seq = -seal_seq WHERE id = ANY($1::bigint[])", ids[1:3]
    )
    await pool.execute(
        "UPDATE audit_events SET seal_seq = CASE seal_seq WHEN -2 THEN 3 ELSE 2 END"
        " WHERE id = ANY($1::bigint[])",
        ids[1:3],
    )
    assert (await log.verify()).intact
    await pool.execute("ALTER TABLE audit_events ALTER COLUMN id SET GENERATED BY DEFAULT")
    await pool.execute("UPDATE audit_events SET id = -id WHERE id = ANY($1::bigint[])", ids[1:3])
    await pool.execute(
        "UPDATE audit_events SET id = CASE id WHEN $1::bigint THEN $2::bigint ELSE $3::bigint END"
        " WHERE id = ANY($4::bigint[])",
        -ids[1],
        ids[2],
        ids[1],
        [-ids[1], -ids[2]],
    )
    broken = await log.verify()
    assert (broken.broken_id, broken.reason) == (ids[2], "its hash does not match its contents")


async def test_verify_names_a_forged_record_that_follows_one_already_followed(
    pool: asyncpg.Pool,
) -> None:
    """A fork: a copy of the third record (the same `prev_hash` and `hash`) placed after the
    head. No unique index on the hashes refuses it (0018); the walk in `seal_seq` order names
    it."""
    ids, _ = await _sealed_five(pool)
    await pool.execute(
        "INSERT INTO audit_events (at, actor_kind, actor_name, operation, outcome, input,"
        " prev_hash, hash, seal_seq, sealed_at) SELECT at, actor_kind, actor_name, operation,"
        " outcome, input, prev_hash, hash, 6, sealed_at FROM audit_events WHERE id = $1",
        ids[2],
    )
    forged = await pool.fetchval("SELECT id FROM audit_events WHERE seal_seq = 6")
    broken = await PostgresAuditLog(pool).verify()
    assert (broken.broken_id, broken.checked) == (forged, 5)
    assert broken.reason == f"its prev_hash is not the hash of record {ids[4]}"


async def test_a_truncated_tail_is_caught_against_the_expected_head(pool: asyncpg.Pool) -> None:
    ids, head = await _sealed_five(pool)
    log = PostgresAuditLog(pool)
    assert (await log.verify(head)).intact
    await pool.execute(_UNLOCKED)
    await pool.execute("DELETE FROM audit_events WHERE id = ANY($1::bigint[])", ids[3:])
    # Alone, the chain that is left is whole...
    assert (await log.verify()).intact
    # ...but it no longer reaches the head the sealer announced.
    truncated = await log.verify(head)
    assert (truncated.broken_id, truncated.checked) == (None, 3)
    assert truncated.reason == (
        "the chain ends at seal 3, before the expected head 5: its newest records were removed"
    )


async def test_a_rewritten_and_rehashed_chain_is_caught_against_the_expected_head(
    pool: asyncpg.Pool,
) -> None:
    """Whoever can write the table can recompute every hash after a change (SHA-256 needs no
    key); the head kept outside the database still differs."""
    ids, head = await _sealed_five(pool)
    await pool.execute(_UNLOCKED)
    await pool.execute("UPDATE audit_events SET actor_name = 'mallory' WHERE id = $1", ids[1])
    previous: str | None = None
    for row in await pool.fetch(
        "SELECT id, at, actor_kind, actor_id, actor_name, token_id, operation, targets,"
        " input::text AS input, outcome, error_codes, request_id, idempotency_key, channel,"
        " prev_hash, seal_seq, sealed_at FROM audit_events ORDER BY seal_seq"
    ):
        rehashed = record_hash({**dict(row), "prev_hash": previous})
        await pool.execute(
            "UPDATE audit_events SET prev_hash = $2, hash = $3 WHERE id = $1",
            row["id"],
            previous,
            rehashed,
        )
        previous = rehashed
    log = PostgresAuditLog(pool)
    assert (await log.verify()).intact
    rewritten = await log.verify(head)
    assert rewritten.broken_id == ids[4]
    assert rewritten.reason == "its hash is not the expected head's (5): the chain was rewritten"
