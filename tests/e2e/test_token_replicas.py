"""Two served app processes on one database, each with its own token cache: a token revoked
through one is refused on the very next request to the other, which had it cached."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import httpx2 as httpx

from domain.access.tokens import new_token
from tests.support.processes import migrated_scratch_database
from tests.support.replicas import replicas

SEED = (
    "INSERT INTO teams (slug, name) VALUES ('pay', 'Pay');"
    "INSERT INTO users (handle, name, email) VALUES ('ana', 'Ana', 'ana@example.com');"
    "INSERT INTO team_members (team_id, user_id) SELECT t.id, u.id FROM teams t, users u "
    "WHERE u.handle = 'ana';"
)
ROUNDS = 5
LOOKUP = {"query": "{ viewer { name } }"}
REVOKE = (
    "mutation($id: ID!) { revokeApiToken(input: {token: $id}) { token { revokedAt } "
    "errors { code } } }"
)


async def _issue(db: asyncpg.Connection, handle: str, *scopes: str) -> str:
    issued = new_token()
    await db.execute(
        "INSERT INTO api_tokens (prefix, secret_hash, name, user_id, scopes) "
        "SELECT $1, $2, 't', id, $4::text[] FROM users WHERE handle = $3",
        issued.prefix, issued.secret_hash, handle, list(scopes),
    )  # fmt: skip
    return issued.secret


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def test_a_token_revoked_on_one_process_is_refused_next_on_the_other(
    database_url: str, tmp_path: Path
) -> None:
    async with migrated_scratch_database(database_url, SEED) as dsn:
        with replicas(
            tmp_path, ("a", "b"), DATABASE_URL=dsn, PAVED_WEBHOOK_DELIVERY="false",
            COUNTING_PROVIDER_URL="http://127.0.0.1:9",
        ) as (a, b):  # fmt: skip
            await asyncio.gather(a.wait_ready(), b.wait_ready())
            db = await asyncpg.connect(dsn)
            try:
                async with a.client() as on_a, b.client() as on_b:
                    for _ in range(ROUNDS):
                        secret = await _issue(db, "ana", "read")
                        for _ in range(3):  # verified once, then answered from b's cache
                            seen = await on_b.post("/graphql", json=LOOKUP, headers=_bearer(secret))
                            assert seen.status_code == 200, (seen.text, b.describe())
                        token_id = await _global_id(on_a, secret)
                        # The local admin of development mode (no credential, on loopback).
                        revoked = await on_a.post(
                            "/graphql", json={"query": REVOKE, "variables": {"id": token_id}}
                        )
                        payload = revoked.json()["data"]["revokeApiToken"]
                        assert payload["errors"] == [], payload
                        refused = await on_b.post("/graphql", json=LOOKUP, headers=_bearer(secret))
                        assert refused.status_code == 401, refused.text
            finally:
                await db.close()


async def _global_id(http: httpx.AsyncClient, secret: str) -> str:
    found = await http.post(
        "/graphql",
        json={"query": "{ viewer { ... on User { tokens { id prefix revokedAt } } } }"},
        headers=_bearer(secret),
    )
    tokens = found.json()["data"]["viewer"]["tokens"]
    (token,) = [t for t in tokens if t["revokedAt"] is None]
    return str(token["id"])
