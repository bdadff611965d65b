"""The fast read path: which requests it answers, and values it must render exactly as the
executor does (the `client` fixture fails any test where the two paths disagree)."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx2 as httpx
import pytest
from starlette.applications import Starlette

from api.graphql_http import GraphQLEndpoint
from tests.support.graphql import GraphQLClient

SERVICE_PAGE = (
    "query($after: String, $order: ServiceOrder) { services(first: 2, after: $after, "
    "orderBy: $order) { edges { cursor node { id name description createdAt updatedAt "
    "tags links { title url } } } pageInfo { hasNextPage endCursor } } }"
)
AWKWARD_NAMES = [
    'quote " and backslash \\',
    "new\nline\tand\u0001control",
    "unicode é ß 東京 🚀",
    "slash / and 'apostrophe'",
    "",
]


async def seed_awkward(pool: asyncpg.Pool) -> None:
    await pool.execute("INSERT INTO teams (slug, name) VALUES ('t', 'T')")
    for index, name in enumerate(AWKWARD_NAMES):
        await pool.execute(
            "INSERT INTO services (slug, name, description, tags, links, created_at, updated_at) "
            "VALUES ($1, $2, $2, ARRAY[$2], jsonb_build_array(jsonb_build_object('title', $2, "
            "'url', 'https://x.example/' || $1)), $3::text::timestamptz, now())",
            f"svc-{index}",
            name,
            # Whole seconds: isoformat() then writes no fraction at all.
            "2026-01-02 03:04:05+00" if index % 2 else "2026-01-02 03:04:05.000120+00",
        )


@pytest.mark.parametrize(
    "order", [None, {"field": "CREATED_AT", "direction": "DESC"}, {"field": "TIER"}]
)
async def test_awkward_text_and_timestamps_render_identically(
    gql: GraphQLClient, pool: asyncpg.Pool, endpoint: GraphQLEndpoint, order: object
) -> None:
    await seed_awkward(pool)
    answered = endpoint.fast_answers
    seen: list[str] = []
    after = None
    while True:
        page = (await gql(SERVICE_PAGE, after=after, order=order))["services"]
        seen += [edge["node"]["name"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert sorted(seen) == sorted(AWKWARD_NAMES)
    assert endpoint.fast_answers - answered == 3


async def test_get_queries_take_the_fast_path(
    client: httpx.AsyncClient, pool: asyncpg.Pool, endpoint: GraphQLEndpoint
) -> None:
    answered = endpoint.fast_answers
    response = await client.get("/graphql", params={"query": "{ teams { totalCount } }"})
    assert response.json()["data"] == {"teams": {"totalCount": 0}}
    assert endpoint.fast_answers == answered + 1


@pytest.mark.parametrize(
    "query",
    [
        "{ __schema { queryType { name } } }",
        "{ services(first: 101) { totalCount } }",
        '{ services(after: "nope") { totalCount } }',
        '{ services(filter: { owner: "missing" }) { totalCount } }',
        'mutation { createTeam(input: { slug: "a", name: "A" }) { errors { code } } }',
        "query A { teams { totalCount } } query B { users { totalCount } }",
    ],
)
async def test_what_the_executor_answers_instead(
    client: httpx.AsyncClient, pool: asyncpg.Pool, endpoint: GraphQLEndpoint, query: str
) -> None:
    answered = endpoint.fast_answers
    await client.post("/graphql", json={"query": query})
    assert endpoint.fast_answers == answered


async def test_owner_filter_of_an_existing_team_is_answered_fast(
    gql: GraphQLClient, pool: asyncpg.Pool, endpoint: GraphQLEndpoint
) -> None:
    await seed_awkward(pool)
    answered = endpoint.fast_answers
    data = await gql('{ services(filter: { owner: "t" }) { totalCount } }')
    assert data == {"services": {"totalCount": 0}}
    assert endpoint.fast_answers == answered + 1


@pytest.mark.parametrize("first", [0, 2])
async def test_an_empty_page_of_constants_is_still_an_object(
    gql: GraphQLClient, pool: asyncpg.Pool, endpoint: GraphQLEndpoint, first: int
) -> None:
    """Nothing selected aggregates over the (empty) window: the connection is an object, not
    null."""
    await seed_awkward(pool)
    answered = endpoint.fast_answers
    data = await gql(
        '{ team(slug: "t") { services(first: $first) { pageInfo { hasPreviousPage '
        "__typename } totalCount __typename } } }".replace("$first", str(first))
    )
    assert data == {
        "team": {
            "services": {
                "pageInfo": {"hasPreviousPage": False, "__typename": "PageInfo"},
                "totalCount": 0,
                "__typename": "ServiceConnection",
            }
        }
    }
    assert endpoint.fast_answers == answered + 1


async def test_fragments_aliases_variables_and_directives(
    gql: GraphQLClient, pool: asyncpg.Pool, endpoint: GraphQLEndpoint
) -> None:
    await seed_awkward(pool)
    answered = endpoint.fast_answers
    query = """
    query($skip: Boolean!, $with: Boolean = true, $slug: String!) {
      first: service(slug: $slug) { ...Parts ... on Service @include(if: $with) { slug } }
      again: service(slug: $slug) { name @skip(if: $skip) __typename }
      all: nodes(ids: ["U2VydmljZTox", "bm9wZTox", "VGVhbTox"]) {
        __typename id ... on Team { slug } ...Parts
      }
    }
    fragment Parts on Service { id n: name tags }
    """
    data = await gql(query, skip=True, slug="svc-1")
    assert data["first"]["slug"] == "svc-1"
    assert data["again"] == {"__typename": "Service"}
    assert [node and node["__typename"] for node in data["all"]] == ["Service", None, "Team"]
    assert endpoint.fast_answers == answered + 1


async def test_a_valid_cursor_of_a_connection_that_selects_no_row(
    gql: GraphQLClient, pool: asyncpg.Pool, endpoint: GraphQLEndpoint
) -> None:
    """Only the count is read: the cursor is checked, and its values are no parameters of
    the statement (which would then not match them)."""
    await seed_awkward(pool)
    cursor = (await gql(SERVICE_PAGE))["services"]["pageInfo"]["endCursor"]
    answered = endpoint.fast_answers
    data = await gql(
        "query($c: String) { services(after: $c) { totalCount __typename } "
        'team(slug: "t") { slug } after: services(first: 1, after: $c) { nodes { slug } } }',
        c=cursor,
    )
    assert data["services"] == {"totalCount": 5, "__typename": "ServiceConnection"}
    assert data["team"] == {"slug": "t"}
    assert len(data["after"]["nodes"]) == 1
    assert endpoint.fast_answers == answered + 1


async def test_a_mutation_is_not_planned_by_the_fast_path(
    client: httpx.AsyncClient, endpoint: GraphQLEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mutation is validated once, by the executor: the fast path (which would parse and
    validate it again only to leave it) is not asked."""
    assert endpoint.fast_reads is not None
    asked: list[str] = []

    async def answer(query: str, *_: object) -> bytes | None:
        asked.append(query)
        return None

    monkeypatch.setattr(endpoint.fast_reads, "answer", answer)
    made = await client.post(
        "/graphql",
        json={
            "query": 'mutation { createTeam(input: { slug: "a", name: "A" }) { errors { code } } }'
        },
    )
    assert made.json()["data"] == {"createTeam": {"errors": []}}
    read = await client.post("/graphql", json={"query": "{ teams { totalCount } }"})
    assert read.json()["data"] == {"teams": {"totalCount": 1}}
    assert asked == ["{ teams { totalCount } }"]


async def test_concurrent_reads_batched_into_one_statement_answer_as_the_executor_does(
    client: httpx.AsyncClient, pool: asyncpg.Pool, app: Starlette
) -> None:
    """Lookups of one text that wait while one runs share the next statement; each answer
    is still the executor's (the `client` fixture compares every one)."""
    await pool.execute(
        "INSERT INTO teams (slug, name) SELECT format('t%s', i), format('Team %s', i) "
        "FROM generate_series(0, 19) i"
    )
    batches = app.state.container.read_batches
    batched = batches.batches
    query = "query($slug: String!) { team(slug: $slug) { slug name } }"
    slugs = [f"t{i % 20}" for i in range(60)] + ["nobody"]
    responses = await asyncio.gather(
        *(client.post("/graphql", json={"query": query, "variables": {"slug": s}}) for s in slugs)
    )
    answers = [response.json()["data"]["team"] for response in responses]
    assert answers[:-1] == [{"slug": s, "name": f"Team {s[1:]}"} for s in slugs[:-1]]
    assert answers[-1] is None
    assert batches.batches > batched
