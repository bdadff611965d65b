"""Hostile credentials against a production-mode app with OIDC on: each refused with 401
before any GraphQL work. JWTs are refused without touching the database; an API token has
to be looked up (one statement) to know it was revoked or has expired. And a first OIDC
login provisions the user and maps groups to teams."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx2 as httpx
import pytest

from api.bootstrap import Overrides
from api.settings import Settings
from domain.access.model import Scope
from providers.postgres.access_store import PostgresAccessStore
from tests.support.app import in_process_client, started_app
from tests.support.oidc import IdentityProvider, SigningKey, hmac_token, unsigned_token
from tests.support.statements import StatementLog

AUDIENCE = "paved-api"
QUERY = {"query": "{ viewer { __typename name ... on User { handle teams { slug } } } }"}


@pytest.fixture(scope="module")
def signing_key() -> SigningKey:
    return SigningKey.rsa("k1")


@pytest.fixture(scope="module")
def identity_provider(signing_key: SigningKey) -> Iterator[IdentityProvider]:
    provider = IdentityProvider(keys=[signing_key.jwk()])
    provider.start()
    yield provider
    provider.stop()


@pytest.fixture
async def production(
    test_settings: Settings,
    identity_provider: IdentityProvider,
    statements: StatementLog,
    pool: asyncpg.Pool,
) -> AsyncIterator[httpx.AsyncClient]:
    settings = test_settings.model_copy(
        update={
            "env": "production",
            "fast_reads": "on",
            "oidc_issuer": identity_provider.issuer,
            "oidc_audience": AUDIENCE,
        }
    )
    async with (
        started_app(settings, Overrides(query_logger=statements.record)) as app,
        in_process_client(app) as client,
    ):
        yield client


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": "ISSUER",
        "aud": AUDIENCE,
        "sub": "oidc-ana",
        "email": "ana@example.com",
        "name": "Ana",
        "groups": ["pay", "no-such-team"],
        "iat": now,
        "exp": now + 600,
    }
    return {key: value for key, value in {**base, **changes}.items() if value is not None}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def forged_jwts(key: SigningKey, issuer: str) -> list[tuple[str, str]]:
    other = SigningKey.rsa("k1")  # same kid, another key
    now = int(time.time())
    good = claims(iss=issuer)
    return [
        ("forged signature", other.sign(good)),
        ("expired", key.sign({**good, "exp": now - 3600, "iat": now - 7200})),
        ("not yet valid", key.sign({**good, "nbf": now + 3600})),
        ("alg none", unsigned_token({"alg": "none", "typ": "JWT", "kid": "k1"}, good)),
        ("wrong audience", key.sign({**good, "aud": "someone-else"})),
        ("wrong issuer", key.sign({**good, "iss": "https://evil.example"})),
        (
            "HS256 with the public key",
            hmac_token({"alg": "HS256", "typ": "JWT", "kid": "k1"}, good, key.public_pem()),
        ),
        ("garbage", "eyJ.garbage.here"),
    ]


async def test_hostile_jwts_are_401_without_sql(
    production: httpx.AsyncClient,
    signing_key: SigningKey,
    identity_provider: IdentityProvider,
    statements: StatementLog,
) -> None:
    for case, token in forged_jwts(signing_key, identity_provider.issuer):
        with statements.capture() as seen:
            response = await production.post("/graphql", json=QUERY, headers=bearer(token))
        assert response.status_code == 401, case
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", case
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert seen == [], case


async def test_no_credential_is_401_in_production_without_sql(
    production: httpx.AsyncClient, statements: StatementLog
) -> None:
    with statements.capture() as seen:
        response = await production.post("/graphql", json=QUERY)
    assert response.status_code == 401
    assert seen == []


async def test_revoked_and_expired_tokens_cost_one_lookup_and_nothing_more(
    production: httpx.AsyncClient, pool: asyncpg.Pool, statements: StatementLog
) -> None:
    store = PostgresAccessStore(pool)
    await store.create_user("ana", "Ana", "ana@example.com", admin=False)
    revoked, revoked_secret = await store.create_token(
        user_handle="ana", client_slug=None, name="r", scopes=[Scope.READ], expires_at=None
    )
    await store.revoke_token(revoked.id)
    expired, expired_secret = await store.create_token(
        user_handle="ana", client_slug=None, name="e", scopes=[Scope.READ], expires_at=None
    )
    await pool.execute(
        "UPDATE api_tokens SET expires_at = now() - interval '1 minute' WHERE id = $1", expired.id
    )
    for secret in (revoked_secret, expired_secret, revoked_secret[:-1] + "x"):
        with statements.capture() as seen:
            response = await production.post("/graphql", json=QUERY, headers=bearer(secret))
        assert response.status_code == 401
        assert len(seen) <= 1, seen  # the token lookup; a bad checksum needs none


async def test_first_oidc_login_provisions_the_user_with_group_teams(
    production: httpx.AsyncClient,
    signing_key: SigningKey,
    identity_provider: IdentityProvider,
    pool: asyncpg.Pool,
) -> None:
    await pool.execute("INSERT INTO teams (slug, name) VALUES ('pay', 'Pay')")
    token = signing_key.sign(claims(iss=identity_provider.issuer))
    response = await production.post("/graphql", json=QUERY, headers=bearer(token))
    assert response.status_code == 200, response.text
    viewer = response.json()["data"]["viewer"]
    assert viewer["__typename"] == "User"
    assert viewer["name"] == "Ana"
    assert viewer["teams"] == [{"slug": "pay"}]
    again = await production.post("/graphql", json=QUERY, headers=bearer(token))
    assert again.json()["data"]["viewer"]["handle"] == viewer["handle"]
    assert await pool.fetchval("SELECT count(*) FROM users WHERE oidc_subject = 'oidc-ana'") == 1


@pytest.mark.parametrize(
    "body",
    [
        {"query": '{ user(handle: "a\\u0000b") { handle } }'},
        {"query": '{ user(handle: "a\\u{0}b") { handle } }'},
        {"query": "query($h: String!) { user(handle: $h) { handle } }", "variables": {"h": "\x00"}},
        {
            "query": "mutation($i: CreateTeamInput!) { createTeam(input: $i) { errors { code } } }",
            "variables": {"i": {"slug": "t", "name": "nul\x00name"}},
        },
    ],
)
async def test_nul_characters_are_refused_before_any_sql(
    client: httpx.AsyncClient, statements: StatementLog, body: dict[str, Any]
) -> None:
    with statements.capture() as seen:
        response = await client.post(
            "/graphql", json=body, headers={"Accept": "application/graphql-response+json"}
        )
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["message"] == "strings must not contain the NUL character (U+0000)"
    assert error["extensions"]["code"] == "VALIDATION"
    assert seen == []
