"""The permission table through the API: actor and scopes x operation, one request a cell.

Teams `pay` and `web` own `pay-api` and `web-api`; ana is in `pay`, bob in `web`, root is an
admin in neither; the API client `pay-ci` acts for `pay`. A denied mutation answers FORBIDDEN
in its payload; a denied query answers a FORBIDDEN error.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from domain.access.model import Scope
from resolvers.global_ids import encode_id
from tests.support.access import seed, token
from tests.support.graphql import GraphQLClient

R, W = Scope.READ, Scope.WRITE
# actor: (user handle or None, API client slug or None, the token's scopes)
ACTORS: dict[str, tuple[str | None, str | None, tuple[Scope, ...]]] = {
    "admin": ("root", None, tuple(Scope)),
    "admin without the admin scope": ("root", None, (R, W)),
    "owner-team member": ("ana", None, (R, W)),
    "owner-team member, read only": ("ana", None, (R,)),
    "owner-team member, write only": ("ana", None, (W,)),
    "other-team member": ("bob", None, (R, W)),
    "owner team's API client": (None, "pay-ci", (R, W)),
}


async def _codes_of_mutation(gql: GraphQLClient, mutation: str, /, **data: Any) -> list[str]:
    payload = await gql.mutate(mutation, "errors { code }", **data)
    return [error["code"] for error in payload["errors"]]


async def _codes_of_query(gql: GraphQLClient, query: str, **variables: Any) -> list[str]:
    body = await gql.raw(query, variables)
    return [error["extensions"]["code"] for error in body.get("errors", [])]


async def node_of_other_team(gql: GraphQLClient, ids: dict[str, str]) -> list[str]:
    query = "query($id: ID!) { node(id: $id) { ... on Service { slug } } }"
    return await _codes_of_query(gql, query, id=ids["web-api"])


async def update_owned_service(gql: GraphQLClient, ids: dict[str, str]) -> list[str]:
    return await _codes_of_mutation(gql, "updateService", service="pay-api", name="Renamed")


async def add_dependency_to_owned_service(gql: GraphQLClient, ids: dict[str, str]) -> list[str]:
    return await _codes_of_mutation(
        gql, "addServiceDependency", service="pay-api", dependsOn="web-api"
    )


async def create_service_for_pay(gql: GraphQLClient, ids: dict[str, str]) -> list[str]:
    return await _codes_of_mutation(gql, "createService", slug="new", name="New", owner="pay")


async def create_team(gql: GraphQLClient, ids: dict[str, str]) -> list[str]:
    return await _codes_of_mutation(gql, "createTeam", slug="new-team", name="New")


async def import_catalog(gql: GraphQLClient, ids: dict[str, str]) -> list[str]:
    document = {"name": "t.yaml", "content": "kind: Group\nmetadata: {name: imported}\n"}
    return await _codes_of_mutation(
        gql, "importCatalog", format="BACKSTAGE", documents=[document], dryRun=True
    )


async def read_audit_log(gql: GraphQLClient, ids: dict[str, str]) -> list[str]:
    return await _codes_of_query(gql, "{ auditEvents(first: 1) { totalCount } }")


ALLOWED = {
    node_of_other_team: {
        "admin", "admin without the admin scope", "owner-team member",
        "owner-team member, read only", "other-team member", "owner team's API client",
    },
    update_owned_service: {
        "admin", "owner-team member", "owner-team member, write only", "owner team's API client",
    },
    add_dependency_to_owned_service: {
        "admin", "owner-team member", "owner-team member, write only", "owner team's API client",
    },
    create_service_for_pay: {
        "admin", "owner-team member", "owner-team member, write only", "owner team's API client",
    },
    create_team: {"admin"},
    import_catalog: {"admin"},
    read_audit_log: {"admin"},
}  # fmt: skip
CELLS = [
    pytest.param(actor, operation, actor in allowed, id=f"{operation.__name__}: {actor}")
    for operation, allowed in ALLOWED.items()
    for actor in ACTORS
]


def test_the_matrix_is_large_enough() -> None:
    assert len(CELLS) >= 40


@pytest.mark.parametrize(("actor", "operation", "allowed"), CELLS)
async def test_permission_matrix(
    gql: GraphQLClient,
    pool: asyncpg.Pool,
    actor: str,
    operation: Callable[[GraphQLClient, dict[str, str]], Awaitable[list[str]]],
    allowed: bool,
) -> None:
    store = await seed(gql, pool)
    created = await gql.mutate(
        "createApiClient", "apiClient { slug }", slug="pay-ci", name="Pay CI", team="pay"
    )
    assert created["errors"] == []
    user, client, scopes = ACTORS[actor]
    acting = gql.with_token(await token(store, *scopes, user=user, client=client))
    rows = await pool.fetch("SELECT slug, id FROM services")
    ids = {row["slug"]: encode_id("Service", row["id"]) for row in rows}
    codes = await operation(acting, ids)
    assert codes == ([] if allowed else ["FORBIDDEN"])
