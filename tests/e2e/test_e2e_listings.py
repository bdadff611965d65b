"""Connections: keyset paging both ways, filters, ordering, cursors, node/nodes."""

from __future__ import annotations

import asyncpg
import pytest

from tests.support.graphql import GraphQLClient


async def seed(pool: asyncpg.Pool, services: int) -> None:
    """Teams root > mid > leaf and `services` services named svc-000.. spread over them."""
    await pool.execute(
        "INSERT INTO teams (slug, name) VALUES ('root', 'Root');"
        "INSERT INTO teams (slug, name, parent_id) SELECT 'mid', 'Mid', id FROM teams WHERE slug = 'root';"
        "INSERT INTO teams (slug, name, parent_id) SELECT 'leaf', 'Leaf', id FROM teams WHERE slug = 'mid';"
        "INSERT INTO teams (slug, name) VALUES ('other', 'Other');"
    )
    await pool.execute(
        "INSERT INTO services (slug, name, description, tier, tags, lifecycle) "
        "SELECT format('svc-%s', lpad(i::text, 3, '0')), format('Service %s', lpad(i::text, 3, '0')), "
        "CASE WHEN i % 10 = 0 THEN 'Handles PAYMENTS' END, 1 + i % 4, "
        "CASE WHEN i % 2 = 0 THEN ARRAY['even', 'all'] ELSE ARRAY['all'] END, "
        "CASE WHEN i % 3 = 0 THEN 'PRODUCTION' ELSE 'EXPERIMENTAL' END "
        "FROM generate_series(0, $1 - 1) AS i",
        services,
    )
    await pool.execute(
        "INSERT INTO service_owners (service_id, team_id, role) "
        "SELECT s.id, t.id, 'PRIMARY' FROM services s JOIN teams t ON t.slug = "
        "(ARRAY['root', 'mid', 'leaf', 'other'])[1 + s.id % 4]"
    )


async def walk(gql: GraphQLClient, args: str, first: int = 7) -> list[str]:
    slugs: list[str] = []
    after = None
    while True:
        data = await gql(
            f"query($after: String) {{ services(first: {first}, after: $after{args}) "
            "{ nodes { slug } pageInfo { hasNextPage endCursor } } }",
            after=after,
        )
        slugs += [n["slug"] for n in data["services"]["nodes"]]
        info = data["services"]["pageInfo"]
        if not info["hasNextPage"]:
            return slugs
        after = info["endCursor"]


async def test_paging_forward_visits_every_row_once(gql: GraphQLClient, pool: asyncpg.Pool) -> None:
    await seed(pool, 50)
    slugs = await walk(gql, "")
    assert slugs == [f"svc-{i:03d}" for i in range(50)]
    data = await gql("{ services { totalCount edges { cursor } pageInfo { hasPreviousPage } } }")
    assert data["services"]["totalCount"] == 50
    assert len(data["services"]["edges"]) == 20
    assert data["services"]["pageInfo"]["hasPreviousPage"] is False


async def test_paging_backward(gql: GraphQLClient, pool: asyncpg.Pool) -> None:
    await seed(pool, 30)
    last = await gql(
        "{ services(last: 5) { nodes { slug } pageInfo { hasPreviousPage hasNextPage startCursor } } }"
    )
    assert [n["slug"] for n in last["services"]["nodes"]] == [f"svc-{i:03d}" for i in range(25, 30)]
    assert last["services"]["pageInfo"]["hasPreviousPage"] is True
    before = last["services"]["pageInfo"]["startCursor"]
    earlier = await gql(
        "query($before: String) { services(last: 5, before: $before) { nodes { slug } "
        "pageInfo { hasNextPage } } }",
        before=before,
    )
    assert [n["slug"] for n in earlier["services"]["nodes"]] == [
        f"svc-{i:03d}" for i in range(20, 25)
    ]
    assert earlier["services"]["pageInfo"]["hasNextPage"] is True


async def test_paging_is_stable_under_concurrent_inserts(
    gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    await seed(pool, 20)
    page = await gql("{ services(first: 10) { nodes { slug } pageInfo { endCursor } } }")
    await pool.execute(
        "INSERT INTO services (slug, name) VALUES ('aaa-new', 'AAA new'), ('zzz-new', 'ZZZ new')"
    )
    rest = await gql(
        "query($after: String) { services(first: 100, after: $after) { nodes { slug } } }",
        after=page["services"]["pageInfo"]["endCursor"],
    )
    seen = [n["slug"] for n in page["services"]["nodes"]] + [
        n["slug"] for n in rest["services"]["nodes"]
    ]
    assert seen == [f"svc-{i:03d}" for i in range(20)] + ["zzz-new"]


async def test_ties_are_broken_by_id(gql: GraphQLClient, pool: asyncpg.Pool) -> None:
    await pool.execute(
        "INSERT INTO services (slug, name) SELECT format('same-%s', i), 'Same' FROM generate_series(1, 9) i"
    )
    slugs = await walk(gql, "", first=2)
    assert sorted(slugs) == sorted(f"same-{i}" for i in range(1, 10))
    assert len(slugs) == 9


@pytest.mark.parametrize(
    ("order", "expected_first"),
    [
        ("{field: NAME, direction: DESC}", "svc-039"),
        ("{field: TIER, direction: ASC}", "svc-000"),
        ("{field: TIER, direction: DESC}", "svc-039"),
        ("{field: CREATED_AT, direction: ASC}", "svc-000"),
        ("{field: UPDATED_AT, direction: DESC}", None),
    ],
)
async def test_ordering(
    gql: GraphQLClient, pool: asyncpg.Pool, order: str, expected_first: str | None
) -> None:
    await seed(pool, 40)
    slugs = await walk(gql, f", orderBy: {order}", first=9)
    assert sorted(slugs) == [f"svc-{i:03d}" for i in range(40)]
    if expected_first is not None:
        assert slugs[0] == expected_first
    if "TIER" in order:
        tiers = [1 + int(slug[-3:]) % 4 for slug in slugs]
        assert tiers == sorted(tiers, reverse="DESC" in order)


async def test_filters(gql: GraphQLClient, pool: asyncpg.Pool) -> None:
    await seed(pool, 40)

    async def slugs(filter_text: str) -> list[str]:
        data = await gql(
            f"{{ services(first: 100, filter: {filter_text}) {{ totalCount nodes {{ slug }} }} }}"
        )
        found = [n["slug"] for n in data["services"]["nodes"]]
        assert data["services"]["totalCount"] == len(found)
        return found

    assert await slugs('{search: "payments"}') == [f"svc-{i:03d}" for i in range(0, 40, 10)]
    assert await slugs('{search: "SVC-01"}') == [f"svc-{i:03d}" for i in range(10, 20)]
    assert await slugs('{search: "100%"}') == []
    assert await slugs("{tier: [1]}") == [f"svc-{i:03d}" for i in range(0, 40, 4)]
    assert await slugs("{lifecycle: [PRODUCTION]}") == [f"svc-{i:03d}" for i in range(0, 40, 3)]
    assert await slugs('{tags: ["even", "all"]}') == [f"svc-{i:03d}" for i in range(0, 40, 2)]
    owned = {team: await slugs(f'{{owner: "{team}"}}') for team in ("root", "mid", "leaf", "other")}
    assert len(owned["leaf"]) == 10
    assert set(owned["leaf"]) < set(owned["mid"]) < set(owned["root"])
    assert len(owned["root"]) == 30
    assert not set(owned["other"]) & set(owned["root"])
    combined = await slugs('{owner: "leaf", tier: [2, 3], search: "service"}')
    assert combined
    assert all(1 + int(s[-3:]) % 4 in (2, 3) for s in combined)
    unknown = await gql.raw('{ services(filter: {owner: "ghost"}) { totalCount } }')
    assert unknown["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_team_services_include_contributions(gql: GraphQLClient, pool: asyncpg.Pool) -> None:
    await seed(pool, 8)
    await pool.execute(
        "INSERT INTO service_owners (service_id, team_id, role) SELECT s.id, t.id, 'CONTRIBUTOR' "
        "FROM services s, teams t WHERE s.slug = 'svc-000' AND t.slug = 'other'"
    )
    data = await gql(
        '{ team(slug: "other") { services { totalCount nodes { slug } } '
        "tiered: services(filter: {tier: [1]}) { nodes { slug } } } }"
    )
    # ids start at 1, so 'other' is the primary owner of ids 3 and 7 (svc-002, svc-006)
    assert data["team"]["services"]["nodes"] == [
        {"slug": "svc-000"},
        {"slug": "svc-002"},
        {"slug": "svc-006"},
    ]
    assert data["team"]["services"]["totalCount"] == 3
    assert data["team"]["tiered"]["nodes"] == [{"slug": "svc-000"}]


async def test_page_size_limits(gql: GraphQLClient) -> None:
    for args in ("first: 101", "last: 500"):
        body = await gql.raw(f"{{ services({args}) {{ totalCount }} }}")
        assert "at most 100" in body["errors"][0]["message"]
        assert body["errors"][0]["extensions"]["code"] == "VALIDATION"
    nested = await gql.raw("{ teams { nodes { members(first: 1000) { totalCount } } } }")
    assert "at most 100" in nested["errors"][0]["message"]  # refused before any team is read
    body = await gql.raw("{ teams(first: 101) { totalCount } }")
    assert "at most 100" in body["errors"][0]["message"]


async def test_cursor_from_another_listing_is_refused(
    gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    await seed(pool, 10)
    page = await gql("{ services(first: 2) { pageInfo { endCursor } } }")
    cursor = page["services"]["pageInfo"]["endCursor"]
    for args in (
        "orderBy: {field: TIER, direction: ASC}",
        'filter: {search: "svc"}',
        "orderBy: {field: NAME, direction: DESC}",
    ):
        body = await gql.raw(
            f"query($c: String) {{ services(first: 2, after: $c, {args}) {{ totalCount }} }}",
            {"c": cursor},
        )
        assert "another filter or order" in body["errors"][0]["message"]
    garbage = await gql.raw('{ services(after: "not-a-cursor") { totalCount } }')
    assert "not a valid cursor" in garbage["errors"][0]["message"]
    teams = await gql.raw("query($c: String) { teams(after: $c) { totalCount } }", {"c": cursor})
    assert "another filter or order" in teams["errors"][0]["message"]


async def test_node_and_nodes(gql: GraphQLClient, pool: asyncpg.Pool) -> None:
    await seed(pool, 3)
    await pool.execute(
        "INSERT INTO users (handle, name, email) VALUES ('ada', 'Ada', 'ada@x.example')"
    )
    await pool.execute(
        "INSERT INTO environments (slug, name, tier) VALUES ('prod', 'Prod', 'PRODUCTION')"
    )
    ids = await gql(
        '{ service(slug: "svc-001") { id } team(slug: "leaf") { id } user(handle: "ada") { id } '
        'environment(slug: "prod") { id } }'
    )
    found = await gql(
        "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id "
        "... on Service { slug } ... on Team { slug } ... on User { handle } ... on Environment { slug } } }",
        ids=[
            ids["service"]["id"],
            ids["team"]["id"],
            "bogus",
            ids["user"]["id"],
            ids["environment"]["id"],
        ],
    )
    assert found["nodes"] == [
        {"__typename": "Service", "id": ids["service"]["id"], "slug": "svc-001"},
        {"__typename": "Team", "id": ids["team"]["id"], "slug": "leaf"},
        None,
        {"__typename": "User", "id": ids["user"]["id"], "handle": "ada"},
        {"__typename": "Environment", "id": ids["environment"]["id"], "slug": "prod"},
    ]
    one = await gql("query($id: ID!) { node(id: $id) { id } }", id=ids["team"]["id"])
    assert one["node"] == {"id": ids["team"]["id"]}
    too_many = await gql.raw(
        "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ["x"] * 101}
    )
    assert "at most 100" in too_many["errors"][0]["message"]


async def test_a_tier_no_service_can_have_matches_nothing(
    gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    await seed(pool, 8)
    data = await gql(
        "{ services(filter: {tier: [1, 40000, -40000]}) { totalCount }"
        " none: services(filter: {tier: [40000]}) { totalCount nodes { slug } }"
        " releaseMatrix(filter: {tier: [-28206745]}) { totalCount nodes { service { slug } } } }"
    )
    assert data["services"]["totalCount"] == 2
    assert data["none"] == {"totalCount": 0, "nodes": []}
    assert data["releaseMatrix"] == {"totalCount": 0, "nodes": []}
