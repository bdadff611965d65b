"""PostgreSQL stopped and started again under load, and a pool exhausted by slow statements
(issue 15): answers say UNAVAILABLE (503 with `Retry-After` when nothing ran), never INTERNAL;
writes retried with their idempotency key happen exactly once; `/readyz`, the event feed, the
rollouts, provisioning and webhook deliveries come back by themselves. A server that hangs
(frozen, not stopped) gets a 503 from `/readyz` within its deadline.

Each test runs a cluster of its own (`OwnCluster`), never the suite's, and serves the app over
a real socket in the test's loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx2 as httpx
import pytest

from api.bootstrap import migrate
from providers.postgres.notifications import PostgresWakeups
from tests.support.graphql import GraphQLClient
from tests.support.own_cluster import OwnCluster
from tests.support.resources import postgres_class, request, state_of
from tests.support.served import Served, served_app, served_settings
from tests.support.subscribers import WsClient, ws_client
from tests.support.webhook_receiver import Inbox, receiver

WRITERS = 4
WRITES_EACH = 12
EVENTS = "subscription { events { type data } }"
SIMULATED = {"kind": "simulated", "settings": {"durationSeconds": 3}}


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[OwnCluster]:
    own = OwnCluster(tmp_path / "own-cluster")
    dsn = await asyncio.to_thread(own.start)
    try:
        await migrate(dsn)
        yield own
    finally:
        await asyncio.to_thread(own.close)


@dataclass
class Seen:
    """Every answer the load got: status codes, error codes, and the writes that succeeded."""

    statuses: Counter[int] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    transport_errors: int = 0
    done: dict[str, dict[str, Any]] = field(default_factory=dict)


def _codes(body: dict[str, Any], name: str) -> list[str]:
    codes = [(e.get("extensions") or {}).get("code", "?") for e in body.get("errors") or ()]
    payload = (body.get("data") or {}).get(name) or {}
    return codes + [e["code"] for e in payload.get("errors") or ()]


async def _write_until_done(
    http: httpx.AsyncClient, seen: Seen, operation: str, fields: str, key: str, **given: Any
) -> None:
    """Send the write with its key until it is answered without an error."""
    name = operation
    query = (
        f"mutation($input: {name[0].upper()}{name[1:]}Input!) "
        f"{{ {name}(input: $input) {{ {fields} errors {{ code message }} }} }}"
    )
    variables = {"input": {**given, "idempotencyKey": key}}
    for _ in range(2000):
        try:
            response = await http.post("/graphql", json={"query": query, "variables": variables})
        except httpx.TransportError:
            seen.transport_errors += 1
            await asyncio.sleep(0.05)
            continue
        seen.statuses[response.status_code] += 1
        body = response.json()
        codes = _codes(body, name)
        seen.codes.update(codes)
        if response.status_code == 503:
            assert response.headers["retry-after"].isdigit()
        if response.status_code == 200 and not codes:
            seen.done[key] = body["data"][name]
            return
        assert set(codes) <= {"UNAVAILABLE"}, body
        await asyncio.sleep(0.05)
    raise AssertionError(f"{key} never succeeded")


async def _writer(http: httpx.AsyncClient, seen: Seen, writer: int) -> None:
    for index in range(WRITES_EACH):
        key = f"w{writer}-{index}"
        if index % 2:
            await _write_until_done(http, seen, "createApiToken", "token { id name }", key,
                                    client="load-bot", name=key, scopes=["READ"])  # fmt: skip
        else:
            await _write_until_done(http, seen, "createTeam", "team { id slug }", key,
                                    slug=key, name=key)  # fmt: skip
        await asyncio.sleep(0.02)


async def _eventually(check: Callable[[], Awaitable[bool]], seconds: float = 30.0) -> None:
    async with asyncio.timeout(seconds):
        while not await check():  # noqa: ASYNC110 (a condition polled over HTTP)
            await asyncio.sleep(0.1)


async def _ready_is(http: httpx.AsyncClient, status: int) -> bool:
    with contextlib.suppress(httpx.TransportError):
        return (await http.get("/readyz")).status_code == status
    return False


def _served(cluster: OwnCluster, **changes: Any) -> Any:
    given = {"pool_timeout_seconds": 1, "ready_timeout_seconds": 1, "event_poll_seconds": 60}
    settings = served_settings(cluster.dsn, **{**given, **changes})
    return served_app(settings)


async def test_writes_retried_with_their_keys_happen_once_across_a_restart(
    cluster: OwnCluster,
) -> None:
    async with (
        _served(cluster, webhook_delivery=True, webhook_poll_seconds=0.2) as served,
        httpx.AsyncClient(base_url=served.url.removesuffix("/graphql"), timeout=30) as http,
        ws_client(served.ws_url) as ws,
    ):
        gql = GraphQLClient(http)
        await _setup(gql)
        with receiver() as inbox:
            await _writes_and_restart(cluster, served, http, ws, gql, inbox)


async def _writes_and_restart(
    cluster: OwnCluster, served: Served, http: httpx.AsyncClient, ws: WsClient,
    gql: GraphQLClient, inbox: Inbox,
) -> None:  # fmt: skip
    hook = await gql.mutate("createWebhook", "secret", url=inbox.url, events=["TEAM_CREATED"])
    assert hook["errors"] == [], hook
    inbox.secret = hook["secret"]
    deployed = await gql.mutate("deploy", "deployment { id state }", service="api",
                                environment="sim", version="1.0")  # fmt: skip
    assert deployed["errors"] == [], deployed
    await postgres_class(gql, provider=SIMULATED)
    requested = await request(gql, service="api", environment="sim", name="db")
    assert requested["errors"] == [], requested
    await ws.subscribe("1", EVENTS)
    seen = Seen()
    load = asyncio.gather(*(_writer(http, seen, writer) for writer in range(WRITERS)))
    async with asyncio.timeout(30):
        while len(seen.done) < WRITERS and not load.done():  # noqa: ASYNC110 (under way)
            await asyncio.sleep(0.02)
    await cluster.stopped()
    assert await _ready_is(http, 503)
    await asyncio.sleep(1.5)  # down a while under the load's retries
    await cluster.started_again()
    await load

    # Every intended write exists once; no answer was INTERNAL.
    assert seen.codes["INTERNAL"] == 0, seen
    assert served.app.state.graphql.internal_count == 0
    assert seen.codes["UNAVAILABLE"] > 0, seen  # the outage was met
    assert set(seen.statuses) <= {200, 503}, seen
    assert len(seen.done) == WRITERS * WRITES_EACH
    await _exactly_once(cluster.dsn)

    # /readyz, the event feed and the rollouts are back without a restart.
    await _eventually(lambda: _ready_is(http, 200))
    wakeups = served.container.feed.wakeups
    assert isinstance(wakeups, PostgresWakeups)
    await _eventually(_async(lambda: wakeups.connections >= 2))
    created = await gql.mutate("createTeam", "team { slug }", slug="after", name="after")
    assert created["errors"] == []
    async with asyncio.timeout(30):
        while True:
            event = (await ws.next_payload())["data"]["events"]
            if (event.get("data") or {}).get("slug") == "after":
                break
    await _eventually(lambda: _state_is(gql, deployed["deployment"]["id"], "SUCCEEDED"))
    again = await gql.mutate("deploy", "deployment { id }", service="api",
                             environment="sim", version="2.0")  # fmt: skip
    assert again["errors"] == []
    await _eventually(lambda: _state_is(gql, again["deployment"]["id"], "SUCCEEDED"))
    # The provisioning runner too: what it drove across the outage, and what comes after.
    await _eventually(lambda: _resource_is(gql, requested["resource"]["id"], "READY"))
    later = await request(gql, service="api", environment="sim", name="cache")
    assert later["errors"] == [], later
    await _eventually(lambda: _resource_is(gql, later["resource"]["id"], "READY"))
    # And the webhook deliveries: each team created, across the outage and after, sent
    # (and accepted) once.
    teams = {*(f"w{w}-{i}" for w in range(WRITERS) for i in range(0, WRITES_EACH, 2)), "after"}
    await _eventually(_async(lambda: len(inbox.accepted) >= len(teams)))
    sent = Counter(payload["data"]["subject"]["slug"] for payload in inbox.accepted)
    assert set(sent) == teams
    assert set(sent.values()) == {1}


async def _setup(gql: GraphQLClient) -> None:
    for name, fields, given in (
        ("createTeam", "team { slug }", {"slug": "ops", "name": "Ops"}),
        ("createApiClient", "apiClient { slug }", {"slug": "load-bot", "name": "bot", "team": "ops"}),
        ("createService", "service { slug }", {"slug": "api", "name": "api", "owner": "ops"}),
        ("createEnvironment", "environment { slug }",
         {"slug": "sim", "name": "sim", "tier": "TESTING", "provider": SIMULATED}),
    ):  # fmt: skip
        made = await gql.mutate(name, fields, **given)
        assert made["errors"] == [], made


def _async(check: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    async def checked() -> bool:
        return check()

    return checked


async def _state_is(gql: GraphQLClient, deployment: str, state: str) -> bool:
    body = await gql.raw(
        "query($id: ID!) { node(id: $id) { ... on Deployment { state } } }", {"id": deployment}
    )
    return bool(body.get("data") and body["data"]["node"]["state"] == state)


async def _resource_is(gql: GraphQLClient, resource: str, state: str) -> bool:
    return await state_of(gql, resource) == state


async def _exactly_once(dsn: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        teams = await connection.fetch("SELECT slug FROM teams WHERE slug LIKE 'w%'")
        tokens = await connection.fetch("SELECT name FROM api_tokens WHERE name LIKE 'w%'")
    finally:
        await connection.close()
    names = Counter([row["slug"] for row in teams] + [row["name"] for row in tokens])
    intended = {f"w{writer}-{index}" for writer in range(WRITERS) for index in range(WRITES_EACH)}
    assert set(names) == intended
    assert set(names.values()) == {1}, [name for name, count in names.items() if count > 1]


async def test_a_pool_taken_by_slow_statements_answers_503_at_once(cluster: OwnCluster) -> None:
    async with (
        _served(cluster, pool_min_size=1, pool_max_size=2) as served,
        httpx.AsyncClient(base_url=served.url.removesuffix("/graphql"), timeout=30) as http,
    ):
        pool = served.container.pool
        sleepers = [asyncio.create_task(pool.execute("SELECT pg_sleep(3)")) for _ in range(2)]
        await _eventually(_async(lambda: pool.get_idle_size() == 0 and pool.get_size() == 2))
        answers = await asyncio.gather(
            # As many as one actor runs at once: none waits for a slot of its own.
            *(http.post("/graphql", json={"query": "{ teams { totalCount } }"})
              for _ in range(3)),
            http.post("/graphql", json={"query": "mutation { createTeam(input: "
                                        '{slug: "x", name: "x"}) { errors { code } } }'}),
        )  # fmt: skip
        *reads, write = answers
        for answer in reads:
            assert answer.status_code == 503, answer.text
            assert answer.headers["retry-after"] == "1"
            assert answer.json()["errors"][0]["extensions"]["code"] == "UNAVAILABLE"
        assert write.status_code == 200
        assert write.json()["data"]["createTeam"]["errors"] == [{"code": "UNAVAILABLE"}]
        assert not any(task.done() for task in sleepers)  # all answered while the pool was busy
        await asyncio.gather(*sleepers)
        assert pool.get_size() <= 2  # nothing piled up
        after = await http.post("/graphql", json={"query": "{ teams { totalCount } }"})
        assert after.status_code == 200
        assert served.app.state.graphql.internal_count == 0


async def test_a_statement_cut_by_the_statement_timeout_is_unavailable(
    cluster: OwnCluster,
) -> None:
    async with (
        _served(cluster, statement_timeout_ms=200) as served,
        httpx.AsyncClient(base_url=served.url.removesuffix("/graphql"), timeout=30) as http,
    ):
        blocker = await asyncpg.connect(cluster.dsn)
        try:
            async with blocker.transaction():
                await blocker.execute("LOCK TABLE teams IN ACCESS EXCLUSIVE MODE")
                read = await http.post("/graphql", json={"query": "{ teams { totalCount } }"})
                write = await GraphQLClient(http).mutate(
                    "createTeam", "team { slug }", slug="t", name="t"
                )
        finally:
            await blocker.close()
        assert read.status_code == 503
        assert read.json()["errors"][0]["extensions"]["code"] == "UNAVAILABLE"
        assert write["errors"] == [{"code": "UNAVAILABLE", "message": write["errors"][0]["message"],
                                    "path": None}]  # fmt: skip
        assert served.app.state.graphql.internal_count == 0


async def test_readiness_says_503_within_its_deadline_while_the_database_hangs(
    cluster: OwnCluster,
) -> None:
    """A server that accepts connections and answers nothing (every process of it frozen):
    `/readyz` is answered 503 while it still hangs (no statement timeout can end the wait;
    only the probe's own deadline does), and 200 again once it answers, without a restart."""
    async with (
        _served(cluster, pool_timeout_seconds=60, request_timeout_seconds=2) as served,
        httpx.AsyncClient(base_url=served.url.removesuffix("/graphql"), timeout=30) as http,
    ):
        assert await _ready_is(http, 200)
        await asyncio.to_thread(cluster.pause)
        try:
            hung = await http.get("/readyz")
            still_hung = await http.get("/readyz")
            # A query out of time while the database hangs: the database's fault, not the
            # query's size.
            read = await http.post("/graphql", json={"query": "{ teams { totalCount } }"})
        finally:
            await asyncio.to_thread(cluster.resume)
        assert read.status_code == 503, read.text
        assert read.headers["Retry-After"] == "1"
        assert [e["extensions"]["code"] for e in read.json()["errors"]] == ["UNAVAILABLE"]
        assert hung.status_code == 503, hung.text
        assert hung.json() == {"status": "unavailable", "database": "down"}
        assert still_hung.status_code == 503, still_hung.text
        await _eventually(lambda: _ready_is(http, 200))
        after = await http.post("/graphql", json={"query": "{ teams { totalCount } }"})
        assert after.status_code == 200, after.text
        assert served.app.state.graphql.internal_count == 0


async def test_a_token_checked_while_the_database_is_down_is_a_503(cluster: OwnCluster) -> None:
    """The credential is looked up before the endpoint runs: still 503, never a 500."""
    async with (
        _served(cluster) as served,
        httpx.AsyncClient(base_url=served.url.removesuffix("/graphql"), timeout=30) as http,
    ):
        gql = GraphQLClient(http)
        await _setup(gql)
        made = await gql.mutate("createApiToken", "secret", client="load-bot", name="reader",
                                scopes=["READ"])  # fmt: skip
        reader = {"Authorization": f"Bearer {made['secret']}"}
        await cluster.stopped()
        try:
            answer = await http.post(
                "/graphql", json={"query": "{ teams { totalCount } }"}, headers=reader
            )
            assert await _ready_is(http, 503)
        finally:
            await cluster.started_again()
        assert answer.status_code == 503, answer.text
        assert answer.headers["retry-after"] == "1"
        assert answer.json()["errors"][0]["extensions"]["code"] == "UNAVAILABLE"
        await _eventually(lambda: _ready_is(http, 200))
        again = await http.post(
            "/graphql", json={"query": "{ teams { totalCount } }"}, headers=reader
        )
        assert again.status_code == 200


async def test_a_subscription_made_while_the_database_is_down_is_told_unavailable(
    cluster: OwnCluster,
) -> None:
    """With nobody subscribed, the feed reads nothing at notices; the first subscriber looks
    up the newest event, which needs the database: down, the subscription ends UNAVAILABLE
    (never INTERNAL), and the next one, once the database is back, gets its events."""
    async with (
        _served(cluster) as served,
        httpx.AsyncClient(base_url=served.url.removesuffix("/graphql"), timeout=30) as http,
    ):
        gql = GraphQLClient(http)
        made = await gql.mutate("createTeam", "team { slug }", slug="before", name="before")
        assert made["errors"] == []
        feed = served.container.feed
        await _eventually(_async(lambda: feed.behind))
        await cluster.stopped()
        async with ws_client(served.ws_url) as ws:
            await ws.subscribe("1", EVENTS)
            ended = await ws.receive()
        assert ended["type"] == "error", ended
        assert ended["payload"][0]["extensions"]["code"] == "UNAVAILABLE"
        assert served.app.state.graphql.internal_count == 0
        await cluster.started_again()
        await _eventually(lambda: _ready_is(http, 200))
        async with ws_client(served.ws_url) as ws:
            await ws.subscribe("1", EVENTS)
            created = await gql.mutate("createTeam", "team { slug }", slug="after", name="after")
            assert created["errors"] == []
            event = (await ws.next_payload())["data"]["events"]
        assert event["data"]["slug"] == "after"
