"""A write's statement is planned once per connection, not at every call: its events come
from arrays whose length PostgreSQL's generic plan cannot know, and had it counted them at
ten (its guess) the plan would cost more than one made for the arguments at hand, and every
write would be planned anew, which costs PostgreSQL more than the write itself."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from api.bootstrap import build_ports
from api.settings import Settings
from domain.access.model import LOCAL_ADMIN
from providers.postgres.database import create_pool
from resolvers import catalog_mutations as m
from resolvers.context import Context

WRITES = 8
"""More than the five calls after which PostgreSQL weighs the generic plan."""

_PLANS = """
SELECT generic_plans, custom_plans FROM pg_prepared_statements
WHERE statement LIKE $1 ORDER BY generic_plans DESC LIMIT 1
"""


@pytest.fixture
async def one_connection(migrated_url: str, pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Pool]:
    """A pool of one connection, so that every write prepares its statement there (`pool`
    empties the database)."""
    single = await create_pool(migrated_url, min_size=1, max_size=1)
    try:
        yield single
    finally:
        await single.close()


def _context(pool: asyncpg.Pool) -> Context:
    return Context.for_request(build_ports(Settings(), pool), LOCAL_ADMIN, "plans")


async def _new_teams(context: Context, index: int) -> Any:
    return await m.create_team(context, {"slug": f"team-{index}", "name": f"Team {index}"})


async def _new_services(context: Context, index: int) -> Any:
    if index == 0:
        await m.create_team(context, {"slug": "owner", "name": "Owner"})
    data = {"slug": f"svc-{index}", "name": f"Service {index}", "owner": "owner"}
    return await m.create_service(context, data)


async def _renamed_team(context: Context, index: int) -> Any:
    if index == 0:
        await m.create_team(context, {"slug": "renamed", "name": "Renamed"})
    return await m.update_team(context, {"team": "renamed", "name": f"Name {index}"})


@pytest.mark.parametrize(
    ("write", "statement"),
    [
        (_new_teams, "WITH changed AS (INSERT INTO teams %"),
        (_new_services, "WITH owner AS (SELECT id FROM teams %"),
        (_renamed_team, "WITH recorded AS (%INSERT INTO audit_events%"),
    ],
    ids=["new row, its audit record and event", "new service", "a change's record and event"],
)
async def test_a_write_reuses_its_generic_plan(
    one_connection: asyncpg.Pool,
    write: Callable[[Context, int], Awaitable[Any]],
    statement: str,
) -> None:
    context = _context(one_connection)
    for index in range(WRITES):
        assert not (await write(context, index)).errors
    plans = await one_connection.fetchrow(_PLANS, statement)
    assert plans is not None, "the write's statement was not prepared on the connection"
    assert plans["generic_plans"] >= WRITES - 5
    assert plans["custom_plans"] <= 5
