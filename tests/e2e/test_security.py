"""Hostile requests through the app: each is refused with a clear error before any SQL runs
(the statement log stays empty), on the fast read path and the executor alike.

Authentication is another layer (`api/authentication.py`); tests that need a given principal
or production mode serve the endpoint itself, with `request.state.principal` set directly.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx2 as httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.actor_slots import ActorSlots
from api.bootstrap import Overrides
from api.graphql_http import GraphQLEndpoint
from api.hardening import Hardening
from api.rate_limits import RateLimiter
from api.settings import Settings
from api.trusted_documents import (
    TrustedDocumentsError,
    document_id,
    load_trusted_documents,
    manifest,
)
from cli.main import main
from domain.access.model import ActorKind, Principal, Scope
from tests.support.app import in_process_client, started_app
from tests.support.catalog import seed_two_hundred_services
from tests.support.clock import FakeClock
from tests.support.graphql import aliased
from tests.support.logs import no_tracebacks
from tests.support.statements import StatementLog

GRAPHQL_RESPONSE = "application/graphql-response+json"
TEAMS = "{ teams { totalCount } }"
MUTATION = 'mutation { createTeam(input: { slug: "x", name: "X" }) { errors { code } } }'
NESTED_CONNECTIONS = (
    "{ teams(first: 100) { nodes { members(first: 100) { nodes { "
    "teams { services(first: 100) { nodes { slug } } } } } } } }"
)


def user(actor_id: int, *, admin: bool = False) -> Principal:
    return Principal(
        kind=ActorKind.USER,
        actor_id=actor_id,
        name=f"user {actor_id}",
        scopes=frozenset({Scope.READ, Scope.WRITE}),
        is_admin=admin,
    )


@pytest.fixture
async def endpoint_client() -> AsyncIterator[Any]:
    """Opens clients of an endpoint acting as a given principal (None: none is set)."""
    opened: list[httpx.AsyncClient] = []

    def open_client(
        endpoint: GraphQLEndpoint, principal: Principal | None = None
    ) -> httpx.AsyncClient:
        async def graphql(request: Request) -> Response:
            if principal is not None:
                request.state.principal = principal
            return await endpoint(request)

        app = Starlette(routes=[Route("/graphql", graphql, methods=["GET", "POST"])])
        client = in_process_client(app)
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        await client.aclose()


def refusal(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    assert "data" not in body
    assert len(body["errors"]) == 1
    error: dict[str, Any] = body["errors"][0]
    return error


# --- hostile requests to the development app ---------------------------------------------


def post(query: str, **more: Any) -> dict[str, Any]:
    return {"method": "POST", "json": {"query": query, **more}}


HOSTILE = [
    pytest.param(
        post("{" + "teams { nodes {" * 7 + "slug" + "} }" * 7 + "}"),
        (400, "VALIDATION", "query depth 15 exceeds the limit of 12"),
        id="deep-nesting",
    ),
    pytest.param(
        post(f"{{ {aliased(100)} }}"),
        (
            400,
            "VALIDATION",
            "query has 100 aliases (fragments expanded), exceeding the limit of 30",
        ),
        id="alias-bomb",
    ),
    pytest.param(
        post(f"{{ {' '.join(['...F'] * 100)} }} fragment F on Query {{ {aliased(10)} }}"),
        (400, "VALIDATION", "query has 1000 aliases"),
        id="fragment-alias-bomb",
    ),
    pytest.param(
        post("{ services(first: 100000) { nodes { slug } } }"),
        (400, "VALIDATION", "`first` on `services` may be at most 100, got 100000"),
        id="huge-first",
    ),
    pytest.param(
        post("query($n: Int) { users(last: $n) { nodes { handle } } }", variables={"n": 5000}),
        (400, "VALIDATION", "`last` on `users` may be at most 100, got 5000"),
        id="huge-last-variable",
    ),
    pytest.param(
        post(NESTED_CONNECTIONS),
        (400, "VALIDATION", "query may return up to 20210100 nodes, exceeding the limit of 50000"),
        id="nested-connections",
    ),
    pytest.param(
        post("{ teams { totalCount " + "@include(if: true) " * 50 + "} }"),
        (400, "VALIDATION", "`totalCount` has 50 directives, exceeding the limit of 5"),
        id="directive-flood",
    ),
    pytest.param(
        post(
            "{ teams { ...A } } fragment A on TeamConnection { nodes { ...B } } "
            "fragment B on Team { members { nodes { teams { ...C } } } } "
            "fragment C on Team { children { ...B } }"
        ),
        (400, "VALIDATION", "fragments spread themselves: B → C → B"),
        id="circular-fragments",
    ),
    pytest.param(
        {"method": "POST", "json": [{"query": MUTATION}] * 1000},
        (400, "BAD_REQUEST", "batches (a JSON array) are not supported"),
        id="batch-flood",
    ),
    pytest.param(
        {
            "method": "POST",
            "content": b'{"query": "{ __typename }", "pad": "' + b"x" * 1_100_000 + b'"}',
            "headers": {"content-type": "application/json"},
        },
        (413, "BAD_REQUEST", "the request body exceeds the limit of 1000000 bytes"),
        id="oversized-body",
    ),
    pytest.param(
        post("{ " + "__typename " * 5000 + "}"),
        (400, "VALIDATION", "query exceeds the limit of 2000 tokens"),
        id="token-flood",
    ),
    pytest.param(
        post("{ __typename }" + "\n# padding" * 5000),
        (400, "VALIDATION", "query exceeds the limit of 2000 tokens"),
        id="comment-flood",
    ),
    pytest.param(
        {"method": "GET", "params": {"query": MUTATION}},
        (405, "BAD_REQUEST", "only queries may be sent with GET"),
        id="get-mutation",
    ),
    pytest.param(
        {
            "method": "POST",
            "content": b"query=" + MUTATION.encode(),
            "headers": {"content-type": "application/x-www-form-urlencoded"},
        },
        (415, "BAD_REQUEST", "send the request body as application/json"),
        id="form-post",
    ),
    pytest.param(
        {
            "method": "POST",
            "content": orjson.dumps({"query": MUTATION}),
            "headers": {"content-type": "text/plain"},
        },
        (415, "BAD_REQUEST", "send the request body as application/json"),
        id="text-plain-post",
    ),
    pytest.param(
        {"method": "POST", "files": {"operations": (None, orjson.dumps({"query": MUTATION}))}},
        (415, "BAD_REQUEST", "send the request body as application/json"),
        id="multipart-post",
    ),
    pytest.param(
        {"method": "POST", "json": {"documentId": "sha256:" + "0" * 64}},
        (400, "NOT_FOUND", "unknown `documentId`"),
        id="unknown-document-id",
    ),
    pytest.param(
        post(TEAMS, documentId=document_id(TEAMS)),
        (400, "BAD_REQUEST", "send either `query` or `documentId`, not both"),
        id="query-and-document-id",
    ),
]


@pytest.mark.parametrize(("request_args", "expected"), HOSTILE)
async def test_hostile_requests_are_refused_before_any_sql(
    client: httpx.AsyncClient,
    statements: StatementLog,
    request_args: dict[str, Any],
    expected: tuple[int, str, str],
) -> None:
    status, code, message = expected
    args = dict(request_args)
    headers = {"accept": GRAPHQL_RESPONSE, **args.pop("headers", {})}
    with statements.capture() as seen:
        response = await client.request(url="/graphql", headers=headers, **args)
    assert response.status_code == status, response.text
    error = refusal(response)
    assert error["extensions"]["code"] == code
    assert message in error["message"]
    assert seen == []


async def test_the_statement_log_does_see_queries_that_run(
    client: httpx.AsyncClient, statements: StatementLog
) -> None:
    with statements.capture() as seen:
        response = await client.post("/graphql", json={"query": TEAMS})
    assert response.status_code == 200
    assert seen


async def test_limits_are_graphql_request_errors_for_plain_json_clients(
    client: httpx.AsyncClient, statements: StatementLog
) -> None:
    """`application/json`: 200 for well-formed requests, per the spec; the limit is named."""
    with statements.capture() as seen:
        response = await client.post("/graphql", json={"query": NESTED_CONNECTIONS})
    assert response.status_code == 200
    assert refusal(response)["extensions"] == {"code": "VALIDATION", "limit": "max_nodes"}
    assert seen == []


async def test_get_mutation_says_which_method_to_use(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={"query": MUTATION})
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


async def test_oversized_body_is_not_read_to_its_end(
    client: httpx.AsyncClient, statements: StatementLog
) -> None:
    """Sent in chunks without `Content-Length`: reading stops at the limit."""
    chunk = b" " * 65_536
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"query": "{ __typename }"'
        for _ in range(200):
            sent += 1
            yield chunk
        yield b"}"

    with statements.capture() as seen:
        response = await client.post(
            "/graphql", content=body(), headers={"content-type": "application/json"}
        )
    assert response.status_code == 413
    assert sent <= 1_000_000 // len(chunk) + 2
    assert seen == []


# --- rate limiting -----------------------------------------------------------------------


@pytest.fixture
def clock(endpoint: GraphQLEndpoint, monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The app's limiter, replaced by a 100-point bucket refilling 10 points a second."""
    clock = FakeClock(1_000.0)
    monkeypatch.setattr(endpoint, "rate_limiter", RateLimiter(100, 10, clock=clock))
    return clock


async def test_an_empty_bucket_gets_429_with_retry_after(
    client: httpx.AsyncClient, statements: StatementLog, clock: FakeClock
) -> None:
    for remaining in (80, 60, 40, 20, 0):
        answered = await client.post("/graphql", json={"query": TEAMS})
        assert answered.json()["extensions"]["cost"] == {"requested": 20, "remaining": remaining}
    with statements.capture() as seen:
        limited = await client.post(
            "/graphql", json={"query": TEAMS}, headers={"accept": GRAPHQL_RESPONSE}
        )
    assert seen == []
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "2"
    error = refusal(limited)
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["retryAfter"] == 2
    assert "retry in 2 s" in error["message"]
    clock.now += 1
    assert (await client.post("/graphql", json={"query": TEAMS})).status_code == 429
    clock.now += 1
    again = await client.post("/graphql", json={"query": TEAMS})
    assert again.json()["extensions"]["cost"] == {"requested": 20, "remaining": 0}


async def test_cost_is_the_node_estimate_and_at_least_one(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    cheap = await client.post("/graphql", json={"query": "{ __typename }"})
    assert cheap.json()["extensions"]["cost"] == {"requested": 1, "remaining": 99}
    query = "{ teams(first: 5) { nodes { members(first: 10) { totalCount } } } }"
    costly = await client.post("/graphql", json={"query": query})
    assert costly.json()["extensions"]["cost"] == {"requested": 55, "remaining": 44}
    refused = await client.post("/graphql", json={"query": "{ teams(first: 50) { totalCount } }"})
    assert refused.status_code == 429
    assert refusal(refused)["extensions"]["cost"] == {"requested": 50, "remaining": 44}


async def test_each_actor_has_its_own_bucket(
    client: httpx.AsyncClient, endpoint: GraphQLEndpoint, endpoint_client: Any, clock: FakeClock
) -> None:
    spender = endpoint_client(endpoint, user(1))
    other = endpoint_client(endpoint, user(2))
    big = {"query": "{ teams(first: 100) { totalCount } }"}
    assert (await spender.post("/graphql", json=big)).status_code == 200
    assert (await spender.post("/graphql", json=big)).status_code == 429
    assert (await other.post("/graphql", json=big)).status_code == 200
    # Without a principal of its own, the local admin is limited by its client address.
    assert (await client.post("/graphql", json=big)).status_code == 200
    assert (await client.post("/graphql", json=big)).status_code == 429


# --- production mode -----------------------------------------------------------------------


@pytest.fixture(scope="module")
async def production(test_settings: Settings, statements: StatementLog) -> AsyncIterator[Any]:
    settings = test_settings.model_copy(update={"env": "production"})
    async with started_app(settings, Overrides(query_logger=statements.record)) as app:
        yield app.state.graphql


@pytest.mark.parametrize(
    "query",
    [
        "{ __schema { types { name } } }",
        '{ t: __type(name: "Team") { fields { name } } }',
        "{ ...I } fragment I on Query { __schema { queryType { name } } }",
    ],
)
async def test_introspection_is_off_in_production(
    production: GraphQLEndpoint,
    endpoint_client: Any,
    statements: StatementLog,
    pool: asyncpg.Pool,
    query: str,
) -> None:
    client = endpoint_client(production, user(1))
    with statements.capture() as seen:
        response = await client.post(
            "/graphql", json={"query": query}, headers={"accept": GRAPHQL_RESPONSE}
        )
    assert response.status_code == 400
    error = refusal(response)
    assert error["extensions"]["code"] == "VALIDATION"
    assert error["message"].startswith("introspection is disabled on this server")
    assert seen == []
    typename = await client.post("/graphql", json={"query": "{ __typename }"})
    assert typename.json()["data"] == {"__typename": "Query"}


def test_introspection_can_be_turned_on_in_production(test_settings: Settings) -> None:
    production = test_settings.model_copy(update={"env": "production"})
    assert not Hardening.from_settings(production).limits.introspection
    opened = production.model_copy(update={"introspection": True})
    assert Hardening.from_settings(opened).limits.introspection


@pytest.mark.parametrize(
    ("payload", "suggestion"),
    [
        ({"query": "{ teams { nodes { nme } } }"}, "Did you mean 'name'?"),
        (
            {
                "query": "query($d: OrderDirection!) "
                "{ services(orderBy: { field: NAME, direction: $d }) { totalCount } }",
                "variables": {"d": "AS"},
            },
            "Did you mean the enum value 'ASC'?",
        ),
    ],
)
async def test_production_errors_carry_no_suggestions(
    client: httpx.AsyncClient,
    production: GraphQLEndpoint,
    endpoint_client: Any,
    statements: StatementLog,
    payload: dict[str, Any],
    suggestion: str,
) -> None:
    developed = refusal(await client.post("/graphql", json=payload))
    assert suggestion in developed["message"]
    with statements.capture() as seen:
        produced = refusal(
            await endpoint_client(production, user(1)).post("/graphql", json=payload)
        )
    assert seen == []
    assert "Did you mean" not in produced["message"]
    assert produced["message"] == developed["message"].replace(" " + suggestion, "")
    assert produced["extensions"]["code"] == "VALIDATION"


@pytest.mark.allows_internal
async def test_production_internal_errors_name_only_the_request(
    production: GraphQLEndpoint,
    endpoint_client: Any,
    pool: asyncpg.Pool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = endpoint_client(production, user(1))
    await pool.execute("ALTER TABLE teams RENAME TO teams_away")
    try:
        response = await client.post(
            "/graphql",
            json={"query": "{ teams { totalCount } }"},
            headers={"x-request-id": "prod-request-7"},
        )
    finally:
        await pool.execute("ALTER TABLE teams_away RENAME TO teams")
    error = response.json()["errors"][0]
    assert error["message"] == "Internal server error"
    assert error["extensions"] == {"code": "INTERNAL", "requestId": "prod-request-7"}
    assert "teams_away" not in response.text
    assert "relation" not in response.text
    assert any(
        "request prod-request-7" in record.getMessage() and record.exc_info
        for record in caplog.records
    )


# --- trusted documents -------------------------------------------------------------------

REGISTERED = "query Team($slug: String!) { team(slug: $slug) { slug name } }"


@pytest.fixture(scope="module")
def documents_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("documents")
    (folder / "team.graphql").write_text(REGISTERED)
    target = folder / "trusted.json"
    target.write_bytes(orjson.dumps(manifest([folder / "team.graphql"])))
    return target


@pytest.fixture(scope="module")
async def trusting(
    test_settings: Settings, statements: StatementLog, documents_file: Path
) -> AsyncIterator[GraphQLEndpoint]:
    settings = test_settings.model_copy(update={"trusted_documents": documents_file})
    async with started_app(settings, Overrides(query_logger=statements.record)) as app:
        yield app.state.graphql


def test_documents_hash_prints_the_map_of_the_exact_texts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    texts = {"team.graphql": REGISTERED, "teams.graphql": "{ teams { totalCount } }\r\n"}
    for name, text in texts.items():
        (tmp_path / name).write_bytes(text.encode())
    assert main(["documents", "hash", *(str(tmp_path / name) for name in texts)]) == 0
    printed = capsys.readouterr().out
    assert orjson.loads(printed) == {document_id(text): text for text in texts.values()}
    (tmp_path / "trusted.json").write_text(printed)
    assert load_trusted_documents(tmp_path / "trusted.json").trusts(texts["teams.graphql"])
    assert main(["documents", "hash", str(tmp_path / "missing.graphql")]) == 2


async def test_non_admins_may_run_only_trusted_documents(
    trusting: GraphQLEndpoint, endpoint_client: Any, statements: StatementLog, pool: asyncpg.Pool
) -> None:
    await pool.execute("INSERT INTO teams (slug, name) VALUES ('core', 'Core')")
    client = endpoint_client(trusting, user(1))
    by_id = await client.post(
        "/graphql", json={"documentId": document_id(REGISTERED), "variables": {"slug": "core"}}
    )
    assert by_id.json()["data"] == {"team": {"slug": "core", "name": "Core"}}
    over_get = await client.get(
        "/graphql",
        params={"documentId": document_id(REGISTERED), "variables": '{"slug": "core"}'},
    )
    assert over_get.json()["data"] == by_id.json()["data"]
    as_text = await client.post(
        "/graphql", json={"query": REGISTERED, "variables": {"slug": "core"}}
    )
    assert as_text.json()["data"] == by_id.json()["data"]

    with statements.capture() as seen:
        refused = await client.post("/graphql", json={"query": "{ users { totalCount } }"})
        unknown = await client.post("/graphql", json={"documentId": "sha256:" + "f" * 64})
    assert seen == []
    assert refused.status_code == 403
    assert refusal(refused)["extensions"]["code"] == "FORBIDDEN"
    assert unknown.status_code == 400
    assert refusal(unknown)["extensions"]["code"] == "NOT_FOUND"


async def test_admins_may_still_send_any_query(
    trusting: GraphQLEndpoint, endpoint_client: Any, pool: asyncpg.Pool
) -> None:
    for principal in (user(9, admin=True), None):
        client = endpoint_client(trusting, principal)
        response = await client.post("/graphql", json={"query": "{ users { totalCount } }"})
        assert response.json()["data"] == {"users": {"totalCount": 0}}


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "cannot read"),
        (b"{not json", "is not valid JSON"),
        (b'["{ a }"]', "must hold a JSON object"),
        (b'{"md5:abc": "{ a }"}', "is not a sha256:<64 hex digits> id"),
        (orjson.dumps({document_id("{ a }"): 42}), "is not a string"),
        (orjson.dumps({document_id("{ a }"): "{ b }"}), "is not the sha256 of its document"),
    ],
)
async def test_a_bad_documents_file_stops_start_up_with_one_line(
    test_settings: Settings, tmp_path: Path, content: bytes | None, reason: str
) -> None:
    path = tmp_path / "trusted.json"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(TrustedDocumentsError) as failed:
        async with started_app(test_settings.model_copy(update={"trusted_documents": path})):
            pass
    message = str(failed.value)
    assert message.startswith("invalid setting PAVED_TRUSTED_DOCUMENTS: ")
    assert reason in message
    assert "\n" not in message


# --- issue 17: attacks found by probing the API ---------------------------------------------


NINE_LEVELS = (
    "{ services(first: 100) { nodes { "
    + "dependsOn { dependents { " * 4
    + "dependsOn { slug }"
    + " }" * 8
    + " } } }"
)


async def test_nine_levels_of_plain_lists_are_refused_before_any_sql(
    client: httpx.AsyncClient, statements: StatementLog, caplog: pytest.LogCaptureFixture
) -> None:
    with statements.capture() as seen:
        response = await client.post(
            "/graphql", json={"query": NINE_LEVELS}, headers={"accept": GRAPHQL_RESPONSE}
        )
    assert response.status_code == 400
    error = refusal(response)
    assert error["extensions"] == {"code": "VALIDATION", "limit": "max_nodes"}
    assert seen == []
    no_tracebacks(caplog)


async def test_the_list_bomb_in_a_fragment_under_30_aliases_is_refused_before_any_sql(
    client: httpx.AsyncClient, statements: StatementLog, caplog: pytest.LogCaptureFixture
) -> None:
    levels = "dependsOn { dependents { " * 4 + "dependsOn { slug }" + " }" * 8
    aliases = " ".join(f"a{index}: services(first: 100) {{ ...Bomb }}" for index in range(30))
    query = f"{{ {aliases} }} fragment Bomb on ServiceConnection {{ nodes {{ {levels} }} }}"
    with statements.capture() as seen:
        response = await client.post(
            "/graphql", json={"query": query}, headers={"accept": GRAPHQL_RESPONSE}
        )
    assert response.status_code == 400
    error = refusal(response)
    assert error["extensions"]["limit"] == "max_nodes"
    assert seen == []
    no_tracebacks(caplog)


async def test_a_response_larger_than_the_limit_is_refused_on_both_read_paths(
    client: httpx.AsyncClient,
    endpoint: GraphQLEndpoint,
    pool: asyncpg.Pool,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await seed_two_hundred_services(pool)
    query = "{ services(first: 100) { nodes { slug name owners { role team { slug name } } } } }"
    whole = await client.post("/graphql", json={"query": query})
    assert len(whole.content) > 10_000
    monkeypatch.setattr(
        endpoint, "hardening", dataclasses.replace(endpoint.hardening, max_response_bytes=10_000)
    )
    for verify in (True, False):
        monkeypatch.setattr(endpoint, "verify", verify)
        response = await client.post(
            "/graphql", json={"query": query}, headers={"accept": GRAPHQL_RESPONSE}
        )
        assert response.status_code == 400
        error = refusal(response)
        assert error["extensions"] == {"code": "VALIDATION", "limit": "max_response_bytes"}
        assert "exceeding the limit of 10000" in error["message"]
    small = await client.post(
        "/graphql", json={"query": "{ services(first: 3) { nodes { slug } } }"}
    )
    assert len(small.json()["data"]["services"]["nodes"]) == 3
    no_tracebacks(caplog)


async def test_a_query_past_the_deadline_ends_with_a_clear_error_and_mutations_finish(
    client: httpx.AsyncClient,
    endpoint: GraphQLEndpoint,
    pool: asyncpg.Pool,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await seed_two_hundred_services(pool)
    monkeypatch.setattr(
        endpoint,
        "hardening",
        dataclasses.replace(endpoint.hardening, request_timeout_seconds=0.000_001),
    )
    response = await client.post(
        "/graphql",
        json={"query": "{ services(first: 100) { nodes { slug dependsOn { slug } } } }"},
        headers={"accept": GRAPHQL_RESPONSE},
    )
    assert response.status_code == 400
    error = refusal(response)
    assert error["extensions"] == {"code": "VALIDATION", "limit": "request_timeout_seconds"}
    assert "ran longer than 1e-06 s" in error["message"]
    created = await client.post(
        "/graphql",
        json={
            "query": 'mutation { createTeam(input: {slug: "late", name: "Late"}) { team { slug } } }'
        },
    )
    assert created.json()["data"]["createTeam"]["team"] == {"slug": "late"}
    monkeypatch.undo()
    # The connections the cancelled query held went back to the pool in working order.
    answered = await client.post("/graphql", json={"query": "{ services { totalCount } }"})
    assert answered.json()["data"]["services"]["totalCount"] == 200
    no_tracebacks(caplog)


HEAVY = (
    "{ services(first: 100) { nodes { slug dependsOn { slug dependents { slug } } "
    "owners { role team { slug } } } } }"
)


async def test_a_lookup_is_answered_while_another_actor_sends_heavy_queries(
    client: httpx.AsyncClient,
    endpoint: GraphQLEndpoint,
    endpoint_client: Any,
    pool: asyncpg.Pool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await seed_two_hundred_services(pool)
    monkeypatch.setattr(endpoint, "rate_limiter", None)
    heavy_actor, other = endpoint_client(endpoint, user(1)), endpoint_client(endpoint, user(2))
    most_running = 0
    finished_heavy: list[int] = []

    async def heavy(index: int) -> None:
        response = await heavy_actor.post("/graphql", json={"query": HEAVY})
        assert len(response.json()["data"]["services"]["nodes"]) == 100
        finished_heavy.append(index)

    async def watch() -> None:
        nonlocal most_running
        while True:
            most_running = max(most_running, endpoint.slots.running("user:1"))
            await asyncio.sleep(0)

    watcher = asyncio.create_task(watch())
    flood = [asyncio.create_task(heavy(index)) for index in range(12)]
    while endpoint.slots.running("user:1") < endpoint.slots.per_actor:  # noqa: ASYNC110
        await asyncio.sleep(0)
    lookup = await other.post("/graphql", json={"query": '{ service(slug: "a-001") { slug } }'})
    heavy_done_at_lookup = len(finished_heavy)
    await asyncio.gather(*flood)
    watcher.cancel()
    assert lookup.json()["data"] == {"service": {"slug": "a-001"}}
    # The other actor did not wait behind the flood, which ran 4 at a time.
    assert heavy_done_at_lookup < 12
    assert most_running == endpoint.slots.per_actor == 4


async def test_an_actor_with_too_many_requests_waiting_gets_429(
    endpoint: GraphQLEndpoint, endpoint_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(endpoint, "slots", ActorSlots(1, max_waiting=0))
    busy = endpoint_client(endpoint, user(1))
    async with endpoint.slots.slot("user:1", 1.0):
        refused = await busy.post("/graphql", json={"query": TEAMS})
        other = await endpoint_client(endpoint, user(2)).post("/graphql", json={"query": TEAMS})
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"
    error = refusal(refused)
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["limit"] == "max_concurrent_per_actor"
    assert other.status_code == 200
    assert (await busy.post("/graphql", json={"query": TEAMS})).status_code == 200


async def test_each_mutation_in_a_request_costs_at_least_one_point(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    mutations = " ".join(
        f'm{index}: createTeam(input: {{slug: "t{index}", name: "T"}}) {{ team {{ slug }} }}'
        for index in range(25)
    )
    response = await client.post("/graphql", json={"query": f"mutation {{ {mutations} }}"})
    assert response.json()["extensions"]["cost"] == {"requested": 25, "remaining": 75}


# DNS rebinding: a page on attacker.example rebinds its name to 127.0.0.1 and posts to the API.
REBOUND = {"host": "attacker.example:18181", "origin": "http://attacker.example:18181"}
CREATE_TEAM = 'mutation { createTeam(input: { slug: "pwned", name: "Pwned" }) { team { slug } } }'


async def test_dns_rebinding_to_the_local_admin_is_refused_before_anything_runs(
    client: httpx.AsyncClient,
    pool: asyncpg.Pool,
    statements: StatementLog,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with statements.capture() as seen:
        response = await client.post("/graphql", json={"query": CREATE_TEAM}, headers=REBOUND)
    assert response.status_code == 421
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert seen == []
    assert await pool.fetchval("SELECT count(*) FROM teams") == 0
    no_tracebacks(caplog)


@pytest.mark.parametrize(
    "origin", ["http://attacker.example:18181", "null", "http://localhost:3000", "file://"]
)
async def test_a_cross_origin_request_to_the_development_api_is_refused(
    client: httpx.AsyncClient, pool: asyncpg.Pool, origin: str
) -> None:
    response = await client.post(
        "/graphql", json={"query": CREATE_TEAM}, headers={"host": "localhost", "origin": origin}
    )
    assert response.status_code == 403
    assert await pool.fetchval("SELECT count(*) FROM teams") == 0


@pytest.mark.parametrize(
    ("host", "origin"),
    [
        ("localhost", None),
        ("localhost:8000", "http://localhost:8000"),
        ("127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("[::1]:8000", "http://[::1]:8000"),
        ("127.0.0.2", None),
    ],
)
async def test_loopback_hosts_and_same_origin_requests_are_answered(
    client: httpx.AsyncClient, pool: asyncpg.Pool, host: str, origin: str | None
) -> None:
    headers = {"host": host, **({"origin": origin} if origin else {})}
    response = await client.post("/graphql", json={"query": TEAMS}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"teams": {"totalCount": 0}}
