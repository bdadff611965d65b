"""Issue 17, finding 6: bad input answered with `INTERNAL` or HTTP 500 and a traceback.

Each test sends the hostile request through the in-process app and checks the answer, that
no SQL ran where the request must never reach the database (the app runs with
`PAVED_FAST_READS=verify`, so the fast read path and the executor both see every query) and
that nothing was logged at WARNING or above, tracebacks included.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

import httpx2 as httpx
import orjson
import pytest

from api.graphql_http import GraphQLEndpoint
from api.rate_limits import RateLimiter
from tests.support.clock import FakeClock
from tests.support.graphql import GraphQLClient
from tests.support.statements import StatementLog

SERVICES = (
    "query($after: String, $order: ServiceOrder) "
    "{ services(first: 1, after: $after, orderBy: $order) { nodes { slug } "
    "pageInfo { endCursor } } }"
)
NODE = "query($id: ID!) { node(id: $id) { id ... on Team { slug } } }"


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def unpacked(cursor: str) -> list[Any]:
    decoded: list[Any] = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    return decoded


def forged(real_cursor: str, values: list[str]) -> str:
    """`real_cursor`'s listing scope, with other sort-key values."""
    scope, _ = unpacked(real_cursor)
    return base64.urlsafe_b64encode(orjson.dumps([scope, values])).decode().rstrip("=")


def quiet(caplog: pytest.LogCaptureFixture) -> None:
    """Nothing at WARNING or above (the fast path's fallback warning, the endpoint's
    "unexpected failure"), and no traceback at any level."""
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    assert loud == [], [record.getMessage() for record in loud]


@pytest.fixture
async def catalog(gql: GraphQLClient) -> GraphQLClient:
    """Team 1 (`pay`) owning two services."""
    assert (await gql.mutate("createTeam", "team { slug }", slug="pay", name="Pay"))["errors"] == []
    for slug in ("pay-api", "pay-web"):
        created = await gql.mutate(
            "createService", "service { slug }", slug=slug, name=slug, owner="pay", tier=1
        )
        assert created["errors"] == []
    return gql


async def first_cursor(gql: GraphQLClient, order: dict[str, str]) -> str:
    data = await gql(SERVICES, order=order)
    cursor: str = data["services"]["pageInfo"]["endCursor"]
    return cursor


# --- cursors -------------------------------------------------------------------------------

BY_NAME = {"field": "NAME", "direction": "ASC"}
BY_CREATION = {"field": "CREATED_AT", "direction": "ASC"}
BY_TIER = {"field": "TIER", "direction": "DESC"}


@pytest.mark.parametrize(
    ("order", "values"),
    [
        pytest.param(BY_NAME, ["a", "notanint"], id="the-issue's-cursor"),
        pytest.param(BY_NAME, ["a", "9223372036854775808"], id="bigint-overflow"),
        pytest.param(BY_NAME, ["a", "\uff11"], id="fullwidth-digit"),
        pytest.param(BY_NAME, ["a", "²"], id="superscript-digit"),
        pytest.param(BY_NAME, ["a", " 1"], id="padded-integer"),
        pytest.param(BY_NAME, ["a", "1" * 5000], id="too-many-digits"),
        pytest.param(BY_NAME, ["a" * 1001, "1"], id="overlong-text"),
        pytest.param(BY_CREATION, ["2026-13-45 00:00:00+00", "1"], id="impossible-date"),
        pytest.param(BY_CREATION, ["yesterday", "1"], id="words-for-a-time"),
        pytest.param(BY_CREATION, ["2026-01-01 00:00:00", "1"], id="time-without-zone"),
        pytest.param(BY_TIER, ["2147483648", "a", "1"], id="integer-overflow"),
    ],
)
async def test_a_forged_cursor_with_the_right_scope_is_validation_before_any_sql(
    catalog: GraphQLClient,
    endpoint: GraphQLEndpoint,
    statements: StatementLog,
    caplog: pytest.LogCaptureFixture,
    order: dict[str, str],
    values: list[str],
) -> None:
    cursor = forged(await first_cursor(catalog, order), values)
    variables = {"after": cursor, "order": order}
    with statements.capture() as seen:
        body = await catalog.raw(SERVICES, variables)
        assert endpoint.fast_reads is not None
        assert await endpoint.fast_reads.answer(SERVICES, variables, None) is None
    assert seen == []
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "VALIDATION"}
    assert error["message"] == "`after` is not a valid cursor"
    assert error["path"] == ["services"]
    quiet(caplog)


async def test_a_nul_character_inside_a_cursor_never_reaches_postgresql(
    catalog: GraphQLClient, statements: StatementLog, caplog: pytest.LogCaptureFixture
) -> None:
    """The request's own text carries no NUL (the cursor is base64), so the up-front NUL
    check cannot see it: the cursor's decoding refuses it."""
    cursor = forged(await first_cursor(catalog, BY_NAME), ["pay\x00-api", "1"])
    assert "\x00" not in cursor
    with statements.capture() as seen:
        response = await catalog.http.post(
            "/graphql",
            json={"query": SERVICES, "variables": {"before": None, "after": cursor}},
            headers={"accept": "application/graphql-response+json"},
        )
    assert seen == []
    assert response.status_code == 200  # a field error: the operation ran
    [error] = response.json()["errors"]
    assert (error["extensions"]["code"], error["path"]) == ("VALIDATION", ["services"])
    quiet(caplog)


@pytest.mark.parametrize("order", [BY_NAME, BY_CREATION, BY_TIER])
async def test_real_cursors_still_page(catalog: GraphQLClient, order: dict[str, str]) -> None:
    """What PostgreSQL writes into cursors (`timestamptz::text` in the session's time zone
    included) passes the checks."""
    first = await first_cursor(catalog, order)
    data = await catalog(SERVICES, after=first, order=order)
    assert len(data["services"]["nodes"]) == 1


# --- global IDs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "global_id",
    [
        pytest.param(b64("Team:²"), id="superscript-two"),
        pytest.param(b64("Team:\u0661"), id="arabic-indic-one"),
        pytest.param(b64("Team:\uff11"), id="fullwidth-one"),
        pytest.param(b64("Téam:1"), id="non-ascii-type-name"),
        pytest.param(b64("Team:01"), id="leading-zero"),
    ],
)
async def test_global_ids_take_ascii_digits_only(
    catalog: GraphQLClient,
    statements: StatementLog,
    caplog: pytest.LogCaptureFixture,
    global_id: str,
) -> None:
    """`Team:²` was HTTP 500 (`int('²')` raises) and `Team:` + U+0661 (Arabic-Indic one)
    read as `Team:1`: both are now IDs of nothing, like any other ID that is not ours. The
    fast path still answers `null` with its one constant statement, which reads no table."""
    team = await catalog(NODE, id=b64("Team:1"))
    assert team["node"]["slug"] == "pay"
    with statements.capture() as seen:
        response = await catalog.http.post(
            "/graphql", json={"query": NODE, "variables": {"id": global_id}}
        )
        nodes = await catalog.raw(
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": [global_id]}
        )
    assert [statement for statement in seen if "FROM" in statement.upper()] == []
    assert response.status_code == 200
    assert response.json()["data"] == {"node": None}
    assert "errors" not in response.json()
    assert nodes["data"] == {"nodes": [None]}
    quiet(caplog)


async def test_a_mutation_given_a_non_ascii_id_answers_not_found(
    catalog: GraphQLClient, caplog: pytest.LogCaptureFixture
) -> None:
    refused = await catalog.mutate("revokeApiToken", "token { id }", token=b64("ApiToken:²"))
    assert [(e["code"], e["path"]) for e in refused["errors"]] == [
        ("NOT_FOUND", ["input", "token"])
    ]
    quiet(caplog)


# --- deeply nested variables --------------------------------------------------------------


@pytest.fixture
def limiter(endpoint: GraphQLEndpoint, monkeypatch: pytest.MonkeyPatch) -> RateLimiter:
    """The app's limiter, replaced by a 100-point bucket that does not refill meanwhile."""
    limiter = RateLimiter(100, 10, clock=FakeClock(1_000.0))
    monkeypatch.setattr(endpoint, "rate_limiter", limiter)
    return limiter


def nested_body(levels: int, query: str = "{ __typename }") -> bytes:
    """A request whose `variables` nest `levels` objects and lists, the variables object
    included, written by hand: `json.dumps` would itself recurse."""
    inner = levels - 1
    return (
        b'{"query": '
        + orjson.dumps(query)
        + b', "variables": {"v": '
        + b"[" * inner
        + b"]" * inner
        + b"}}"
    )


async def remaining_points(client: httpx.AsyncClient) -> int:
    """Spends 1 point (`{ __typename }`) and says what is left."""
    answer = await client.post("/graphql", json={"query": "{ __typename }"})
    remaining: int = answer.json()["extensions"]["cost"]["remaining"]
    return remaining


@pytest.mark.parametrize(
    ("levels", "message"),
    [
        pytest.param(1_000, "`variables` nests objects and lists deeper than the limit of 32"),
        pytest.param(1_100, "the request body is not valid JSON", id="past-the-parser's-limit"),
        pytest.param(40, "`variables` nests objects and lists deeper than the limit of 32"),
        pytest.param(33, "`variables` nests objects and lists deeper than the limit of 32"),
    ],
)
async def test_deeply_nested_variables_are_400_before_parsing_or_charging(
    client: httpx.AsyncClient,
    limiter: RateLimiter,
    statements: StatementLog,
    caplog: pytest.LogCaptureFixture,
    levels: int,
    message: str,
) -> None:
    """The document does not even parse: the variables are refused first, for free."""
    with statements.capture() as seen:
        response = await client.post(
            "/graphql",
            content=nested_body(levels, query="{ __typename"),
            headers={
                "content-type": "application/json",
                "accept": "application/graphql-response+json",
            },
        )
    assert seen == []
    assert response.status_code == 400
    assert response.json() == {
        "errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]
    }
    assert await remaining_points(client) == 99
    quiet(caplog)


async def test_deeply_nested_variables_over_get_are_400_too(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    for levels in (1_000, 2_000):
        variables = ("[" * levels + "]" * levels).join(['{"v": ', "}"])
        response = await client.get(
            "/graphql", params={"query": "{ __typename }", "variables": variables}
        )
        assert response.status_code == 400
        assert response.json()["errors"][0]["extensions"] == {"code": "BAD_REQUEST"}
    quiet(caplog)


@pytest.mark.parametrize("levels", [20, 32])
async def test_variables_within_the_limit_are_answered(
    client: httpx.AsyncClient, limiter: RateLimiter, caplog: pytest.LogCaptureFixture, levels: int
) -> None:
    response = await client.post(
        "/graphql", content=nested_body(levels), headers={"content-type": "application/json"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"__typename": "Query"}
    assert body["extensions"]["cost"] == {"requested": 1, "remaining": 99}
    quiet(caplog)


async def test_deep_extensions_are_refused_as_well(client: httpx.AsyncClient) -> None:
    body = b'{"query": "{ __typename }", "extensions": {"x": ' + b"[" * 500 + b"]" * 500 + b"}}"
    response = await client.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert "`extensions` nests objects and lists" in response.json()["errors"][0]["message"]


async def test_a_content_length_of_non_ascii_digits_is_400(
    client: httpx.AsyncClient, statements: StatementLog, caplog: pytest.LogCaptureFixture
) -> None:
    """`'²'.isdigit()` holds and `int('²')` raises: the same hole as the global IDs'."""
    with statements.capture() as seen:
        response = await client.post(
            "/graphql",
            content=b'{"query": "{ __typename }"}',
            headers={b"content-type": b"application/json", b"content-length": b"\xb2"},
        )
    assert seen == []
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "`Content-Length` is not a number"
    quiet(caplog)


# --- integers in JSON values ---------------------------------------------------------------

REPORT = (
    "mutation { reportResourceStatus(input: {resource: %s, state: READY, outputs: %s}) "
    "{ errors { code message } } }"
)


@pytest.mark.parametrize(
    "outputs",
    [
        # Found by `make fuzz`: the audit log's JSON encoder refused it, answered INTERNAL.
        pytest.param("{a: 99999999999999999999999}", id="the-fuzzer's-outputs"),
        pytest.param("{a: [1, {b: -9223372036854775809}]}", id="nested-below-64-bits"),
        pytest.param("18446744073709551616", id="bare-above-64-bits"),
    ],
)
async def test_an_integer_beyond_64_bits_in_json_is_validation_before_any_sql(
    client: httpx.AsyncClient,
    statements: StatementLog,
    caplog: pytest.LogCaptureFixture,
    outputs: str,
) -> None:
    with statements.capture() as seen:
        response = await client.post("/graphql", json={"query": REPORT % ('"x"', outputs)})
    errors = response.json()["errors"]
    assert [e["extensions"]["code"] for e in errors] == ["VALIDATION"]
    assert "integers in JSON must lie between" in errors[0]["message"]
    assert seen == []
    quiet(caplog)


async def test_64_bit_integers_in_json_are_taken(gql: GraphQLClient) -> None:
    """The bounds themselves pass (the resource does not exist: NOT_FOUND, not a refusal of
    the value)."""
    outputs = "{low: -9223372036854775808, high: 18446744073709551615, list: [1, 2.5]}"
    answer = await gql.raw(REPORT % ('"x"', outputs))
    assert [e["code"] for e in answer["data"]["reportResourceStatus"]["errors"]] == ["NOT_FOUND"]
