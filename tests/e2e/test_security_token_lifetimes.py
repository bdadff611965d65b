"""Issue 17, finding 4: a short-lived token minted a permanent one.

Written as the attack: a token made with `--expires 45m` and scopes read + deploy calls
`createApiToken` for its own user. Every token a token creates is now capped at the
creating token's expiry, and every token at `PAVED_MAX_TOKEN_DAYS` (90 by default),
whether the mutation or `paved token create` makes it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from starlette.applications import Starlette

from api.settings import Settings
from api.token_cache import TokenCache
from domain.access.model import Scope
from domain.access.tokens import hash_token
from domain.audit.model import AuditOutcome
from providers.postgres.access_store import PostgresAccessStore
from tests.support.access import seed
from tests.support.app import in_process_client, started_app
from tests.support.graphql import GraphQLClient
from tests.support.processes import clean_environment, migrated_scratch_database, run_paved

TOKEN = "token { id scopes expiresAt } secret"
VIEWER = "{ viewer { ... on User { handle } } }"


async def short_lived(store: PostgresAccessStore) -> tuple[datetime, str]:
    """What `paved token create --user ana --scope read --scope deploy --expires 45m` makes."""
    record, secret = await store.create_token(
        user_handle="ana",
        client_slug=None,
        name="45 minutes",
        scopes=[Scope.READ, Scope.DEPLOY],
        expires_at=datetime.now(UTC) + timedelta(minutes=45),
    )
    assert record.expires_at is not None
    return record.expires_at, secret


async def mint(gql: GraphQLClient, **more: Any) -> dict[str, Any]:
    """`createApiToken` for ana, by whatever credential `gql` sends."""
    fields: dict[str, Any] = {"user": "ana", "name": "minted", "scopes": ["READ", "DEPLOY"]}
    return await gql.mutate("createApiToken", TOKEN, **{**fields, **more})


def expiry_of(payload: dict[str, Any]) -> datetime:
    assert payload["errors"] == [], payload
    return datetime.fromisoformat(payload["token"]["expiresAt"])


def errors(payload: dict[str, Any]) -> list[tuple[str, list[str]]]:
    return [(error["code"], error["path"]) for error in payload["errors"]]


async def status(gql: GraphQLClient, secret: str) -> int:
    response = await gql.http.post(
        "/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {secret}"}
    )
    return response.status_code


async def pass_time(pool: asyncpg.Pool, app: Starlette, delta: timedelta) -> None:
    """The database's clock cannot move: every token's expiry moves back instead, and the
    app's token cache has heard of it (as it would of an operator's change) before the next
    request."""
    await pool.execute("UPDATE api_tokens SET expires_at = expires_at - $1::interval", delta)
    cache: TokenCache | None = app.state.container.token_cache
    if cache is not None:
        await cache.settle()


async def test_a_45_minute_token_mints_no_token_that_outlives_it(
    gql: GraphQLClient, pool: asyncpg.Pool, app: Starlette
) -> None:
    store = await seed(gql, pool)
    parent_expiry, parent = await short_lived(store)
    # A control: a day-long token of the same user, created by the local admin.
    control = await mint(gql, expiresAt=(datetime.now(UTC) + timedelta(days=1)).isoformat())
    assert control["errors"] == []

    child = await mint(gql.with_token(parent))
    assert child["token"]["scopes"] == ["READ", "DEPLOY"]
    assert abs(expiry_of(child) - parent_expiry) < timedelta(seconds=1)
    assert await status(gql, child["secret"]) == 200

    await pass_time(pool, app, timedelta(minutes=45, seconds=1))
    assert await status(gql, parent) == 401
    assert await status(gql, child["secret"]) == 401
    assert await status(gql, control["secret"]) == 200


async def test_a_child_asking_to_outlive_its_parent_is_refused(
    gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    store = await seed(gql, pool)
    parent_expiry, parent = await short_lived(store)
    as_parent = gql.with_token(parent)

    later = await mint(as_parent, expiresAt=(parent_expiry + timedelta(minutes=1)).isoformat())
    assert errors(later) == [("VALIDATION", ["input", "expiresAt"])]
    assert "may not outlive the token creating it" in later["errors"][0]["message"]
    assert later["secret"] is None
    earlier = parent_expiry - timedelta(minutes=5)
    assert expiry_of(await mint(as_parent, expiresAt=earlier.isoformat())) == earlier
    # Nothing but the parent and the earlier child exists.
    assert await pool.fetchval("SELECT count(*) FROM api_tokens") == 2


async def test_a_grandchild_is_capped_at_the_first_tokens_expiry(
    gql: GraphQLClient, pool: asyncpg.Pool, app: Starlette
) -> None:
    store = await seed(gql, pool)
    parent_expiry, parent = await short_lived(store)
    child = await mint(gql.with_token(parent))
    as_child = gql.with_token(child["secret"])

    grandchild = await mint(as_child, scopes=["READ"])
    assert abs(expiry_of(grandchild) - parent_expiry) < timedelta(seconds=1)
    beyond = await mint(as_child, expiresAt=(parent_expiry + timedelta(days=1)).isoformat())
    assert errors(beyond) == [("VALIDATION", ["input", "expiresAt"])]

    await pass_time(pool, app, timedelta(minutes=45, seconds=1))
    assert await status(gql, grandchild["secret"]) == 401


async def test_wider_scopes_are_refused_as_before(gql: GraphQLClient, pool: asyncpg.Pool) -> None:
    store = await seed(gql, pool)
    _, parent = await short_lived(store)
    wider = await mint(gql.with_token(parent), scopes=["READ", "DEPLOY", "WRITE"])
    assert errors(wider) == [("VALIDATION", ["input", "scopes"])]
    assert wider["secret"] is None


async def test_max_token_days_bounds_an_admins_tokens(
    gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    """The local admin has no token to inherit an expiry from: only the setting bounds it."""
    await seed(gql, pool)
    before = datetime.now(UTC)
    unbounded = await mint(gql)
    after = datetime.now(UTC)
    assert before + timedelta(days=90) <= expiry_of(unbounded) <= after + timedelta(days=90)

    refused = await mint(gql, expiresAt=(datetime.now(UTC) + timedelta(days=91)).isoformat())
    assert errors(refused) == [("VALIDATION", ["input", "expiresAt"])]
    assert "at most 90 days (PAVED_MAX_TOKEN_DAYS)" in refused["errors"][0]["message"]
    asked = (datetime.now(UTC) + timedelta(days=89)).replace(microsecond=0)
    assert expiry_of(await mint(gql, expiresAt=asked.isoformat())) == asked


@pytest.fixture
async def uncapped(test_settings: Settings, pool: asyncpg.Pool) -> AsyncIterator[GraphQLClient]:
    """The app started with `PAVED_MAX_TOKEN_DAYS=0`."""
    settings = test_settings.model_copy(update={"max_token_days": 0, "pool_max_size": 2})
    async with started_app(settings) as app, in_process_client(app) as http:
        yield GraphQLClient(http)


async def test_zero_max_token_days_means_no_cap_but_parents_still_bound(
    uncapped: GraphQLClient, pool: asyncpg.Pool
) -> None:
    store = await seed(uncapped, pool)
    forever = await mint(uncapped)
    assert forever["errors"] == []
    assert forever["token"]["expiresAt"] is None
    far = (datetime.now(UTC) + timedelta(days=3650)).replace(microsecond=0)
    assert expiry_of(await mint(uncapped, expiresAt=far.isoformat())) == far

    parent_expiry, parent = await short_lived(store)
    child = await mint(uncapped.with_token(parent))
    assert abs(expiry_of(child) - parent_expiry) < timedelta(seconds=1)


# --- `paved token create` follows the same cap ---------------------------------------------


@pytest.fixture(scope="module")
async def cli_database(database_url: str) -> AsyncIterator[str]:
    bob = "INSERT INTO users (handle, name, email) VALUES ('bob', 'Bob', 'bob@example.com')"
    async with migrated_scratch_database(database_url, bob) as dsn:
        yield dsn


async def paved_token(dsn: str, cwd: Path, max_days: str, *more: str) -> tuple[int, str, str]:
    environment = clean_environment(DATABASE_URL=dsn, PAVED_MAX_TOKEN_DAYS=max_days)
    return await run_paved(
        cwd, environment, "token", "create", "--user", "bob", "--scope", "read", *more
    )


async def expiry_in(dsn: str, secret: str) -> datetime | None:
    connection = await asyncpg.connect(dsn)
    try:
        expires_at: datetime | None = await connection.fetchval(
            "SELECT expires_at FROM api_tokens WHERE secret_hash = $1", hash_token(secret.strip())
        )
    finally:
        await connection.close()
    return expires_at


async def newest_audit_record(dsn: str) -> tuple[Any, ...]:
    connection = await asyncpg.connect(dsn)
    try:
        row = await connection.fetchrow(
            "SELECT operation, outcome, actor_name, targets, error_codes FROM audit_events"
            " ORDER BY id DESC LIMIT 1"
        )
    finally:
        await connection.close()
    assert row is not None
    return tuple(row.values())


async def test_the_cli_follows_the_same_cap(cli_database: str, tmp_path: Path) -> None:
    before = datetime.now(UTC)
    code, out, err = await paved_token(cli_database, tmp_path, "30")
    assert (code, err) == (0, "")
    expires_at = await expiry_in(cli_database, out)
    assert expires_at is not None
    assert before + timedelta(days=30) <= expires_at <= datetime.now(UTC) + timedelta(days=30)

    refused = await paved_token(cli_database, tmp_path, "30", "--expires", "31d")
    assert refused == (2, "", "paved: a token may live at most 30 days (PAVED_MAX_TOKEN_DAYS)\n")
    # Refused as `createApiToken` refuses it, and audited as such.
    assert await newest_audit_record(cli_database) == (
        "createApiToken", AuditOutcome.INVALID, "local operator", ["User:bob"], ["VALIDATION"]
    )  # fmt: skip

    code, out, err = await paved_token(cli_database, tmp_path, "0", "--expires", "999d")
    assert (code, err) == (0, "")
    long_lived = await expiry_in(cli_database, out)
    assert long_lived is not None
    assert long_lived > datetime.now(UTC) + timedelta(days=998)
    code, out, _ = await paved_token(cli_database, tmp_path, "0")
    assert code == 0
    assert await expiry_in(cli_database, out) is None
