"""The outbox's two forms of one statement: one event as a parameter per column, several as
an array per column. Each writes exactly the drafts it is given, in their order, with the
change's actor and request id, and each is planned once per connection (a generic plan), not
at every call."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from domain.events.model import EventDraft, EventType, SubjectKind
from providers.postgres import outbox
from providers.postgres.database import create_pool
from tests.support.audit import accepted_entry

ENTRY = accepted_entry("req-forms")
WRITES = 8
"""More than the five calls after which PostgreSQL weighs the generic plan."""


def _draft(index: int) -> EventDraft:
    return EventDraft(
        EventType.TEAM_UPDATED,
        SubjectKind.TEAM,
        100 + index,
        {"slug": f"t-{index}", "tags": ["a", "b"], "nested": {"n": index}},
        team_id=None,
        service_id=None,
        environment_id=3 if index % 2 else None,
        deployment_id=None,
    )


async def _written(connection: outbox.Connection, after: int) -> list[tuple[object, ...]]:
    rows = await connection.fetch(
        "SELECT type, subject_kind, subject_id, environment_id, data, actor_kind, actor_id, "
        "actor_name, request_id FROM events WHERE id > $1 ORDER BY tx, id",
        after,
    )
    return [tuple(row.values()) for row in rows]


def _expected(drafts: list[EventDraft]) -> list[tuple[object, ...]]:
    return [
        (
            draft.type.value,
            draft.subject_kind.value,
            draft.subject_id,
            draft.environment_id,
            dict(draft.data),
            "user",
            7,
            "ada",
            "req-forms",
        )
        for draft in drafts
    ]


@pytest.mark.parametrize("count", [1, 3], ids=["one event", "several events"])
async def test_each_form_writes_the_drafts_in_order(pool: asyncpg.Pool, count: int) -> None:
    drafts = [_draft(index) for index in range(count)]
    assert outbox.one_event(drafts) is (count == 1)
    async with pool.acquire() as connection:
        newest = await connection.fetchval("SELECT coalesce(max(id), 0) FROM events")
        async with connection.transaction():
            await outbox.append(connection, drafts, ENTRY)
        assert await _written(connection, newest) == _expected(drafts)


@pytest.fixture
async def one_connection(migrated_url: str, pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Pool]:
    single = await create_pool(migrated_url, min_size=1, max_size=1)
    try:
        yield single
    finally:
        await single.close()


@pytest.mark.parametrize(
    ("count", "form"),
    [(1, "%$5::text AS type%"), (2, "%unnest($5::text[]%")],
    ids=["one event", "several events"],
)
async def test_each_form_reuses_its_generic_plan(
    one_connection: asyncpg.Pool, count: int, form: str
) -> None:
    for write in range(WRITES):
        drafts = [_draft(write * count + index) for index in range(count)]
        async with one_connection.acquire() as connection, connection.transaction():
            await outbox.append(connection, drafts, ENTRY)
    plans = await one_connection.fetchrow(
        "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
        "WHERE statement LIKE $1 ORDER BY generic_plans DESC LIMIT 1",
        "WITH %INSERT INTO events%" + form.strip("%") + "%",
    )
    assert plans is not None, "the form's statement was not prepared on the connection"
    assert plans["generic_plans"] >= WRITES - 5
    assert plans["custom_plans"] <= 5
