"""The server wakes the event listeners after a change has committed, in the background: the
request's own statements never notify (a notifying transaction would commit only after every
other notifying one), and a listener is still told the newest event's id."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from providers.postgres.outbox import CHANNEL
from tests.support.graphql import GraphQLClient
from tests.support.statements import StatementLog

WAIT_SECONDS = 5.0


@pytest.fixture
async def wakeups(migrated_url: str) -> AsyncIterator[asyncio.Queue[str]]:
    received: asyncio.Queue[str] = asyncio.Queue()
    listener = await asyncpg.connect(migrated_url)
    await listener.add_listener(CHANNEL, lambda *args: received.put_nowait(args[-1]))
    try:
        yield received
    finally:
        await listener.close()


async def _woken_with(wakeups: asyncio.Queue[str], newest: str) -> None:
    async with asyncio.timeout(WAIT_SECONDS):
        while await wakeups.get() != newest:
            pass


async def test_a_change_in_a_transaction_wakes_the_listeners_from_the_background(
    gql: GraphQLClient,
    pool: asyncpg.Pool,
    statements: StatementLog,
    wakeups: asyncio.Queue[str],
) -> None:
    made = await gql.mutate("createTeam", "team { slug }", slug="platform", name="Platform")
    assert made["errors"] == []
    with statements.capture() as seen:
        # A team with a parent is made in a transaction of the request (not a batched write).
        made = await gql.mutate(
            "createTeam", "team { slug }", slug="payments", name="Payments", parent="platform"
        )
    assert made["errors"] == []
    assert any(statement == "BEGIN;" for statement in seen), seen
    assert not any("pg_notify" in statement for statement in seen), seen
    newest = await pool.fetchval("SELECT max(id) FROM events WHERE type = 'TEAM_CREATED'")
    await _woken_with(wakeups, str(newest))
