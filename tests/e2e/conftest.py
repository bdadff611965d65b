"""The ASGI app served in-process over HTTP, on the session's migrated database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx2 as httpx
import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from starlette.applications import Starlette

from api.bootstrap import Overrides
from api.graphql_http import GraphQLEndpoint
from api.settings import Settings
from api.token_cache import TokenCacheSettings
from tests.support.app import forget_providers, in_process_client, started_app
from tests.support.graphql import GraphQLClient
from tests.support.statements import StatementLog


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
        # The webhook tests run apps of their own that deliver.
        webhook_delivery=False,
        webhook_encryption_key=SecretStr(Fernet.generate_key().decode()),
    )


@pytest.fixture(scope="session")
async def app(test_settings: Settings, statements: StatementLog) -> AsyncIterator[Starlette]:
    # No background job during the session: tests make deployments straight in the store and
    # expect them left as they are (begin claims those made through the API), and may write
    # events of any age.
    overrides = Overrides(
        query_logger=statements.record,
        rollout_sweep_seconds=3600,
        provisioning_sweep_seconds=3600,
        rollout_takeover_notices=False,
        event_prune_seconds=365 * 86400,
        # The audit tests compare the records they append (unsealed) with what they read back.
        audit_sealing=False,
        # Tests write the noted token uses themselves (`flush`), when they want them.
        token_cache=TokenCacheSettings(flush_seconds=3600),
    )
    async with started_app(test_settings, overrides) as app:
        yield app


@pytest.fixture(scope="session")
async def app_client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with in_process_client(app) as client:
        yield client


@pytest.fixture
def endpoint(app: Starlette) -> GraphQLEndpoint:
    endpoint: GraphQLEndpoint = app.state.graphql
    return endpoint


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
def gql(client: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(client)
