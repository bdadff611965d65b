"""Every mutation accepts `idempotencyKey` (issue 15): a replay with the same key and input
answers the first result without a second effect; the same key with another input is a
CONFLICT; keys belong to their actor and live 24 hours."""

from __future__ import annotations

import asyncio

import asyncpg

from domain.access.model import Scope
from domain.idempotency import MAX_KEY_LENGTH
from tests.support.access import seed, token
from tests.support.graphql import GraphQLClient

TEAM = "team { id slug name version }"


async def _count(pool: asyncpg.Pool, sql: str) -> int:
    value = await pool.fetchval(sql)
    assert isinstance(value, int)
    return value


async def test_a_replayed_create_answers_the_first_team_and_makes_no_other(
    gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    first = await gql.mutate("createTeam", TEAM, slug="pay", name="Pay", idempotencyKey="k-1")
    again = await gql.mutate("createTeam", TEAM, slug="pay", name="Pay", idempotencyKey="k-1")
    assert first["errors"] == []
    assert again == first
    assert await _count(pool, "SELECT count(*) FROM teams") == 1
    outcomes = await pool.fetch(
        "SELECT outcome FROM audit_events WHERE operation = 'createTeam' "
        "AND idempotency_key = 'k-1' ORDER BY id"
    )
    assert [row["outcome"] for row in outcomes] == ["ACCEPTED", "ACCEPTED"]


async def test_the_same_key_with_another_input_is_a_conflict(
    gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    await gql.mutate("createTeam", TEAM, slug="pay", name="Pay", idempotencyKey="k-2")
    other = await gql.mutate("createTeam", TEAM, slug="web", name="Web", idempotencyKey="k-2")
    assert other["team"] is None
    assert [(e["code"], e["path"]) for e in other["errors"]] == [
        ("CONFLICT", ["input", "idempotencyKey"])
    ]
    elsewhere = await gql.mutate("createUser", "user { handle }", handle="ana", name="Ana",
                                 email="ana@example.com", idempotencyKey="k-2")  # fmt: skip
    assert [e["code"] for e in elsewhere["errors"]] == ["CONFLICT"]
    assert await _count(pool, "SELECT count(*) FROM teams") == 1
    assert await _count(pool, "SELECT count(*) FROM users") == 0


async def test_a_replayed_update_changes_nothing_more(gql: GraphQLClient) -> None:
    await gql.mutate("createTeam", TEAM, slug="pay", name="Pay")
    first = await gql.mutate("updateTeam", TEAM, team="pay", name="Pay 2", idempotencyKey="u")
    again = await gql.mutate("updateTeam", TEAM, team="pay", name="Pay 2", idempotencyKey="u")
    assert first["errors"] == []
    assert again["errors"] == []
    assert again["team"]["version"] == first["team"]["version"]


async def test_a_replayed_delete_answers_the_deleted_id(
    gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    await gql.mutate("createTeam", TEAM, slug="pay", name="Pay")
    first = await gql.mutate("deleteTeam", "deletedId", team="pay", idempotencyKey="d")
    again = await gql.mutate("deleteTeam", "deletedId", team="pay", idempotencyKey="d")
    assert first["errors"] == []
    assert again == first
    plain = await gql.mutate("deleteTeam", "deletedId", team="pay")
    assert [e["code"] for e in plain["errors"]] == ["NOT_FOUND"]


async def test_a_replayed_token_is_the_same_token_without_its_secret(
    gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    await seed(gql, pool)
    fields = "token { id name } secret"
    first = await gql.mutate("createApiToken", fields, user="ana", name="ci", scopes=["READ"],
                             idempotencyKey="t")  # fmt: skip
    again = await gql.mutate("createApiToken", fields, user="ana", name="ci", scopes=["READ"],
                             idempotencyKey="t")  # fmt: skip
    assert first["errors"] == []
    assert first["secret"]
    assert again["token"] == first["token"]
    assert again["secret"] is None
    assert await _count(pool, "SELECT count(*) FROM api_tokens WHERE name = 'ci'") == 1
    kept = await pool.fetchval("SELECT result::text FROM idempotency_keys WHERE key = 't'")
    assert first["secret"] not in kept


async def test_keys_belong_to_their_actor(gql: GraphQLClient, pool: asyncpg.Pool) -> None:
    store = await seed(gql, pool)
    root = gql.with_token(await token(store, Scope.ADMIN, user="root"))
    mine = await gql.mutate("createTeam", TEAM, slug="ops", name="Ops", idempotencyKey="same")
    theirs = await root.mutate("createTeam", TEAM, slug="sre", name="SRE", idempotencyKey="same")
    assert mine["errors"] == []
    assert theirs["errors"] == []
    assert mine["team"]["id"] != theirs["team"]["id"]


async def test_an_overlong_or_blank_key_is_refused_before_the_change(
    gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    for key in ("k" * (MAX_KEY_LENGTH + 1), "  "):
        refused = await gql.mutate("createTeam", TEAM, slug="pay", name="Pay", idempotencyKey=key)
        assert refused["team"] is None
        assert [(e["code"], e["path"]) for e in refused["errors"]] == [
            ("VALIDATION", ["input", "idempotencyKey"])
        ]
    assert await _count(pool, "SELECT count(*) FROM teams") == 0
    assert await _count(pool, "SELECT count(*) FROM idempotency_keys") == 0


async def test_concurrent_attempts_with_one_key_make_one_change(
    gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    answers = await asyncio.gather(
        *(
            gql.mutate("createTeam", TEAM, slug="pay", name="Pay", idempotencyKey="race")
            for _ in range(6)
        )
    )
    assert all(answer == answers[0] for answer in answers), answers
    assert answers[0]["errors"] == []
    assert await _count(pool, "SELECT count(*) FROM teams") == 1


async def test_a_key_is_forgotten_after_a_day(gql: GraphQLClient, pool: asyncpg.Pool) -> None:
    first = await gql.mutate("createTeam", TEAM, slug="pay", name="Pay", idempotencyKey="old")
    await pool.execute("UPDATE idempotency_keys SET created_at = now() - interval '25 hours'")
    await gql.mutate("deleteTeam", "deletedId", team="pay")
    again = await gql.mutate("createTeam", TEAM, slug="pay", name="Pay", idempotencyKey="old")
    assert again["errors"] == []
    assert again["team"]["id"] != first["team"]["id"]
    assert await _count(pool, "SELECT count(*) FROM idempotency_keys") == 1


async def test_keys_older_than_a_day_are_pruned(gql: GraphQLClient, pool: asyncpg.Pool) -> None:
    from providers.postgres.events import PostgresEventLog
    from providers.postgres.idempotency import PostgresIdempotencyKeys
    from resolvers.event_retention import EventRetention

    for key in ("a", "b"):
        await gql.mutate("createTeam", TEAM, slug=f"t-{key}", name=key, idempotencyKey=key)
    await pool.execute(
        "UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'a'"
    )
    retention = EventRetention(
        PostgresEventLog(pool), retention_days=30, idempotency=PostgresIdempotencyKeys(pool)
    )
    await retention.prune_once()
    assert [row["key"] for row in await pool.fetch("SELECT key FROM idempotency_keys")] == ["b"]
