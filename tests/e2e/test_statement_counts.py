"""No N+1: a query's SQL statement count follows its shape, never its row count."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import asyncpg
import pytest

from api.graphql_http import GraphQLEndpoint
from tests.support.catalog import seed_two_hundred_services
from tests.support.graphql import GraphQLClient
from tests.support.resource_catalog import seed_resources
from tests.support.statements import StatementLog, shapes

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


RESOURCE_READS = """
query($first: Int!) {
  resources(first: $first) { totalCount nodes { name parameters outputs secretRefs { name }
    service { slug resources { name } } environment { slug resources(first: 2) { nodes { name } } }
    class { slug environments { slug } approverTeams { slug } provider { kind } }
    requestedBy { name } history { state } approvals { decision actor { name } } } }
  resourceClasses(first: $first) { totalCount nodes { slug environments { slug } } }
  templates(first: $first) {
    totalCount nodes { slug environments { slug } resources { name class { slug } } }
  }
}
"""


async def _resources_of_twenty_services(pool: asyncpg.Pool) -> None:
    """`seed_resources` over twenty of the two hundred services, in three environments."""
    await seed_two_hundred_services(pool)
    await pool.execute(
        "INSERT INTO environments (slug, name, tier) VALUES ('dev', 'Dev', 'DEVELOPMENT'), "
        "('staging', 'Staging', 'STAGING'), ('prod', 'Prod', 'PRODUCTION')"
    )
    await seed_resources(pool, services=20)


async def test_resource_reads_cost_the_same_for_2_and_10_rows(
    gql: GraphQLClient, pool: asyncpg.Pool, statements: StatementLog, read_path: str
) -> None:
    """Two rows of each listing already reach every relation (a class with approver teams
    and environments, a template with resources)."""
    await _resources_of_twenty_services(pool)
    with statements.capture() as for_two:
        await gql(RESOURCE_READS, first=2)
    with statements.capture() as for_ten:
        data = await gql(RESOURCE_READS, first=10)
    assert len(data["resources"]["nodes"]) == 10
    assert sum(len(node["history"]) for node in data["resources"]["nodes"]) > 10
    assert len(data["templates"]["nodes"]) == 3
    if read_path == "fast":
        assert len(for_two) == len(for_ten) == 1, for_ten
        return
    # The executor's loaders: the same statements for 1 and for 10 rows. A loader used at two
    # depths may be dispatched once or twice depending on scheduling, never once per row.
    assert set(shapes(for_two)) == set(shapes(for_ten)), "\n".join([*for_two, "---", *for_ten])
    assert max(Counter(shapes(for_ten)).values()) <= 2, for_ten


ENVIRONMENT_COUNTS = (
    "query($first: Int!) { environments(first: $first) { nodes { slug "
    "resources(first: 1) { totalCount nodes { name } } } } }"
)


async def test_environment_resource_counts_do_not_grow_with_environments(
    gql: GraphQLClient, pool: asyncpg.Pool, statements: StatementLog, read_path: str
) -> None:
    await _resources_of_twenty_services(pool)
    for_one = await count_statements(gql, statements, ENVIRONMENT_COUNTS, first=1)
    for_three = await count_statements(gql, statements, ENVIRONMENT_COUNTS, first=3)
    assert for_one == for_three


async def test_a_mutation_writes_its_change_audit_and_events_in_few_round_trips(
    gql: GraphQLClient, statements: StatementLog
) -> None:
    """A new team, its audit record and its event in ONE statement (no BEGIN, no COMMIT);
    with an idempotency key, whose claim comes first, in a transaction. A service with its
    owner's lookup, its ownership, its audit record and its event in one too."""
    await gql.mutate("createTeam", "team { slug }", slug="warm-up", name="Warm")
    with statements.capture() as team_trips:
        created = await gql.mutate("createTeam", "team { slug }", slug="platform", name="P")
    assert created["errors"] == []
    assert [" ".join(s.split())[:35] for s in team_trips] == ["WITH changed AS (INSERT INTO teams "]
    with statements.capture() as keyed_trips:
        created = await gql.mutate(
            "createTeam", "team { slug }", slug="keyed", name="K", idempotencyKey="counted-trips"
        )
    assert created["errors"] == []
    assert {"BEGIN;", "COMMIT;"} <= {s.strip() for s in keyed_trips}, keyed_trips
    with statements.capture() as service_trips:
        created = await gql.mutate(
            "createService", "service { slug }", slug="pay", name="Pay", owner="platform"
        )
    assert created["errors"] == []
    # The local admin may create a service for any team: no look at the owner before.
    assert len(service_trips) == 1, service_trips
    assert " ".join(service_trips[0].split())[:25] == "WITH owner AS (SELECT id "
    assert sum("audit_events" in s for s in service_trips) == 1
    missing = await gql.mutate(
        "createService", "service { slug }", slug="lost", name="Lost", owner="nobody"
    )
    assert [e["code"] for e in missing["errors"]] == ["NOT_FOUND"]
    taken = await gql.mutate(
        "createService", "service { slug }", slug="pay", name="Again", owner="platform"
    )
    assert [(e["code"], e["path"]) for e in taken["errors"]] == [("CONFLICT", ["input", "slug"])]


async def test_a_recorded_deployment_takes_the_same_round_trips_however_long_the_history(
    gql: GraphQLClient, statements: StatementLog
) -> None:
    """The target found and locked, its current deployment locked, and the time, in one
    statement; each row with its status event."""
    await gql.mutate("createTeam", "team { slug }", slug="platform", name="P")
    await gql.mutate("createService", "service { slug }", slug="pay", name="Pay", owner="platform")
    await gql.mutate(
        "createEnvironment", "environment { slug }", slug="prod", name="Prod", tier="PRODUCTION"
    )
    trips = []
    for version in ("1.0", "1.1", "1.2"):
        with statements.capture() as seen:
            recorded = await gql.mutate(
                "recordDeployment", "deployment { state }", service="pay", environment="prod",
                version=version, state="SUCCEEDED",
            )  # fmt: skip
        assert recorded == {"deployment": {"state": "SUCCEEDED"}, "errors": []}
        trips.append(len(seen))
    # The first has no deployment to replace; the others replace one in the same statement.
    # The local admin may record for any service: no look at the service and its owners before.
    assert trips == [5, 6, 6]
