"""API tokens cost no statement of their own once verified (`api/token_cache.py`), and the
cache never lets a token do what the database no longer allows: a revocation on one app
process holds on the very next request on another; expiry is exact; a lost LISTEN connection
drops everything; forged tokens are never kept; the last use is still written, in batches."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import cast

import asyncpg
import httpx2 as httpx
import pytest
from starlette.applications import Starlette

from api.bootstrap import Container, Overrides
from api.graphql_http import GraphQLEndpoint
from api.settings import Settings
from api.token_cache import TokenCache, TokenCacheSettings
from domain.access.model import Scope
from domain.access.tokens import hash_token, new_token
from providers.postgres.access_store import PostgresAccessStore
from providers.postgres.notifications import PostgresWakeups
from tests.support.access import seed, token
from tests.support.app import in_process_client, started_app
from tests.support.graphql import GraphQLClient
from tests.support.statements import StatementLog

LOOKUP = 'query { service(slug: "pay-api") { slug name owner { slug } } }'
WAIT = 30.0


def cache_of(app: Starlette) -> TokenCache:
    container: Container = app.state.container
    assert container.token_cache is not None
    return container.token_cache


def listener_of(app: Starlette) -> PostgresWakeups:
    container: Container = app.state.container
    return cast(PostgresWakeups, container.feed.wakeups)


async def until(what: str, check: Callable[[], bool | Awaitable[bool]]) -> None:
    deadline = time.monotonic() + WAIT
    while True:
        done = check()
        if done if isinstance(done, bool) else await done:
            return
        assert time.monotonic() < deadline, f"still not {what} after {WAIT:.0f} s"
        await asyncio.sleep(0.01)


async def status(http: httpx.AsyncClient, secret: str, query: str = LOOKUP) -> int:
    response = await http.post(
        "/graphql", json={"query": query}, headers={"Authorization": f"Bearer {secret}"}
    )
    return response.status_code


@pytest.fixture
def fast_only(endpoint: GraphQLEndpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast path answers alone (verify mode would run the executor too)."""
    monkeypatch.setattr(endpoint, "verify", False)


@pytest.fixture
async def store(gql: GraphQLClient, pool: asyncpg.Pool) -> PostgresAccessStore:
    return await seed(gql, pool)


# --- cost -------------------------------------------------------------------------------


@pytest.mark.usefixtures("fast_only")
async def test_a_fast_lookup_with_a_token_costs_one_statement_as_without(
    gql: GraphQLClient,
    store: PostgresAccessStore,
    statements: StatementLog,
    endpoint: GraphQLEndpoint,
    app: Starlette,
) -> None:
    secret = await token(store, Scope.READ, user="ana")
    with_token = gql.with_token(secret)
    await until("listening", lambda: cache_of(app).trusted)
    with statements.capture() as first:
        await with_token(LOOKUP)
    assert len(first) == 2, first  # the token's one verification, then the lookup
    answered = endpoint.fast_answers
    counts = []
    for _ in range(3):
        with statements.capture() as anonymous:
            await gql(LOOKUP)
        with statements.capture() as tokened:
            data = await with_token(LOOKUP)
        assert data["service"]["owner"]["slug"] == "pay"
        counts.append((len(anonymous), len(tokened)))
    assert counts == [(1, 1)] * 3, (counts, tokened)
    assert endpoint.fast_answers - answered == 6


# --- revocation -------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def other_app(test_settings: Settings) -> AsyncIterator[Starlette]:
    """A second app process on the same database (its own pool, LISTEN connection and cache),
    with no background job of its own."""
    overrides = Overrides(
        rollout_sweep_seconds=3600,
        provisioning_sweep_seconds=3600,
        rollout_takeover_notices=False,
        event_prune_seconds=365 * 86400,
    )
    async with started_app(test_settings, overrides) as app:
        await until("listening", lambda: cache_of(app).trusted)
        yield app


@pytest.fixture
async def other(other_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with in_process_client(other_app) as http:
        yield http


async def test_a_revocation_on_one_process_holds_on_the_next_request_on_another(
    gql: GraphQLClient,
    store: PostgresAccessStore,
    app: Starlette,
    other_app: Starlette,
    other: httpx.AsyncClient,
) -> None:
    await until("listening", lambda: cache_of(app).trusted)
    mine = gql.with_token(await token(store, Scope.READ, Scope.WRITE, user="ana"))
    for _ in range(5):
        secret = await token(store, Scope.READ, user="ana")
        assert await status(other, secret) == 200
        assert await status(other, secret) == 200  # from the other process's cache
        hits = cache_of(other_app).hits
        assert await status(other, secret) == 200
        assert cache_of(other_app).hits == hits + 1
        listed = await mine("{ viewer { ... on User { tokens { id prefix } } } }")
        (node,) = [t for t in listed["viewer"]["tokens"] if secret.startswith(t["prefix"])]
        revoked = await mine.mutate("revokeApiToken", "token { revokedAt }", token=node["id"])
        assert revoked["errors"] == []
        assert revoked["token"]["revokedAt"]
        assert await status(other, secret) == 401


async def test_rights_changed_anywhere_hold_on_the_next_request(
    gql: GraphQLClient, store: PostgresAccessStore, app: Starlette, other: httpx.AsyncClient
) -> None:
    """A membership removed through the API (this process) or an administration granted
    with plain SQL (an operator's command, no request at all) reaches every cache."""
    secret = await token(store, Scope.READ, Scope.WRITE, Scope.ADMIN, user="ana")
    ana = gql.with_token(secret)
    update = (
        'mutation { updateService(input: {service: "pay-api", name: "x"}) { errors { code } } }'
    )
    assert (await ana(update))["updateService"]["errors"] == []
    assert (await ana(update))["updateService"]["errors"] == []
    removed = await gql.mutate("removeTeamMember", "team { slug }", team="pay", user="ana")
    assert removed["errors"] == []
    assert (await ana(update))["updateService"]["errors"] == [{"code": "FORBIDDEN"}]

    on_other = GraphQLClient(other, secret)
    assert (await on_other(update))["updateService"]["errors"] == [{"code": "FORBIDDEN"}]
    cache = cache_of(app)
    notices = len(cache)
    await store.set_admin("ana", True)  # as `paved user admin` does, in another process
    await until("told", lambda: len(cache) < notices)
    assert (await ana(update))["updateService"]["errors"] == []


# --- expiry -----------------------------------------------------------------------------


async def test_a_cached_token_is_refused_from_the_instant_it_expires(
    client: httpx.AsyncClient,
    store: PostgresAccessStore,
    app: Starlette,
    statements: StatementLog,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cache = cache_of(app)
    await until("listening", lambda: cache.trusted)
    expires = datetime.now(UTC) + timedelta(hours=1)
    secret = await token(store, Scope.READ, user="ana", expires_at=expires)
    assert await status(client, secret) == 200
    monkeypatch.setattr(cache, "_now", lambda: expires - timedelta(microseconds=1))
    with statements.capture() as seen:
        assert await status(client, secret) == 200
    assert not any("api_tokens" in statement for statement in seen)
    monkeypatch.setattr(cache, "_now", lambda: expires)
    with statements.capture() as seen:
        assert await status(client, secret) == 401
    assert seen == []
    monkeypatch.undo()
    assert await status(client, secret) == 200  # the database's clock: an hour to go


async def test_an_entry_older_than_the_maximum_age_is_verified_again(
    client: httpx.AsyncClient,
    store: PostgresAccessStore,
    app: Starlette,
    statements: StatementLog,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cache = cache_of(app)
    await until("listening", lambda: cache.trusted)
    secret = await token(store, Scope.READ, user="ana")
    assert await status(client, secret) == 200
    later = time.monotonic() + cache.settings.max_age_seconds + 1
    monkeypatch.setattr(cache, "_clock", lambda: later)
    with statements.capture() as seen:
        assert await status(client, secret) == 200
    assert sum("api_tokens" in statement for statement in seen) == 1


# --- a lost LISTEN connection -----------------------------------------------------------


async def test_a_lost_listen_connection_drops_the_cache_and_trusts_nothing_meanwhile(
    other: httpx.AsyncClient,
    other_app: Starlette,
    store: PostgresAccessStore,
    pool: asyncpg.Pool,
) -> None:
    cache, listener = cache_of(other_app), listener_of(other_app)
    secret = await token(store, Scope.READ, user="ana")
    assert await status(other, secret) == 200
    assert len(cache) == 1
    connections = listener.connections
    assert listener.backend_pid is not None
    assert await pool.fetchval("SELECT pg_terminate_backend($1)", listener.backend_pid)
    await until("told of the loss", lambda: not cache.trusted)
    assert len(cache) == 0
    # Revoked while nobody listened: the notice is lost, yet the token is refused.
    await pool.execute("UPDATE api_tokens SET revoked_at = now()")
    misses = cache.misses
    assert await status(other, secret) == 401
    assert cache.misses == misses + 1
    again = await token(store, Scope.READ, user="ana")
    assert await status(other, again) == 200
    assert len(cache) == 0  # verified, not kept: no notice would reach it
    await until("listening again", lambda: cache.trusted)
    assert listener.connections == connections + 1
    assert await status(other, secret) == 401
    assert await status(other, again) == 200
    assert len(cache) == 1


# --- hostile tokens ---------------------------------------------------------------------


async def test_forged_tokens_are_never_kept(
    client: httpx.AsyncClient,
    store: PostgresAccessStore,
    app: Starlette,
    statements: StatementLog,
) -> None:
    cache = cache_of(app)
    await until("listening", lambda: cache.trusted)
    secret = await token(store, Scope.READ, user="ana")
    assert await status(client, secret) == 200
    kept = len(cache)
    for _ in range(50):
        forged = new_token().secret  # well formed, checksum right, unknown
        with statements.capture() as seen:
            assert await status(client, forged) == 401
        assert len(seen) == 1  # looked up, as without a cache, never more
    assert await status(client, secret[:-1] + ("A" if secret[-1] != "A" else "B")) == 401
    assert len(cache) == kept
    # Neither the secret nor the hash the database keeps is what the cache is keyed by.
    keys = list(cache._entries)
    assert hash_token(secret) not in keys
    assert all(secret.encode() not in key for key in keys)


async def test_the_cache_is_bounded(store: PostgresAccessStore, pool: asyncpg.Pool) -> None:
    written: list[dict[int, datetime]] = []

    async def record(uses: object) -> None:
        written.append(dict(cast(dict[int, datetime], uses)))

    cache = TokenCache(store, record_uses=record, settings=TokenCacheSettings(size=3))
    cache.listening()
    secrets_ = [await token(store, Scope.READ, user="ana") for _ in range(5)]
    for secret in secrets_:
        assert await cache.authenticate(secret) is not None
    assert len(cache) == 3
    hits = cache.hits
    assert await cache.authenticate(secrets_[-1]) is not None
    assert cache.hits == hits + 1
    assert await cache.authenticate(secrets_[0]) is not None
    assert cache.hits == hits + 1  # evicted, looked up again
    await cache.flush()
    assert len(written) == 1
    assert len(written[0]) == 5


# --- last use ---------------------------------------------------------------------------


async def test_the_last_use_is_written_in_batches_at_most_once_a_minute(
    client: httpx.AsyncClient,
    store: PostgresAccessStore,
    app: Starlette,
    statements: StatementLog,
) -> None:
    cache = cache_of(app)
    secret = await token(store, Scope.READ, user="ana")
    with statements.capture() as seen:
        for _ in range(3):
            assert await status(client, secret) == 200
    assert not any("SET last_used_at" in statement for statement in seen)
    token_id = await store._pool.fetchval(
        "SELECT id FROM api_tokens WHERE secret_hash = $1", hash_token(secret)
    )
    assert token_id in cache.pending_uses
    await cache.flush()
    used = await store.token_by_id(token_id)
    assert used is not None
    assert used.last_used_at is not None
    assert await status(client, secret) == 200
    assert token_id not in cache.pending_uses  # noted less than a minute ago


async def test_the_uses_noted_are_written_at_shutdown(
    test_settings: Settings, store: PostgresAccessStore
) -> None:
    secret = await token(store, Scope.READ, user="ana")
    quiet = Overrides(
        rollout_sweep_seconds=3600,
        provisioning_sweep_seconds=3600,
        rollout_takeover_notices=False,
        event_prune_seconds=365 * 86400,
        token_cache=TokenCacheSettings(flush_seconds=3600),
    )
    async with started_app(test_settings, quiet) as app, in_process_client(app) as http:
        assert await status(http, secret) == 200
        row = await store._pool.fetchrow(
            "SELECT last_used_at FROM api_tokens WHERE secret_hash = $1", hash_token(secret)
        )
        assert row is not None
        assert row["last_used_at"] is None
    used = await store._pool.fetchval(
        "SELECT last_used_at FROM api_tokens WHERE secret_hash = $1", hash_token(secret)
    )
    assert used is not None
