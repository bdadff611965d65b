"""Identities, tokens, permissions and the audit log through the API.

The test app runs in development mode (no credential = the local admin); other actors
send API tokens minted here through the store.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx2 as httpx
import pytest

from domain.access.model import Scope
from tests.support.access import seed, token
from tests.support.graphql import GraphQLClient

SERVICE_FIELDS = "service { slug name version }"


def rename(gql: GraphQLClient, service: str, name: str) -> Any:
    return gql.mutate("updateService", SERVICE_FIELDS, service=service, name=name)


async def test_viewer_is_the_local_admin_without_credentials_in_development(
    gql: GraphQLClient,
) -> None:
    data = await gql("{ viewer { __typename name } }")
    assert data == {"viewer": {"__typename": "LocalAdmin", "name": "local admin"}}


async def test_tokens_are_shown_once_and_listed_without_their_secret(
    gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    await seed(gql, pool)
    created = await gql.mutate(
        "createApiToken",
        "token { id name prefix scopes } secret",
        user="ana",
        name="laptop",
        scopes=["READ", "WRITE"],
    )
    assert created["errors"] == []
    secret = created["secret"]
    assert secret.startswith("paved_")
    assert secret.startswith(created["token"]["prefix"])
    ana = gql.with_token(secret)
    data = await ana(
        "{ viewer { __typename name ... on User { handle tokens { name prefix scopes } } } }"
    )
    assert data["viewer"]["handle"] == "ana"
    assert data["viewer"]["tokens"] == [
        {"name": "laptop", "prefix": created["token"]["prefix"], "scopes": ["READ", "WRITE"]}
    ]
    assert secret not in str(data)


async def test_revocation_takes_effect_on_the_next_request(
    gql: GraphQLClient, pool: asyncpg.Pool, client: httpx.AsyncClient
) -> None:
    store = await seed(gql, pool)
    secret = await token(store, Scope.READ, user="ana")
    ana = gql.with_token(secret)
    found = await ana("{ viewer { ... on User { tokens { id } } } }")
    token_id = found["viewer"]["tokens"][0]["id"]
    revoked = await ana.mutate("revokeApiToken", "token { revokedAt }", token=token_id)
    assert revoked["errors"] == []
    assert revoked["token"]["revokedAt"]
    again = await client.post(
        "/graphql", json={"query": "{ viewer { name } }"}, headers=ana.headers
    )
    assert again.status_code == 401
    assert again.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    "credential",
    ["paved_not-a-real-token", "Bearer", "not-a-token-at-all", "a.b.c"],
)
async def test_bad_credentials_are_401_even_in_development(
    client: httpx.AsyncClient, credential: str
) -> None:
    response = await client.post(
        "/graphql",
        json={"query": "{ viewer { name } }"},
        headers={"Authorization": f"Bearer {credential}"},
    )
    assert response.status_code == 401


async def test_expired_tokens_are_401(gql: GraphQLClient, pool: asyncpg.Pool) -> None:
    store = await seed(gql, pool)
    secret = await token(store, Scope.READ, user="ana")
    await pool.execute("UPDATE api_tokens SET expires_at = now() - interval '1 second'")
    response = await gql.http.post(
        "/graphql", json={"query": "{ viewer { name } }"}, headers=gql.with_token(secret).headers
    )
    assert response.status_code == 401


async def test_owners_change_their_services_and_nobody_else_does(
    gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    store = await seed(gql, pool)
    ana = gql.with_token(await token(store, Scope.READ, Scope.WRITE, user="ana"))
    bob = gql.with_token(await token(store, Scope.READ, Scope.WRITE, user="bob"))
    root = gql.with_token(await token(store, *Scope, user="root"))

    assert (await rename(ana, "pay-api", "Pay"))["errors"] == []
    denied = await rename(bob, "pay-api", "Hijacked")
    assert denied["service"] is None
    assert [error["code"] for error in denied["errors"]] == ["FORBIDDEN"]
    assert (await rename(root, "pay-api", "By root"))["errors"] == []
    after = await gql('{ service(slug: "pay-api") { name version } }')
    assert after["service"] == {"name": "By root", "version": 3}


async def test_scopes_limit_what_a_token_does(gql: GraphQLClient, pool: asyncpg.Pool) -> None:
    store = await seed(gql, pool)
    reader = gql.with_token(await token(store, Scope.READ, user="ana"))
    writer_only = gql.with_token(await token(store, Scope.WRITE, user="ana"))
    assert [e["code"] for e in (await rename(reader, "pay-api", "x"))["errors"]] == ["FORBIDDEN"]
    assert (await rename(writer_only, "pay-api", "y"))["errors"] == []
    body = await writer_only.raw('{ service(slug: "pay-api") { name } }')
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert body.get("data") is None
    # A read-only token cannot mint itself a stronger one.
    minted = await reader.mutate(
        "createApiToken", "secret", user="ana", name="more", scopes=["READ", "WRITE"]
    )
    assert [(e["code"], e["path"]) for e in minted["errors"]] == [
        ("VALIDATION", ["input", "scopes"])
    ]
    assert minted["secret"] is None


async def test_admin_scope_needs_an_admin(gql: GraphQLClient, pool: asyncpg.Pool) -> None:
    store = await seed(gql, pool)
    ana = gql.with_token(await token(store, *Scope, user="ana"))
    refused = await ana.mutate("createTeam", "team { slug }", slug="mine", name="Mine")
    assert [e["code"] for e in refused["errors"]] == ["FORBIDDEN"]
    root = gql.with_token(await token(store, *Scope, user="root"))
    assert (await root.mutate("createTeam", "team { slug }", slug="mine", name="Mine"))[
        "errors"
    ] == []


async def test_api_clients_act_for_their_team(gql: GraphQLClient, pool: asyncpg.Pool) -> None:
    store = await seed(gql, pool)
    created = await gql.mutate(
        "createApiClient",
        "apiClient { slug team { slug } }",
        slug="pay-ci",
        name="Pay CI",
        team="pay",
    )
    assert created == {"apiClient": {"slug": "pay-ci", "team": {"slug": "pay"}}, "errors": []}
    ci = gql.with_token(await token(store, Scope.READ, Scope.WRITE, client="pay-ci"))
    viewer = await ci("{ viewer { __typename name ... on ApiClient { slug team { slug } } } }")
    assert viewer["viewer"]["__typename"] == "ApiClient"
    assert (await rename(ci, "pay-api", "From CI"))["errors"] == []
    assert [e["code"] for e in (await rename(ci, "web-api", "No"))["errors"]] == ["FORBIDDEN"]
    deleted = await gql.mutate("deleteApiClient", "deletedId", apiClient="pay-ci")
    assert deleted["errors"] == []
    assert deleted["deletedId"]
    gone = await gql.http.post(
        "/graphql", json={"query": "{ viewer { name } }"}, headers=ci.headers
    )
    assert gone.status_code == 401


async def test_reading_other_teams_objects_by_id(gql: GraphQLClient, pool: asyncpg.Pool) -> None:
    store = await seed(gql, pool)
    bob = gql.with_token(await token(store, Scope.READ, user="bob"))
    service_id = (await gql('{ service(slug: "pay-api") { id } }'))["service"]["id"]
    data = await bob("query($id: ID!) { node(id: $id) { ... on Service { slug } } }", id=service_id)
    assert data == {"node": {"slug": "pay-api"}}


async def test_every_attempt_is_audited_once(
    gql: GraphQLClient, pool: asyncpg.Pool, client: httpx.AsyncClient
) -> None:
    store = await seed(gql, pool)
    bob = await token(store, Scope.READ, Scope.WRITE, user="bob")
    attempts = [
        (None, {"service": "pay-api", "name": "Ok"}, "ACCEPTED", []),
        (None, {"service": "pay-api", "name": " "}, "INVALID", ["VALIDATION"]),
        (None, {"service": "ghost", "name": "x"}, "INVALID", ["NOT_FOUND"]),
        (bob, {"service": "pay-api", "name": "Mine"}, "DENIED", ["FORBIDDEN"]),
    ]
    query = (
        "mutation($input: UpdateServiceInput!) { updateService(input: $input) { errors { code } } }"
    )
    for credential, data, outcome, codes in attempts:
        request_id = uuid.uuid4().hex
        headers = {"X-Request-Id": request_id}
        if credential:
            headers["Authorization"] = f"Bearer {credential}"
        await client.post(
            "/graphql", json={"query": query, "variables": {"input": data}}, headers=headers
        )
        events = await pool.fetch(
            "SELECT operation, outcome, error_codes, actor_name, targets FROM audit_events "
            "WHERE request_id = $1",
            request_id,
        )
        assert [(e["operation"], e["outcome"], list(e["error_codes"])) for e in events] == [
            ("updateService", outcome, codes)
        ]
        assert list(events[0]["targets"]) == [f"Service:{data['service']}"]
    trail = await gql(
        '{ service(slug: "pay-api") { auditTrail(first: 10) { totalCount nodes { operation '
        "outcome actorName actor { __typename name } } } } }"
    )
    outcomes = [node["outcome"] for node in trail["service"]["auditTrail"]["nodes"]]
    assert outcomes[:3] == ["DENIED", "INVALID", "ACCEPTED"]


async def test_only_admins_read_the_whole_audit_log(gql: GraphQLClient, pool: asyncpg.Pool) -> None:
    store = await seed(gql, pool)
    ana = gql.with_token(await token(store, Scope.READ, user="ana"))
    refused = await ana.raw("{ auditEvents(first: 1) { totalCount } }")
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    events = await gql(
        '{ auditEvents(first: 5, filter: { operation: "createTeam" }) '
        "{ totalCount nodes { operation targets input outcome } } }"
    )
    assert events["auditEvents"]["totalCount"] >= 2
    assert events["auditEvents"]["nodes"][0]["operation"] == "createTeam"


async def test_token_secrets_never_reach_the_audit_log(
    gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    await seed(gql, pool)
    created = await gql.mutate("createApiToken", "secret", user="ana", name="x", scopes=["READ"])
    inputs = await pool.fetch("SELECT input::text AS input FROM audit_events")
    assert all(created["secret"] not in row["input"] for row in inputs)


async def test_expiry_must_be_in_the_future(gql: GraphQLClient, pool: asyncpg.Pool) -> None:
    await seed(gql, pool)
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    refused = await gql.mutate(
        "createApiToken", "secret", user="ana", name="x", scopes=["READ"], expiresAt=past
    )
    assert [(e["code"], e["path"]) for e in refused["errors"]] == [
        ("VALIDATION", ["input", "expiresAt"])
    ]


async def test_a_team_with_api_clients_is_not_deleted(
    gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    await gql.mutate("createTeam", "team { slug }", slug="lonely", name="Lonely")
    await gql.mutate("createApiClient", "apiClient { slug }", slug="bot", name="Bot", team="lonely")
    refused = await gql.mutate("deleteTeam", "deletedId", team="lonely")
    assert [(e["code"], e["path"]) for e in refused["errors"]] == [
        ("PRECONDITION_FAILED", ["input", "team"])
    ]
    assert "bot" in refused["errors"][0]["message"]


async def test_token_and_client_changes_are_audited_once(
    gql: GraphQLClient, pool: asyncpg.Pool, client: httpx.AsyncClient
) -> None:
    await seed(gql, pool)
    mutations = [
        ("createApiClient", {"slug": "bot", "name": "Bot", "team": "pay"}, "ACCEPTED"),
        ("createApiClient", {"slug": "bot", "name": "Bot", "team": "pay"}, "INVALID"),
        ("createApiToken", {"client": "bot", "name": "ci", "scopes": ["READ"]}, "ACCEPTED"),
        ("deleteApiClient", {"apiClient": "bot"}, "ACCEPTED"),
    ]
    for name, data, outcome in mutations:
        request_id = uuid.uuid4().hex
        query = (
            f"mutation($input: {name[0].upper()}{name[1:]}Input!) "
            f"{{ {name}(input: $input) {{ errors {{ code }} }} }}"
        )
        await client.post(
            "/graphql",
            json={"query": query, "variables": {"input": data}},
            headers={"X-Request-Id": request_id},
        )
        found = await pool.fetch(
            "SELECT operation, outcome FROM audit_events WHERE request_id = $1", request_id
        )
        assert [(row["operation"], row["outcome"]) for row in found] == [(name, outcome)]
