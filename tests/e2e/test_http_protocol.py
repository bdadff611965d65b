"""GraphQL over HTTP: media types, status codes, malformed requests, probes."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx2 as httpx
import pytest
from graphql import get_introspection_query

from api.graphql_http import GraphQLEndpoint
from api.health import readyz

GRAPHQL_RESPONSE = "application/graphql-response+json"


def without_cost(body: dict[str, Any]) -> dict[str, Any]:
    """The body without the rate limiter's `extensions.cost`, asserting it is there."""
    extensions = dict(body.pop("extensions"))
    assert set(extensions.pop("cost")) == {"requested", "remaining"}
    return {**body, **({"extensions": extensions} if extensions else {})}


async def test_query_over_post_and_get(client: httpx.AsyncClient) -> None:
    posted = await client.post("/graphql", json={"query": "{ teams { totalCount } }"})
    assert posted.status_code == 200
    assert posted.headers["content-type"].startswith("application/json")
    assert without_cost(posted.json()) == {"data": {"teams": {"totalCount": 0}}}
    got = await client.get("/graphql", params={"query": "{ teams { totalCount } }"})
    assert without_cost(got.json()) == {"data": {"teams": {"totalCount": 0}}}


async def test_every_answer_reports_its_cost(
    client: httpx.AsyncClient, endpoint: GraphQLEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The executor's answers and the fast path's bytes alike."""
    query = {"query": "{ teams(first: 7) { totalCount } }"}
    executed = (await client.post("/graphql", json=query)).json()
    assert executed["extensions"]["cost"]["requested"] == 7
    monkeypatch.setattr(endpoint, "verify", False)
    answered = endpoint.fast_answers
    fast = (await client.post("/graphql", json=query)).json()
    assert endpoint.fast_answers == answered + 1
    assert fast["data"] == executed["data"]
    assert fast["extensions"]["cost"]["requested"] == 7
    assert 0 <= fast["extensions"]["cost"]["remaining"] <= 500_000


async def test_graphql_response_media_type_is_honoured(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", json={"query": "{ teams { totalCount } }"}, headers={"accept": GRAPHQL_RESPONSE}
    )
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    invalid = await client.post(
        "/graphql", json={"query": "{ nope }"}, headers={"accept": GRAPHQL_RESPONSE}
    )
    assert invalid.status_code == 400
    assert "data" not in invalid.json()
    assert invalid.json()["errors"][0]["extensions"]["code"] == "VALIDATION"
    legacy = await client.post(
        "/graphql", json={"query": "{ nope }"}, headers={"accept": "application/json"}
    )
    assert legacy.status_code == 200
    assert "Cannot query field 'nope'" in legacy.json()["errors"][0]["message"]


async def test_mutation_over_get_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/graphql",
        params={"query": 'mutation { deleteTeam(input: {team: "x"}) { errors { code } } }'},
    )
    assert response.status_code == 405
    assert "POST" in response.headers["allow"]


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"[]", "application/json", 400),
        (b'{"query": 42}', "application/json", 400),
        (b'{"query": "{ teams { totalCount } }", "variables": "x"}', "application/json", 400),
        (b"query=x", "application/x-www-form-urlencoded", 415),
        (b"{}", "application/json", 400),
    ],
)
async def test_malformed_requests_get_4xx_without_internals(
    client: httpx.AsyncClient, content: bytes, content_type: str, status: int
) -> None:
    response = await client.post(
        "/graphql", content=content, headers={"content-type": content_type}
    )
    assert response.status_code == status
    body = response.json()
    assert body["errors"][0]["message"]
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert "Traceback" not in response.text


async def test_wrong_variable_types_and_unknown_fields(client: httpx.AsyncClient) -> None:
    for payload in (
        {"query": "query($n: Int) { teams(first: $n) { totalCount } }", "variables": {"n": "many"}},
        {"query": "{ teams { unknownField } }"},
        {"query": "{ teams(bogus: 1) { totalCount } }"},
        {"query": "{ teams { totalCount"},
    ):
        strict = await client.post("/graphql", json=payload, headers={"accept": GRAPHQL_RESPONSE})
        assert strict.status_code == 400, payload
        assert strict.json()["errors"]
        legacy = await client.post("/graphql", json=payload)
        assert legacy.status_code == 200
        assert legacy.json()["errors"]


async def test_unacceptable_accept_header(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", json={"query": "{ teams { totalCount } }"}, headers={"accept": "text/csv"}
    )
    assert response.status_code == 406


async def test_graphiql_for_browsers(client: httpx.AsyncClient) -> None:
    page = await client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
    introspection = get_introspection_query(descriptions=True, input_value_deprecation=True)
    schema = await client.post("/graphql", json={"query": introspection})
    assert schema.status_code == 200
    assert "Team" in {type_["name"] for type_ in schema.json()["data"]["__schema"]["types"]}


@pytest.mark.allows_internal
async def test_internal_errors_are_masked(
    client: httpx.AsyncClient,
    pool: asyncpg.Pool,
    caplog: pytest.LogCaptureFixture,
    endpoint: GraphQLEndpoint,
) -> None:
    """Also counted by the endpoint, which is how the suite fails any test that meets an
    INTERNAL answer without asking for it (`tests/support/internal_answers.py`)."""
    counted = endpoint.internal_count
    await pool.execute("ALTER TABLE environments RENAME TO environments_away")
    try:
        response = await client.post(
            "/graphql",
            json={"query": "{ environments { totalCount } }"},
            headers={"x-request-id": "req-internal-1"},
        )
    finally:
        await pool.execute("ALTER TABLE environments_away RENAME TO environments")
    body = response.json()
    assert body["errors"][0]["message"] == "Internal server error"
    assert body["errors"][0]["extensions"] == {"code": "INTERNAL", "requestId": "req-internal-1"}
    assert endpoint.internal_count == counted + 1
    assert endpoint.internal_answers[-1] == "req-internal-1"
    reports = [r for r in caplog.records if "request req-internal-1" in r.getMessage()]
    assert any(r.exc_info and "environments" in str(r.exc_info[1]) for r in reports)
    assert "environments" not in str(body["errors"]).replace("'environments'", "")
    assert "asyncpg" not in response.text
    assert "relation" not in response.text


async def test_probes(client: httpx.AsyncClient, migrated_url: str) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    closed = await asyncpg.create_pool(migrated_url, min_size=1, max_size=1)
    await closed.close()
    down = await readyz(closed, 0.5, lambda: False)
    assert down.status_code == 503
