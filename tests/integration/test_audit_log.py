"""The audit log on PostgreSQL: appending (in the caller's transaction or its own), the hash
chain and its verification, the append-only trigger, redaction, and paged, filtered listings.

The shared test database keeps audit records across tests, so tests there pick out their own
records by a unique target; the chain tests use a database of their own.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from domain.access.model import ActorKind
from domain.access.tokens import new_token
from domain.audit.model import AuditEntry, AuditOutcome
from domain.audit.ports import AuditFilter, AuditLog
from domain.catalog.records import PageRequest
from domain.errors import InvalidCursor
from providers.postgres.audit_log import REDACTED, PostgresAuditLog
from providers.postgres.database import create_pool
from tests.support.processes import migrated_scratch_database


def entry(
    operation: str = "updateService",
    targets: tuple[str, ...] = (),
    outcome: AuditOutcome = AuditOutcome.ACCEPTED,
    **changes: Any,
) -> AuditEntry:
    fields: dict[str, Any] = {
        "actor_kind": ActorKind.LOCAL_ADMIN,
        "actor_id": None,
        "actor_name": "local admin",
        "input": {"service": "payments-api", "tier": 1},
        **changes,
    }
    return AuditEntry(operation=operation, outcome=outcome, targets=targets, **fields)


def unique_target() -> str:
    return f"Service:t-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def log(pool: asyncpg.Pool) -> PostgresAuditLog:
    return PostgresAuditLog(pool)


@pytest.fixture(scope="module")
async def chain_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A database of its own, so that its chain holds only what these tests append."""
    async with migrated_scratch_database(database_url) as dsn:
        pool = await create_pool(dsn, min_size=1, max_size=4)
        try:
            yield pool
        finally:
            await pool.close()


# --- redaction --------------------------------------------------------------------------


async def test_the_stored_input_is_redacted(log: PostgresAuditLog) -> None:
    token = new_token().secret
    target = unique_target()
    record = await log.append(
        entry(targets=(target,), input={"webhookSecret": "s3cret", "note": token, "tier": 2})
    )
    assert record.entry.input == {"webhookSecret": REDACTED, "note": REDACTED, "tier": 2}
    stored = await log._pool.fetchval(
        "SELECT input::text FROM audit_events WHERE id = $1", record.id
    )
    assert "s3cret" not in stored
    assert token not in stored
    page = await log.trail(target, PageRequest(first=5))
    assert [edge.node for edge in page.edges] == [record]


# --- appending --------------------------------------------------------------------------


async def test_an_appended_record_chains_to_the_previous_one(log: PostgresAuditLog) -> None:
    target = unique_target()
    first = await log.append(
        entry(
            "createService",
            (target, "Team:platform"),
            actor_kind=ActorKind.USER,
            actor_id=7,
            actor_name="ada",
            token_id=3,
            request_id="req-1",
            idempotency_key="idem-1",
        )
    )
    second = await log.append(
        entry("updateService", (target,), AuditOutcome.INVALID, error_codes=("VALIDATION",))
    )
    assert second.id > first.id
    assert second.at >= first.at
    # Appended unsealed: the chain is made after commit (it was made in the append's
    # transaction before migration 0016), so the records are compared once sealed.
    assert (first.hash, first.prev_hash, first.seal_seq) == (None, None, None)
    await log.seal(wait=True)
    sealed = await log.trail(target, PageRequest(first=10))
    second, first = [edge.node for edge in sealed.edges]
    assert second.prev_hash == first.hash
    assert first.hash is not None
    assert len(first.hash) == 64
    assert first.seal_seq is not None
    assert second.seal_seq == first.seal_seq + 1
    assert first.entry.targets == (target, "Team:platform")
    assert (first.entry.actor_kind, first.entry.actor_id, first.entry.token_id) == (
        ActorKind.USER,
        7,
        3,
    )
    assert (first.entry.request_id, first.entry.idempotency_key) == ("req-1", "idem-1")
    page = await log.trail(target, PageRequest(first=10))
    assert [edge.node for edge in page.edges] == [second, first]


async def test_a_record_commits_and_rolls_back_with_the_callers_transaction(
    log: PostgresAuditLog,
) -> None:
    target = unique_target()
    async with log._pool.acquire() as connection:
        transaction = connection.transaction()
        await transaction.start()
        await log.append(entry(targets=(target,)), connection)
        await transaction.rollback()
        assert await log.events_count(AuditFilter(target=target)) == 0
        async with connection.transaction():
            kept = await log.append(entry(targets=(target,)), connection)
    page = await log.trail(target, PageRequest(first=10))
    assert [edge.node for edge in page.edges] == [kept]


async def test_appending_on_a_connection_needs_its_read_committed_transaction(
    log: PostgresAuditLog,
) -> None:
    port: AuditLog = log
    async with log._pool.acquire() as connection:
        with pytest.raises(RuntimeError, match="open transaction"):
            await port.append(entry(targets=(unique_target(),)), connection)
        with pytest.raises(RuntimeError, match="READ COMMITTED"):
            async with connection.transaction(isolation="repeatable_read"):
                await log.append(entry(targets=(unique_target(),)), connection)


@pytest.mark.parametrize(
    ("statement", "operation"),
    [
        ("UPDATE audit_events SET actor_name = 'mallory'", "UPDATE"),
        ("DELETE FROM audit_events", "DELETE"),
        ("TRUNCATE audit_events", "TRUNCATE"),
    ],
)
async def test_records_cannot_be_changed_or_removed(
    log: PostgresAuditLog, statement: str, operation: str
) -> None:
    await log.append(entry(targets=(unique_target(),)))
    with pytest.raises(asyncpg.RaiseError) as caught:
        await log._pool.execute(statement)
    assert caught.value.message == f"audit_events is append-only: {operation} is not allowed"
    assert caught.value.hint == "audit records can be added, never changed or removed"


# --- the chain --------------------------------------------------------------------------


async def test_the_chain_verifies_and_a_changed_record_is_named(chain_pool: asyncpg.Pool) -> None:
    log = PostgresAuditLog(chain_pool)
    before = await log.verify()
    assert before.intact
    records = [
        await log.append(entry(targets=(f"Service:s{index}",), input={"n": index, "x": 1.5}))
        for index in range(5)
    ]
    intact = await log.verify()
    assert (intact.intact, intact.checked) == (True, before.checked + 5)

    victim = records[2]
    async with chain_pool.acquire() as connection:
        await connection.execute(
            "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"
        )
        try:
            await connection.execute(
                'UPDATE audit_events SET input = \'{"n": 99, "x": 1.5}\' WHERE id = $1',
                victim.id,
            )
            broken = await log.verify()
            assert not broken.intact
            assert broken.broken_id == victim.id
            assert broken.reason == "its hash does not match its contents"
            assert broken.checked == before.checked + 2

            await connection.execute(
                'UPDATE audit_events SET input = \'{"n": 2, "x": 1.5}\' WHERE id = $1',
                victim.id,
            )
            assert (await log.verify()).intact

            await connection.execute(
                "UPDATE audit_events SET at = at + interval '1 microsecond' WHERE id = $1",
                victim.id,
            )
            assert (await log.verify()).broken_id == victim.id
            await connection.execute(
                "UPDATE audit_events SET at = $2 WHERE id = $1", victim.id, victim.at
            )
            assert (await log.verify()).intact
        finally:
            await connection.execute(
                "ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only"
            )


async def test_the_channel_is_stored_and_covered_by_the_hash(chain_pool: asyncpg.Pool) -> None:
    """A record with a channel (`mcp`) chains with those without one (which verify as they
    did before the column existed); changing or clearing a channel breaks the chain there."""
    log = PostgresAuditLog(chain_pool)
    plain = await log.append(entry(targets=("Service:plain",)))
    through_mcp = await log.append(entry(targets=("Service:agent",), channel="mcp"))
    assert (plain.entry.channel, through_mcp.entry.channel) == (None, "mcp")
    listed = await log.events(PageRequest(first=2), AuditFilter())
    assert [edge.node.entry.channel for edge in listed.edges] == ["mcp", None]
    assert (await log.verify()).intact
    async with chain_pool.acquire() as connection:
        await connection.execute(
            "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"
        )
        try:
            for changed in ("graphql", None):
                await connection.execute(
                    "UPDATE audit_events SET channel = $2 WHERE id = $1", through_mcp.id, changed
                )
                assert (await log.verify()).broken_id == through_mcp.id
            await connection.execute(
                "UPDATE audit_events SET channel = 'mcp' WHERE id = $1", through_mcp.id
            )
            assert (await log.verify()).intact
        finally:
            await connection.execute(
                "ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only"
            )


async def test_a_removed_record_breaks_the_chain_at_the_next_one(
    chain_pool: asyncpg.Pool,
) -> None:
    log = PostgresAuditLog(chain_pool)
    first, removed, last = [await log.append(entry(targets=("Service:gone",))) for _ in range(3)]
    # Sealed first: a record removed before it was sealed was never in the chain.
    await log.seal(wait=True)
    async with chain_pool.acquire() as connection:
        await connection.execute(
            "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"
        )
        try:
            await connection.execute(
                f"CREATE TEMP TABLE removed AS SELECT * FROM audit_events WHERE id = {removed.id}"
            )
            await connection.execute("DELETE FROM audit_events WHERE id = $1", removed.id)
            broken = await log.verify()
            assert broken.broken_id == last.id
            assert broken.reason == f"its prev_hash is not the hash of record {first.id}"
            await connection.execute(
                "INSERT INTO audit_events OVERRIDING SYSTEM VALUE SELECT * FROM removed"
            )
            await connection.execute("DROP TABLE removed")
        finally:
            await connection.execute(
                "ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only"
            )
    assert (await log.verify()).intact


async def test_verify_walks_the_chain_in_batches(
    chain_pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from providers.postgres import audit_log

    log = PostgresAuditLog(chain_pool)
    for _ in range(7):
        await log.append(entry(targets=("Service:batch",)))
    whole = await log.verify()
    monkeypatch.setattr(audit_log, "_VERIFY_BATCH", 2)
    assert await log.verify() == whole
    assert whole.intact


async def test_concurrent_appends_form_one_chain(chain_pool: asyncpg.Pool) -> None:
    log = PostgresAuditLog(chain_pool)
    await asyncio.gather(*(log.append(entry(targets=("Service:busy",))) for _ in range(20)))
    assert (await log.verify()).intact
    forks = await chain_pool.fetchval(
        "SELECT count(*) - count(DISTINCT prev_hash) FROM audit_events WHERE prev_hash IS NOT NULL"
    )
    assert forks == 0


# --- listing ----------------------------------------------------------------------------


async def test_events_are_paged_newest_first(log: PostgresAuditLog) -> None:
    target = unique_target()
    records = [await log.append(entry(targets=(target,), input={"n": n})) for n in range(5)]
    newest_first = list(reversed(records))
    only = AuditFilter(target=target)

    first = await log.events(PageRequest(first=2), only)
    assert [edge.node for edge in first.edges] == newest_first[:2]
    assert (first.has_next_page, first.has_previous_page) == (True, False)
    second = await log.events(PageRequest(first=2, after=first.end_cursor), only)
    assert [edge.node for edge in second.edges] == newest_first[2:4]
    third = await log.events(PageRequest(first=2, after=second.end_cursor), only)
    assert [edge.node for edge in third.edges] == newest_first[4:]
    assert (third.has_next_page, third.has_previous_page) == (False, True)

    back = await log.events(PageRequest(last=2, before=third.start_cursor), only)
    assert [edge.node for edge in back.edges] == newest_first[2:4]
    assert (back.has_next_page, back.has_previous_page) == (True, True)
    assert await log.events_count(only) == 5

    with pytest.raises(InvalidCursor):
        await log.events(
            PageRequest(first=2, after=first.end_cursor), AuditFilter(target=unique_target())
        )


async def test_events_are_filtered(log: PostgresAuditLog) -> None:
    pool = log._pool
    await pool.execute("INSERT INTO teams (slug, name) VALUES ('platform', 'Platform')")
    ada: int = await pool.fetchval(
        "INSERT INTO users (handle, name, email) VALUES ('ada', 'Ada', 'ada@x.io') RETURNING id"
    )
    bot: int = await pool.fetchval(
        "INSERT INTO api_clients (slug, name, team_id)"
        " SELECT 'ada', 'A bot named like Ada', id FROM teams RETURNING id"
    )
    target = unique_target()
    by_user = await log.append(
        entry("createService", (target,), actor_kind=ActorKind.USER, actor_id=ada, actor_name="Ada")
    )
    by_client = await log.append(
        entry(
            "updateService",
            (target, "Team:platform"),
            AuditOutcome.DENIED,
            actor_kind=ActorKind.CLIENT,
            actor_id=bot,
            actor_name="A bot",
            error_codes=("FORBIDDEN",),
        )
    )
    by_admin = await log.append(
        entry("deleteService", (target,), AuditOutcome.INVALID, request_id=target)
    )
    await log.append(entry("createService", (unique_target(),)))

    async def listed(**fields: Any) -> list[int]:
        audit_filter = AuditFilter(target=target, **fields)
        page = await log.events(PageRequest(first=10), audit_filter)
        assert await log.events_count(audit_filter) == len(page.edges)
        return [edge.node.id for edge in page.edges]

    assert await listed() == [by_admin.id, by_client.id, by_user.id]
    assert await listed(operation="createService") == [by_user.id]
    assert await listed(outcome=AuditOutcome.DENIED) == [by_client.id]
    # A user handle and a client slug may coincide: both actors match.
    assert await listed(actor="ada") == [by_client.id, by_user.id]
    assert await listed(actor="nobody") == []
    assert await listed(request_id=target) == [by_admin.id]
    assert await listed(since=by_client.at) == [by_admin.id, by_client.id]
    assert await listed(until=by_client.at) == [by_user.id]
    assert await listed(since=by_user.at, until=by_admin.at) == [by_client.id, by_user.id]
    platform = await log.events(PageRequest(first=10), AuditFilter(target="Team:platform"))
    assert by_client.id in [edge.node.id for edge in platform.edges]
