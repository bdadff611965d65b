"""The fast mutation path (`schema.fast_mutations`) against the executor.

Each document is sent twice, its unique parts told apart by a tag: once as the app answers it
(the fast path where it can), once with the fast path off (the executor, the reference).
The two answers must be the same body once the tag, ids and times are set aside, and the
fast path must have answered exactly the documents it claims."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg
import httpx2 as httpx
import pytest

from api.graphql_http import GraphQLEndpoint
from schema.fast_mutations import FastMutations
from tests.support.graphql import GraphQLClient

Case = tuple[str, dict[str, Any] | None, str | None]
"""A document, its variables and its operation name."""

VARYING = frozenset(
    {"id", "createdAt", "updatedAt", "startedAt", "finishedAt", "number", "remaining"}
)


@contextmanager
def executor_only(endpoint: GraphQLEndpoint) -> Iterator[None]:
    fast = endpoint.fast_mutations
    endpoint.fast_mutations = None
    try:
        yield
    finally:
        endpoint.fast_mutations = fast


def _fast(endpoint: GraphQLEndpoint) -> FastMutations:
    assert endpoint.fast_mutations is not None
    return endpoint.fast_mutations


def _set_aside(value: Any, tag: str) -> Any:
    if isinstance(value, dict):
        return {
            key: "<varies>" if key in VARYING else _set_aside(item, tag)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_set_aside(item, tag) for item in value]
    if isinstance(value, str):
        return value.replace(tag, "<tag>")
    return value


@pytest.fixture
async def graph(client: httpx.AsyncClient) -> GraphQLClient:
    graph = GraphQLClient(client)
    await graph.mutate("createTeam", "team { slug }", slug="owners", name="Owners")
    await graph.mutate("createService", "service { slug }", slug="api", name="API", owner="owners")
    await graph.mutate(
        "createEnvironment", "environment { slug }", slug="prod", name="Prod", tier="PRODUCTION"
    )
    return graph


async def _both(
    client: httpx.AsyncClient,
    endpoint: GraphQLEndpoint,
    document: str,
    variables: dict[str, Any] | None = None,
    operation_name: str | None = None,
) -> tuple[Any, Any, int]:
    """The fast answer, the executor's answer (tags and varying values set aside) and how
    many of the two the fast path answered."""
    answered = _fast(endpoint).answered

    async def send(tag: str) -> Any:
        text = document.replace("{tag}", tag)
        given = (
            {k: v.replace("{tag}", tag) if isinstance(v, str) else v for k, v in variables.items()}
            if variables
            else None
        )
        response = await client.post(
            "/graphql",
            json={"query": text, "variables": given, "operationName": operation_name},
            headers={"x-request-id": "req-fast-mutation"},
        )
        return {"status": response.status_code, "body": _set_aside(response.json(), tag)}

    fast = await send("fa1")
    with executor_only(endpoint):
        reference = await send("ex1")
    return fast, reference, _fast(endpoint).answered - answered


ANSWERED_FAST: dict[str, Case] = {
    "a new team, every plain field": (
        'mutation { createTeam(input: {slug: "t-{tag}", name: "T {tag}", description: "d"}) '
        "{ __typename team { __typename id slug name description version } "
        "errors { code message path } } }",
        None,
        None,
    ),
    "aliases and a named operation with variables": (
        "query Other { teams(first: 1) { totalCount } } "
        "mutation Make($input: CreateTeamInput!) { made: createTeam(input: $input) "
        "{ t: team { s: slug } e: errors { c: code } } }",
        {"input": {"slug": "v-{tag}", "name": "V"}},
        "Make",
    ),
    "a taken slug": (
        'mutation { createTeam(input: {slug: "owners", name: "Again"}) '
        "{ team { slug } errors { code message path } } }",
        None,
        None,
    ),
    "input refused with paths": (
        'mutation { createTeam(input: {slug: "Not A Slug {tag}", name: ""}) '
        "{ team { slug } errors { code message path } } }",
        None,
        None,
    ),
    "a service: enums, lists, objects in lists": (
        'mutation { createService(input: {slug: "s-{tag}", name: "S", owner: "owners", '
        'lifecycle: PRODUCTION, tier: 2, tags: ["b", "a"], '
        'links: [{title: "Docs", url: "https://docs.example.com/{tag}"}]}) '
        "{ service { slug lifecycle tier tags links { title url } repositoryUrl system "
        "version createdAt } errors { code message path } } }",
        None,
        None,
    ),
    "a missing owner": (
        'mutation { createService(input: {slug: "m-{tag}", name: "M", owner: "nobody"}) '
        "{ service { slug } errors { code message path } } }",
        None,
        None,
    ),
    "the input in its one variable": (
        "mutation($input: CreateTeamInput!) { createTeam(input: $input) "
        "{ team { slug name description } errors { code message path } } }",
        {"input": {"slug": "w-{tag}", "name": "W", "description": None}},
        None,
    ),
    "a service's input in its one variable: enums, lists, objects in lists": (
        "mutation($input: CreateServiceInput!) { createService(input: $input) "
        "{ service { slug lifecycle tier tags links { title url } } errors { code path } } }",
        {
            "input": {
                "slug": "sv-{tag}",
                "name": "S",
                "owner": "owners",
                "lifecycle": "PRODUCTION",
                "tier": 2,
                "tags": ["b", "a"],
                "links": [{"title": "Docs", "url": "https://docs.example.com/{tag}"}],
            }
        },
        None,
    ),
    "one tag sent for a list, in a variable": (
        "mutation($input: CreateServiceInput!) { createService(input: $input) "
        "{ service { slug tags } errors { code path } } }",
        {"input": {"slug": "so-{tag}", "name": "S", "owner": "owners", "tags": "solo"}},
        None,
    ),
    "input refused with paths, in a variable": (
        "mutation($input: CreateTeamInput!) { createTeam(input: $input) "
        "{ team { slug } errors { code message path } } }",
        {"input": {"slug": "Not A Slug {tag}", "name": ""}},
        None,
    ),
    "a deployment": (
        "mutation($v: String!) { recordDeployment(input: "
        '{service: "api", environment: "prod", version: $v, state: SUCCEEDED}) '
        "{ deployment { version state kind number commitSha } errors { code message } } }",
        {"v": "1.{tag}"},
        None,
    ),
}


@pytest.mark.parametrize("case", ANSWERED_FAST)
async def test_the_fast_path_answers_as_the_executor_does(
    case: str, graph: GraphQLClient, client: httpx.AsyncClient, endpoint: GraphQLEndpoint
) -> None:
    fast, reference, answered = await _both(client, endpoint, *ANSWERED_FAST[case])
    assert fast == reference
    assert answered == 1


LEFT_TO_THE_EXECUTOR: dict[str, Case] = {
    "a field with its own resolver": (
        'mutation { createService(input: {slug: "o-{tag}", name: "O", owner: "owners"}) '
        "{ service { slug owner { slug } } errors { code } } }",
        None,
        None,
    ),
    "a fragment": (
        'mutation { createTeam(input: {slug: "f-{tag}", name: "F"}) { ...P } } '
        "fragment P on CreateTeamPayload { team { slug } errors { code } }",
        None,
        None,
    ),
    "a directive": (
        'mutation { createTeam(input: {slug: "d-{tag}", name: "D"}) '
        "{ team @include(if: true) { slug } errors { code } } }",
        None,
        None,
    ),
    "two mutations in one operation": (
        'mutation { a: createTeam(input: {slug: "a-{tag}", name: "A"}) { team { slug } } '
        'b: createTeam(input: {slug: "b-{tag}", name: "B"}) { team { slug } } }',
        None,
        None,
    ),
    "one key asked twice": (
        'mutation { createTeam(input: {slug: "k-{tag}", name: "K"}) '
        "{ team { slug slug } errors { code } } }",
        None,
        None,
    ),
    "variables the executor refuses": (
        "mutation($input: CreateTeamInput!) { createTeam(input: $input) { team { slug } } }",
        {"input": {"slug": 5}},
        None,
    ),
    "an unknown field in the variable": (
        "mutation($input: CreateTeamInput!) { createTeam(input: $input) { team { slug } } }",
        {"input": {"slug": "u-{tag}", "name": "U", "notAField": 1}},
        None,
    ),
    "a tier beyond 32 bits in the variable": (
        "mutation($input: CreateServiceInput!) { createService(input: $input) "
        "{ service { slug } } }",
        {"input": {"slug": "b-{tag}", "name": "B", "owner": "owners", "tier": 2**31}},
        None,
    ),
    "the variable not sent": (
        "mutation($input: CreateTeamInput!) { createTeam(input: $input) { team { slug } } }",
        {"other": "{tag}"},
        None,
    ),
    "a null for the variable": (
        "mutation($input: CreateTeamInput!) { createTeam(input: $input) { team { slug } } }",
        {"input": None, "other": "{tag}"},
        None,
    ),
    "a document that does not validate": (
        'mutation { createTeam(input: {slug: "x-{tag}"}) { team { slug } } }',
        None,
        None,
    ),
}


@pytest.mark.parametrize("case", LEFT_TO_THE_EXECUTOR)
async def test_what_the_fast_path_leaves_to_the_executor_is_answered_as_before(
    case: str, graph: GraphQLClient, client: httpx.AsyncClient, endpoint: GraphQLEndpoint
) -> None:
    fast, reference, answered = await _both(client, endpoint, *LEFT_TO_THE_EXECUTOR[case])
    assert fast == reference
    assert answered == 0


async def test_a_denied_actor_is_refused_alike(
    graph: GraphQLClient, client: httpx.AsyncClient, endpoint: GraphQLEndpoint
) -> None:
    token = await _read_token(graph)
    document = (
        'mutation { createTeam(input: {slug: "r-{tag}", name: "R"}) '
        "{ team { slug } errors { code message path } } }"
    )
    answered = _fast(endpoint).answered
    reader = graph.with_token(token)
    fast = await reader.raw(document.replace("{tag}", "x"))
    with executor_only(endpoint):
        reference = await reader.raw(document.replace("{tag}", "x"))
    # The rate-limit bucket refills between the two: its `remaining` is set aside.
    assert _set_aside(fast, "x") == _set_aside(reference, "x")
    assert fast["data"]["createTeam"]["errors"][0]["code"] == "FORBIDDEN"
    assert _fast(endpoint).answered == answered + 1


async def _read_token(graph: GraphQLClient) -> str:
    await graph.mutate(
        "createUser", "user { handle }", handle="reader", name="Reader", email="r@example.com"
    )
    created = await graph(
        'mutation { createApiToken(input: {user: "reader", name: "r", scopes: [READ]}) '
        "{ secret errors { code message } } }"
    )
    token: str = created["createApiToken"]["secret"]
    assert token, created
    return token


@pytest.mark.allows_internal
async def test_a_failure_after_the_use_case_began_is_masked_as_the_executor_masks_it(
    graph: GraphQLClient,
    client: httpx.AsyncClient,
    endpoint: GraphQLEndpoint,
    pool: asyncpg.Pool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    document = (
        'mutation { createTeam(input: {slug: "i-{tag}", name: "I"}) '
        "{ team { slug } errors { code } } }"
    )
    counted = endpoint.internal_count
    await pool.execute("ALTER TABLE teams RENAME TO teams_away")
    try:
        fast, reference, answered = await _both(client, endpoint, document)
    finally:
        await pool.execute("ALTER TABLE teams_away RENAME TO teams")
    assert fast == reference
    assert answered == 1
    assert fast["body"]["data"] is None
    (error,) = fast["body"]["errors"]
    assert error["message"] == "Internal server error"
    assert error["path"] == ["createTeam"]
    assert error["locations"] == [{"line": 1, "column": 12}]
    assert error["extensions"] == {"code": "INTERNAL", "requestId": "req-fast-mutation"}
    assert endpoint.internal_count == counted + 2
    assert "teams_away" not in str(fast)
    assert "asyncpg" not in str(fast)
    assert any(record.exc_info and "teams" in str(record.exc_info[1]) for record in caplog.records)


def test_only_mutation_documents_of_one_field_are_planned(endpoint: GraphQLEndpoint) -> None:
    from graphql import parse

    fast = _fast(endpoint)
    plain = "{ team { slug } errors { code } }"
    assert fast.plans(parse(f'mutation {{ createTeam(input: {{slug: "a", name: "A"}}) {plain} }}'))
    assert not fast.plans(parse('{ team(slug: "a") { slug } }'))
    assert not fast.plans(parse("subscription { events { type } }"))
    assert not fast.plans(parse("mutation A { x: __typename } mutation B { y: __typename }"), "B")
    two = 'mutation A { createTeam(input: {slug: "a", name: "A"}) { team { slug } } } '
    two += 'mutation B { createTeam(input: {slug: "b", name: "B"}) { team { slug } } }'
    assert not fast.plans(parse(two))
    assert fast.plans(parse(two), "B")
    assert not fast.plans(parse(two), "C")


def test_a_parsed_document_is_planned_once_per_operation(
    endpoint: GraphQLEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    from graphql import parse

    fast = _fast(endpoint)
    planned: list[str | None] = []
    plan_anew = fast._planned

    def counted(document: Any, operation_name: str | None) -> Any:
        planned.append(operation_name)
        return plan_anew(document, operation_name)

    monkeypatch.setattr(fast, "_planned", counted)
    two = parse(
        'mutation A { createTeam(input: {slug: "a", name: "A"}) { team { slug } } } '
        'mutation B { deleteTeam(input: {team: "b"}) { errors { code } } }'
    )
    for _ in range(3):
        assert not fast.plans(two)
        assert fast.plans(two, "A")
        assert fast.plans(two, "B")
    assert planned == [None, "A", "B"]
    a, b = fast._plan(two, "A"), fast._plan(two, "B")
    assert a is not None
    assert b is not None
    assert (a.node.name.value, b.node.name.value) == ("createTeam", "deleteTeam")
    again = parse(
        'mutation A { createTeam(input: {slug: "a", name: "A"}) { team { slug } } } '
        'mutation B { deleteTeam(input: {team: "b"}) { errors { code } } }'
    )
    assert fast.plans(again, "A")
    assert planned == [None, "A", "B", "A"], "another parse of the text is planned anew"


def test_only_the_input_in_its_one_variable_is_coerced_directly(endpoint: GraphQLEndpoint) -> None:
    from graphql import parse

    fast = _fast(endpoint)
    selection = "{ team { slug } }"

    def direct(document: str) -> bool:
        plan = fast._plan(parse(document), None)
        assert plan is not None, document
        return plan.direct is not None

    assert direct(f"mutation($i: CreateTeamInput!) {{ createTeam(input: $i) {selection} }}")
    assert not direct(f'mutation {{ createTeam(input: {{slug: "a", name: "A"}}) {selection} }}')
    assert not direct(
        f'mutation($n: String!) {{ createTeam(input: {{slug: "a", name: $n}}) {selection} }}'
    )
    assert not direct(
        "mutation($i: CreateTeamInput!, $j: CreateTeamInput!) "
        f"{{ createTeam(input: $i) {selection} }}"
    ), "two variables (one unused: the document does not validate)"
    assert not direct(
        'mutation($i: CreateTeamInput = {slug: "a", name: "A"}) '
        f"{{ createTeam(input: $i) {selection} }}"
    ), "a variable with a default"
