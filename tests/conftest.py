"""A real PostgreSQL (embedded, or TEST_DATABASE_URL) and an empty catalog per test, for
the integration and end-to-end tests, and deployer retries that do not wait. Every fixture
here is lazy: the server starts only when a test asks for it, so the unit tests never start
one."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from api.bootstrap import migrate
from providers.postgres.database import EmbeddedPostgres, create_pool
from providers.postgres.tables import CATALOG_TABLES
from tests.support.deployer_fakes.retries import instant_retries
from tests.support.statements import StatementLog

pytest_plugins = ["tests.support.internal_answers"]


@pytest.fixture(autouse=True)
def no_stored_login(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The URL and token `paved login` keeps in the config dir are the developer's: no test
    (nor the commands it runs) reads them. A test of the login sets a config dir of its own."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.getbasetemp() / "no-login"))


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
    """The session's pool, over a catalog emptied for this test. A background task of the
    previous test may still be finishing a write: when PostgreSQL picks the emptying as the
    deadlock's victim (it rolls back whole), empty again."""
    truncate = f"TRUNCATE {', '.join(CATALOG_TABLES)} RESTART IDENTITY CASCADE"
    for attempt in range(5):
        try:
            await session_pool.execute(truncate)
            break
        except asyncpg.DeadlockDetectedError:
            if attempt == 4:
                raise
            await asyncio.sleep(0.05)
    return session_pool


@pytest.fixture(scope="session")
def statements() -> StatementLog:
    return StatementLog()


@pytest.fixture
def retries_without_waiting() -> Iterator[None]:
    """The deployer adapters retry as often as their policy says, with no wait between tries."""
    with instant_retries():
        yield
