"""Webhook dispatch over the lock-free outbox: it reads past no event that an older
transaction may still commit, says when events wait behind one, and a webhook created while
such a transaction runs still receives its event."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import asyncpg
from cryptography.fernet import Fernet

from domain.events.model import EventDraft, EventType, SubjectKind
from domain.webhooks.model import WebhookDraft
from providers.postgres import outbox
from providers.postgres.events import COLUMNS as EVENT_COLUMNS
from providers.postgres.webhook_queue import Dispatched, Limits, PostgresWebhookQueue
from providers.postgres.webhooks import PostgresWebhookStore
from providers.webhooks.secret_box import SecretBox
from providers.webhooks.worker import WebhookWorker, WorkerTimings


def _draft(subject_id: int) -> EventDraft:
    return EventDraft(EventType.TEAM_UPDATED, SubjectKind.TEAM, subject_id, {})


async def _delivered_subjects(pool: asyncpg.Pool) -> list[int]:
    rows = await pool.fetch(
        "SELECT e.subject_id FROM webhook_deliveries d JOIN events e ON e.id = d.event_id "
        "ORDER BY e.tx, e.id"
    )
    return [row["subject_id"] for row in rows]


async def test_dispatch_waits_for_the_older_transaction_and_then_sends_both_once(
    pool: asyncpg.Pool, migrated_url: str
) -> None:
    store = PostgresWebhookStore(pool, SecretBox(Fernet.generate_key()))
    queue = PostgresWebhookQueue(pool, store)
    await queue.dispatch()  # its position starts (the tables were emptied)
    await store.create(
        WebhookDraft("http://receiver.test/", (EventType.TEAM_UPDATED,), None, None), "whsec_x"
    )
    older, newer = await asyncpg.connect(migrated_url), await asyncpg.connect(migrated_url)
    try:
        running = older.transaction()
        await running.start()
        await outbox.append(older, [_draft(1)], None)
        async with newer.transaction():
            await outbox.append(newer, [_draft(2)], None)

        first = await queue.dispatch()
        assert (first.read, first.waiting) == (0, True)

        # Created while `older` runs: it receives what commits later, 1 included.
        late = await store.create(
            WebhookDraft("http://late.test/", (EventType.TEAM_UPDATED,), None, None), "whsec_y"
        )
        await running.commit()
    finally:
        await older.close()
        await newer.close()

    second = await queue.dispatch()
    assert (second.read, second.waiting) == (2, False)
    assert (await queue.dispatch()).read == 0
    assert await _delivered_subjects(pool) == [1, 1, 2, 2]
    late_ones = await pool.fetchval(
        "SELECT count(*) FROM webhook_deliveries WHERE webhook_id = $1", late.id
    )
    assert late_ones == 2


async def test_a_round_commits_without_waiting_for_its_flush_and_the_connection_keeps_waiting(
    migrated_url: str, pool: asyncpg.Pool
) -> None:
    """Only the round's own transaction commits asynchronously (a round a crash loses is
    dispatched again): the pool's connection goes back to waiting for every other commit's
    flush, as acknowledged writes need."""
    one = await asyncpg.create_pool(migrated_url, min_size=1, max_size=1)
    try:
        settings: list[str] = []
        one_connection = await one.acquire()
        one_connection.add_query_logger(lambda query: settings.append(query.query))
        await one.release(one_connection)
        queue = PostgresWebhookQueue(
            one, PostgresWebhookStore(one, SecretBox(Fernet.generate_key()))
        )
        await queue.dispatch()
        async with one.acquire() as connection:
            await outbox.append(connection, [_draft(1)], None)
        assert (await queue.dispatch()).read == 1
        assert any("set_config('synchronous_commit', 'off', true)" in q for q in settings)
        # No active webhook: the round moved past the event without reading it.
        assert not any(q.startswith(f"SELECT {EVENT_COLUMNS} FROM events") for q in settings)
        assert await one.fetchval("SHOW synchronous_commit") == "on"
    finally:
        await one.close()


async def test_with_no_active_webhook_the_position_moves_past_events_unread(
    pool: asyncpg.Pool,
) -> None:
    """Nothing is delivered for them; a webhook made afterwards receives what comes after."""
    store = PostgresWebhookStore(pool, SecretBox(Fernet.generate_key()))
    queue = PostgresWebhookQueue(pool, store)
    await queue.dispatch()  # its position starts (the tables were emptied)
    async with pool.acquire() as connection:
        await outbox.append(connection, [_draft(1), _draft(2), _draft(3)], None)
    assert (await queue.dispatch(batch=2)).read == 2
    assert (await queue.dispatch(batch=2)).read == 1
    assert (await queue.dispatch(batch=2)).read == 0
    await store.create(
        WebhookDraft("http://receiver.test/", (EventType.TEAM_UPDATED,), None, None), "whsec_x"
    )
    async with pool.acquire() as connection:
        await outbox.append(connection, [_draft(4)], None)
    assert (await queue.dispatch()).read == 1
    assert await _delivered_subjects(pool) == [4]


class WakingQueue(PostgresWebhookQueue):
    """The queue, its first round joined by a new event whose wake-up comes mid-round."""

    def __init__(self, pool: asyncpg.Pool, store: PostgresWebhookStore) -> None:
        super().__init__(pool, store)
        self.worker: WebhookWorker | None = None
        self.rounds = 0

    async def dispatch(self, batch: int = 500) -> Dispatched:
        dispatched = await super().dispatch(batch)
        self.rounds += 1
        if self.rounds == 1:
            async with self._pool.acquire() as connection:
                await outbox.append(connection, [_draft(7)], None)
            assert self.worker is not None
            self.worker.wake()  # as the event's NOTIFY would
        return dispatched


async def test_an_event_woken_for_during_a_round_is_dispatched_at_once(
    pool: asyncpg.Pool,
) -> None:
    store = PostgresWebhookStore(pool, SecretBox(Fernet.generate_key()))
    queue = WakingQueue(pool, store)
    await PostgresWebhookQueue(pool, store).dispatch()  # its position starts
    worker = WebhookWorker(queue, cast(Any, None), Limits(3, 10), WorkerTimings(poll_seconds=3600))
    queue.worker = worker
    worker.start()
    try:
        for _ in range(250):  # 5 s, where the poll would take an hour
            newest = await pool.fetchval("SELECT max(id) FROM events")
            position = await pool.fetchval(
                "SELECT position FROM webhook_dispatch WHERE name = 'deliveries'"
            )
            if queue.rounds > 1 and position == newest:
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError("the event woken for during the first round waits")
    finally:
        await worker.stop()
