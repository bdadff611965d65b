"""`Service.system`: the system a service is part of, set and changed like any stored field,
filtered with `filter.system`, and answered by the fast read path."""

from __future__ import annotations

import asyncpg

from api.graphql_http import GraphQLEndpoint
from tests.support.catalog import create_teams
from tests.support.graphql import GraphQLClient

FIELDS = "service { slug system version }"
BY_SYSTEM = (
    "query($systems: [String!]) { services(filter: { system: $systems }) "
    "{ totalCount nodes { slug system } } }"
)


async def test_system_is_set_changed_kept_and_cleared(gql: GraphQLClient) -> None:
    await create_teams(gql, "payments")
    created = await gql.mutate(
        "createService", FIELDS, slug="ledger", name="Ledger", owner="payments", system="billing"
    )
    assert created == {
        "service": {"slug": "ledger", "system": "billing", "version": 1},
        "errors": [],
    }

    moved = await gql.mutate("updateService", FIELDS, service="ledger", system="payments")
    assert moved["service"] == {"slug": "ledger", "system": "payments", "version": 2}
    kept = await gql.mutate("updateService", FIELDS, service="ledger", name="The ledger")
    assert kept["service"]["system"] == "payments"
    cleared = await gql.mutate("updateService", FIELDS, service="ledger", system=None)
    assert cleared["service"] == {"slug": "ledger", "system": None, "version": 4}

    plain = await gql.mutate("createService", FIELDS, slug="plain", name="P", owner="payments")
    assert plain["service"]["system"] is None


async def test_a_system_that_is_no_slug_is_refused_and_nothing_is_written(
    gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    await create_teams(gql, "payments")
    for bad in ("Billing", "two words", "x" * 64, ""):
        refused = await gql.mutate(
            "createService", FIELDS, slug="ledger", name="L", owner="payments", system=bad
        )
        assert refused["service"] is None
        assert [(e["code"], e["path"]) for e in refused["errors"]] == [
            ("VALIDATION", ["input", "system"])
        ], bad
    assert await pool.fetchval("SELECT count(*) FROM services") == 0


async def test_filter_system_lists_the_services_of_any_given_system_on_the_fast_path(
    gql: GraphQLClient, endpoint: GraphQLEndpoint
) -> None:
    await create_teams(gql, "payments")
    for slug, system in (("ledger", "billing"), ("invoices", "billing"), ("cards", "cards")):
        await gql.mutate(
            "createService", FIELDS, slug=slug, name=slug, owner="payments", system=system
        )
    await gql.mutate("createService", FIELDS, slug="lonely", name="lonely", owner="payments")

    answered = endpoint.fast_answers
    billing = await gql(BY_SYSTEM, systems=["billing"])
    assert billing["services"]["totalCount"] == 2
    assert {node["slug"] for node in billing["services"]["nodes"]} == {"ledger", "invoices"}
    both = await gql(BY_SYSTEM, systems=["cards", "billing", "cards"])
    assert both["services"]["totalCount"] == 3
    assert (await gql(BY_SYSTEM, systems=[]))["services"]["totalCount"] == 0
    assert (await gql(BY_SYSTEM, systems=None))["services"]["totalCount"] == 4
    assert endpoint.fast_answers == answered + 4

    team = await gql(
        '{ team(slug: "payments") { services(filter: { system: ["cards"] }) { nodes { slug } } } }'
    )
    assert team["team"]["services"]["nodes"] == [{"slug": "cards"}]


async def test_a_cursor_from_one_system_filter_does_not_page_another(gql: GraphQLClient) -> None:
    await create_teams(gql, "payments")
    for slug in ("a", "b", "c"):
        await gql.mutate(
            "createService", FIELDS, slug=slug, name=slug, owner="payments", system="s"
        )
    page = await gql('{ services(first: 1, filter: { system: ["s"] }) { pageInfo { endCursor } } }')
    cursor = page["services"]["pageInfo"]["endCursor"]
    other = await gql.raw(
        'query($after: String) { services(first: 1, after: $after, filter: { system: ["t"] }) '
        "{ nodes { slug } } }",
        {"after": cursor},
    )
    assert [error["extensions"]["code"] for error in other["errors"]] == ["VALIDATION"]
