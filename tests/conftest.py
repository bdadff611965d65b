"""Fixtures: a real PostgreSQL (embedded, or TEST_DATABASE_URL), an empty catalog per
test, and the ASGI app served in-process over HTTP."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx2 as httpx
import pytest
from starlette.applications import Starlette

from api.app import create_app
from api.bootstrap import Container, Overrides, migrate
from api.graphql_http import GraphQLEndpoint
from api.settings import Settings
from providers.postgres.database import EmbeddedPostgres, create_pool
from providers.postgres.tables import CATALOG_TABLES
from tests.support.statements import StatementLog


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("TEST_DATABASE_URL")
    if external:
        yield external
        return
    embedded = EmbeddedPostgres(Path(tmp_path_factory.mktemp("embedded")))
    try:
        yield embedded.start()
    finally:
        embedded.stop()


@pytest.fixture(scope="session")
async def migrated_url(database_url: str) -> str:
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await connection.close()
    await migrate(database_url)
    return database_url


@pytest.fixture(scope="session")
async def session_pool(migrated_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(migrated_url, min_size=1, max_size=4)
    yield pool
    await pool.close()


@pytest.fixture
async def pool(session_pool: asyncpg.Pool) -> asyncpg.Pool:
    """The session's pool, over a catalog emptied for this test."""
    await session_pool.execute(f"TRUNCATE {', '.join(CATALOG_TABLES)} RESTART IDENTITY CASCADE")
    return session_pool


@pytest.fixture(scope="session")
def statements() -> StatementLog:
    return StatementLog()


@pytest.fixture(scope="session")
def test_settings(migrated_url: str) -> Settings:
    """The executor answers every request; the fast read path's answers are compared with it."""
    return Settings(
        database_url=migrated_url,
        demo=False,
        pool_min_size=1,
        pool_max_size=8,
        fast_reads="verify",
        rollout_poll_seconds=0.05,
    )


@pytest.fixture(scope="session")
async def app(test_settings: Settings, statements: StatementLog) -> AsyncIterator[Starlette]:
    app = create_app(test_settings, Overrides(query_logger=statements.record))
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture(scope="session")
async def app_client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        yield client


@pytest.fixture
def endpoint(app: Starlette) -> GraphQLEndpoint:
    endpoint: GraphQLEndpoint = app.state.graphql
    return endpoint


async def forget_providers(app: Starlette) -> None:
    """Ids restart with each test's empty catalog: what the runner and the adapters remember
    of earlier deployments must go with them."""
    container: Container = app.state.container
    await container.rollouts.forget_everything()
    container.deployers.forget()
    container.live.forget()


@pytest.fixture
async def client(
    app: Starlette, app_client: httpx.AsyncClient, pool: asyncpg.Pool, endpoint: GraphQLEndpoint
) -> AsyncIterator[httpx.AsyncClient]:
    """The in-process app over an empty catalog. Every query a test sends is answered by
    both read paths; the test fails if they disagree."""
    endpoint.disagreements.clear()
    await forget_providers(app)
    yield app_client
    # Before the next test empties the tables under them.
    await forget_providers(app)
    disagreements = list(endpoint.disagreements)
    endpoint.disagreements.clear()
    assert not disagreements, disagreements[0]


@pytest.fixture
def gql(client: httpx.AsyncClient) -> Any:
    from tests.support.graphql import GraphQLClient

    return GraphQLClient(client)
