"""A small organisation with people, an API client and tokens, for the access tests."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from domain.access.model import Scope
from providers.postgres.access_store import PostgresAccessStore
from tests.support.graphql import GraphQLClient

SERVICE_FIELDS = "service { slug name version }"


async def seed(gql: GraphQLClient, pool: asyncpg.Pool) -> PostgresAccessStore:
    """Teams `pay` and `web`, each owning one service; ana in `pay`, bob in `web`."""
    store = PostgresAccessStore(pool)
    for team in ("pay", "web"):
        assert (await gql.mutate("createTeam", "team { slug }", slug=team, name=team))[
            "errors"
        ] == []
        created = await gql.mutate(
            "createService", SERVICE_FIELDS, slug=f"{team}-api", name=team, owner=team
        )
        assert created["errors"] == []
    for handle, team in (("ana", "pay"), ("bob", "web")):
        await store.create_user(handle, handle, f"{handle}@example.com", admin=False)
        joined = await gql.mutate("addTeamMember", "team { slug }", team=team, user=handle)
        assert joined["errors"] == []
    await store.create_user("root", "root", "root@example.com", admin=True)
    return store


async def token(
    store: PostgresAccessStore,
    *scopes: Scope,
    user: str | None = None,
    client: str | None = None,
    expires_at: datetime | None = None,
) -> str:
    _, secret = await store.create_token(
        user_handle=user, client_slug=client, name="t", scopes=scopes, expires_at=expires_at
    )
    return secret
