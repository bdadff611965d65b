"""No N+1: a query's SQL statement count follows its shape, never its row count."""

from __future__ import annotations

from collections.abc import Iterator

import asyncpg
import pytest

from api.graphql_http import GraphQLEndpoint
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


async def seed(pool: asyncpg.Pool) -> None:
    """200 services named a-000..a-099 and b-000..b-099; every a-service depends on two
    b-services (so dependencies never sit on the page being read), each owned by one of
    ten teams of three members, with a contributor team."""
    await pool.execute(
        "INSERT INTO teams (slug, name) SELECT format('team-%s', i), format('Team %s', i) "
        "FROM generate_series(0, 9) i;"
        "INSERT INTO users (handle, name, email) SELECT format('user-%s', i), format('User %s', i), "
        "format('user-%s@x.example', i) FROM generate_series(0, 29) i;"
        "INSERT INTO team_members (team_id, user_id) SELECT 1 + (u.id - 1) % 10, u.id FROM users u;"
        "INSERT INTO services (slug, name) SELECT format('%s-%s', p, lpad(i::text, 3, '0')), "
        "format('%s-%s', p, lpad(i::text, 3, '0')) FROM unnest(ARRAY['a', 'b']) p, generate_series(0, 99) i;"
        "INSERT INTO service_owners (service_id, team_id, role) SELECT id, 1 + id % 10, 'PRIMARY' FROM services;"
        "INSERT INTO service_owners (service_id, team_id, role) "
        "SELECT id, 1 + (id + 1) % 10, 'CONTRIBUTOR' FROM services;"
        "INSERT INTO service_dependencies (service_id, depends_on_id) "
        "SELECT a.id, b.id FROM services a JOIN services b ON b.slug IN "
        "('b-' || right(a.slug, 3), 'b-' || lpad(((right(a.slug, 3)::int + 1) % 100)::text, 3, '0')) "
        "WHERE a.slug LIKE 'a-%';"
    )


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
    await seed(pool)
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
    await seed(pool)
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
    await seed(pool)
    monkeypatch.setattr(endpoint, "verify", False)
    query = (
        '{ a: service(slug: "a-001") { slug owner { slug } } teams(first: 3) { totalCount } '
        "users(first: 2) { nodes { handle teams { slug } } } environments { totalCount } }"
    )
    assert await count_statements(gql, statements, query) == 1
