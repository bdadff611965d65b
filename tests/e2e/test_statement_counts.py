"""No N+1: a query's SQL statement count follows its shape, never its row count."""

from __future__ import annotations

from collections.abc import Iterator

import asyncpg
import pytest

from api.graphql_http import GraphQLEndpoint
from tests.support.catalog import seed_two_hundred_services
from tests.support.graphql import GraphQLClient
from tests.support.statements import StatementLog

CATALOG_PAGE = """
query($first: Int!) {
  services(first: $first) {
    nodes {
      slug
      owner { slug members { nodes { handle } } }
      dependsOn { slug owner { slug } }
      owners { role team { slug } }
    }
  }
}
"""


@pytest.fixture(params=["executor", "fast"])
def read_path(
    request: pytest.FixtureRequest, endpoint: GraphQLEndpoint, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """Only one read path answers: the executor alone, or the fast path unverified."""
    if request.param == "executor":
        monkeypatch.setattr(endpoint, "fast_reads", None)
    else:
        monkeypatch.setattr(endpoint, "verify", False)
    answered_fast = endpoint.fast_answers
    yield request.param
    assert (endpoint.fast_answers > answered_fast) == (request.param == "fast")


async def count_statements(
    gql: GraphQLClient, statements: StatementLog, query: str, **variables: object
) -> int:
    with statements.capture() as seen:
        await gql(query, **variables)
    return len(seen)


async def test_catalog_page_costs_the_same_for_1_and_100_services(
    gql: GraphQLClient, pool: asyncpg.Pool, statements: StatementLog, read_path: str
) -> None:
    await seed_two_hundred_services(pool)
    with statements.capture() as seen:
        data = await gql(CATALOG_PAGE, first=100)
    assert len(data["services"]["nodes"]) == 100
    assert all(
        len(n["dependsOn"]) == 2 and n["owner"]["members"]["nodes"]
        for n in data["services"]["nodes"]
    )
    for_hundred = len(seen)
    for_one = await count_statements(gql, statements, CATALOG_PAGE, first=1)
    assert for_one == for_hundred == (1 if read_path == "fast" else 5), seen


@pytest.mark.parametrize(
    "query",
    [
        "query($first: Int!) { teams(first: $first) { totalCount nodes { slug members { totalCount nodes "
        "{ handle teams { slug } } } services { totalCount nodes { slug } } children { slug } parent { slug } } } }",
        "query($first: Int!) { users(first: $first) { nodes { handle teams { slug "
        # Fits the node estimate with 30 users: 30 x (1 + 20 teams x (1 + 2 x (1 + 20))).
        "services(first: 2) { nodes { slug dependents { slug } } } } } } }",
    ],
)
async def test_listing_statement_counts_do_not_grow_with_rows(
    gql: GraphQLClient, pool: asyncpg.Pool, statements: StatementLog, query: str, read_path: str
) -> None:
    await seed_two_hundred_services(pool)
    small = await count_statements(gql, statements, query, first=1)
    large = await count_statements(gql, statements, query, first=30)
    assert small == large
    if read_path == "fast":
        assert small == 1


async def test_fast_path_runs_one_statement_per_operation_whatever_its_roots(
    gql: GraphQLClient,
    pool: asyncpg.Pool,
    statements: StatementLog,
    endpoint: GraphQLEndpoint,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await seed_two_hundred_services(pool)
    monkeypatch.setattr(endpoint, "verify", False)
    query = (
        '{ a: service(slug: "a-001") { slug owner { slug } } teams(first: 3) { totalCount } '
        "users(first: 2) { nodes { handle teams { slug } } } environments { totalCount } }"
    )
    assert await count_statements(gql, statements, query) == 1
