"""Subscriptions on `/graphql` with real clients against the app served on a socket: WebSocket
(graphql-transport-ws) and Server-Sent Events, live events, replay and resume, permissions,
limits and hardening, slow subscribers, and shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx2 as httpx
import pytest
from websockets.exceptions import ConnectionClosed

from api.bootstrap import Overrides
from api.trusted_documents import document_id
from domain.access.model import Scope
from domain.events.cursors import event_cursor
from domain.events.model import ORIGIN, Position
from providers.postgres.notifications import (
    ACCESS_APPLICATION_NAME,
    APPLICATION_NAME,
    PostgresWakeups,
)
from tests.support.access import seed, token
from tests.support.graphql import GraphQLClient
from tests.support.network import free_port
from tests.support.processes import clean_environment, paved_command
from tests.support.served import Served, served_app, served_settings
from tests.support.statements import StatementLog
from tests.support.subscribers import SseStream, sse_stream, ws_client
from tests.support.waiting import until

EVENTS = "subscription($after: String) { events(after: $after) { type cursor data } }"
TEAM_EVENTS = (
    "subscription($after: String) { events(after: $after, filter: {types: [TEAM_CREATED]}) "
    "{ cursor data } }"
)


@pytest.fixture(scope="module")
async def served(migrated_url: str, statements: StatementLog) -> AsyncIterator[Served]:
    async with served_app(
        served_settings(migrated_url), Overrides(query_logger=statements.record)
    ) as served:
        yield served


@pytest.fixture
async def server(served: Served, pool: asyncpg.Pool) -> Served:
    """The served app over an empty catalog (ids start again at 1)."""
    await served.container.rollouts.forget_everything()
    served.container.feed.position = ORIGIN
    return served


@pytest.fixture
async def http(server: Served) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url.removesuffix("/graphql")) as client:
        yield client


@pytest.fixture
def gql(http: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(http)


async def create_team(gql: GraphQLClient, slug: str) -> None:
    created = await gql.mutate("createTeam", "team { slug }", slug=slug, name=slug)
    assert created["errors"] == [], created


async def cursors_in_outbox(pool: asyncpg.Pool, type_: str = "TEAM_CREATED") -> list[str]:
    rows = await pool.fetch("SELECT tx, id FROM events WHERE type = $1 ORDER BY tx, id", type_)
    return [event_cursor(Position(row["tx"], row["id"])) for row in rows]


# --- live events over both transports ---------------------------------------------------


async def test_websocket_events_arrive_live_after_mutations(
    server: Served, gql: GraphQLClient
) -> None:
    async with ws_client(server.ws_url) as ws:
        await ws.subscribe("1", EVENTS)
        await create_team(gql, "pay")
        first = await ws.next_payload()
        assert first["data"]["events"]["type"] == "TEAM_CREATED"
        assert first["data"]["events"]["data"]["slug"] == "pay"
        await create_team(gql, "web")
        second = await ws.next_payload()
        assert second["data"]["events"]["data"]["slug"] == "web"
        await ws.send({"id": "1", "type": "complete"})
        await ws.send({"type": "ping"})
        assert (await ws.receive())["type"] == "pong"


async def test_sse_events_arrive_live_with_their_cursor_as_id(
    server: Served, http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    async with sse_stream(http, server.url, EVENTS) as stream:
        assert stream.response.headers["content-type"].startswith("text/event-stream")
        await create_team(gql, "pay")
        event = await stream.next_event()
        assert event.event == "next"
        sent = event.payload["data"]["events"]
        assert sent["type"] == "TEAM_CREATED"
        assert event.id == sent["cursor"]


async def test_an_event_source_subscribes_with_get(
    server: Served, http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    params = {"query": "subscription { events { type } }"}
    headers = {"Accept": "text/event-stream"}
    async with http.stream("GET", "/graphql", params=params, headers=headers) as response:
        stream = SseStream(response)
        await create_team(gql, "pay")
        assert (await stream.next_event()).payload["data"]["events"]["type"] == "TEAM_CREATED"


async def test_queries_and_mutations_over_http_are_unchanged(
    server: Served, gql: GraphQLClient, http: httpx.AsyncClient
) -> None:
    await create_team(gql, "pay")
    assert (await gql("{ teams { totalCount } }"))["teams"]["totalCount"] == 1
    refused = await http.post("/graphql", json={"query": EVENTS})
    assert refused.status_code == 400
    assert "errors" in refused.json()


# --- replay, the seam, resume -------------------------------------------------------------


async def test_after_replays_then_goes_live(
    server: Served, http: httpx.AsyncClient, gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    for slug in ("a", "b", "c"):
        await create_team(gql, slug)
    first, *_ = await cursors_in_outbox(pool)
    async with sse_stream(http, server.url, TEAM_EVENTS, {"after": first}) as stream:
        replayed = [(await stream.next_event()).payload["data"]["events"] for _ in range(2)]
        assert [event["data"]["slug"] for event in replayed] == ["b", "c"]
        await create_team(gql, "d")
        live = (await stream.next_event()).payload["data"]["events"]
        assert live["data"]["slug"] == "d"


async def test_events_committed_while_a_subscriber_reconnects_are_neither_lost_nor_doubled(
    server: Served, http: httpx.AsyncClient, gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    """A writer commits without pause while the subscriber reads a few events, disconnects
    and resumes after the last one it received, twice: every event arrives exactly once."""
    total = 24
    received: list[str] = []

    async def write() -> None:
        for index in range(total):
            await create_team(gql, f"t{index}")

    writer = asyncio.create_task(write())
    after: str | None = None
    try:
        for until in (5, 12, total):
            async with sse_stream(http, server.url, TEAM_EVENTS, {"after": after}) as stream:
                while len(received) < until:
                    event = await stream.next_event()
                    received.append(event.payload["data"]["events"]["cursor"])
                    assert event.id == received[-1]
            after = received[-1]
    finally:
        await writer
    assert len(received) == len(set(received)) == total
    assert received == await cursors_in_outbox(pool)


async def test_last_event_id_resumes_after_that_event(
    server: Served, http: httpx.AsyncClient, gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    for slug in ("a", "b", "c"):
        await create_team(gql, slug)
    first, second, third = await cursors_in_outbox(pool)
    # The document says nothing of `after`: a reconnecting EventSource sends the header.
    query = "subscription { events { cursor data } }"
    async with sse_stream(http, server.url, query, headers={"Last-Event-ID": first}) as stream:
        assert [(await stream.next_event()).id for _ in range(2)] == [second, third]
    async with sse_stream(http, server.url, query, headers={"Last-Event-ID": "nope"}) as stream:
        refused = await stream.next_event()
        assert refused.payload["errors"][0]["extensions"]["code"] == "VALIDATION"
        assert (await stream.next_event()).event == "complete"


# --- permissions ------------------------------------------------------------------------------


async def _webhook_event(pool: asyncpg.Pool, team: str) -> None:
    """An event about a webhook of `team` (written as the webhooks will write theirs)."""
    await pool.execute(
        "INSERT INTO events (type, subject_kind, subject_id, team_id, data) "
        "SELECT 'WEBHOOK_DISABLED', 'Webhook', 1, id, '{\"reason\": \"gone\"}' FROM teams "
        "WHERE slug = $1",
        team,
    )
    await pool.execute("SELECT pg_notify('paved_events', '0')")


async def test_an_event_about_another_teams_webhook_is_never_sent(
    server: Served, gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    store = await seed(gql, pool)
    await server.feed_caught_up()
    ana = await token(store, Scope.READ, user="ana")  # in `pay`, not in `web`
    bob = await token(store, Scope.READ, user="bob")  # in `web`
    async with (
        ws_client(server.ws_url, f"Bearer {ana}") as outsider,
        ws_client(server.ws_url, f"Bearer {bob}") as member,
    ):
        for ws in (outsider, member):
            await ws.subscribe("1", EVENTS)
        await _webhook_event(pool, "web")
        await create_team(gql, "after-the-webhook-event")
        assert (await member.next_payload())["data"]["events"]["type"] == "WEBHOOK_DISABLED"
        assert (await member.next_payload())["data"]["events"]["type"] == "TEAM_CREATED"
        # The outsider's next event is the one after it: the webhook's was left out.
        assert (await outsider.next_payload())["data"]["events"]["type"] == "TEAM_CREATED"


async def test_a_revoked_token_ends_the_subscription_at_the_next_event(
    server: Served, gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    store = await seed(gql, pool)
    await server.feed_caught_up()
    ana = await token(store, Scope.READ, user="ana")
    async with ws_client(server.ws_url, f"Bearer {ana}") as ws:
        await ws.subscribe("1", EVENTS)
        await create_team(gql, "one")
        assert (await ws.next_payload())["data"]["events"]["type"] == "TEAM_CREATED"
        await pool.execute("UPDATE api_tokens SET revoked_at = now()")
        await create_team(gql, "two")
        ended = await ws.receive()
        assert ended["type"] == "error", ended
        assert ended["payload"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_production_refuses_subscribers_without_credentials(
    migrated_url: str, pool: asyncpg.Pool
) -> None:
    settings = served_settings(migrated_url, env="production", allowed_hosts=("127.0.0.1",))
    async with served_app(settings) as served:
        async with httpx.AsyncClient() as http:
            refused = await http.post(
                served.url, json={"query": EVENTS}, headers={"Accept": "text/event-stream"}
            )
            assert refused.status_code == 401
        with pytest.raises(ConnectionClosed) as closed:
            async with ws_client(served.ws_url):
                pass
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4403


# --- hardening and limits -----------------------------------------------------------------------


HOSTILE = {
    "too deep": "subscription { events { "
    + "deployment { service { " * 8
    + "slug"
    + " } }" * 8
    + " } }",
    "too many aliases": "subscription { events { "
    + " ".join(f"a{i}: cursor" for i in range(40))
    + " } }",
    "does not parse": "subscription { events { ",
    "a query": "{ teams { totalCount } }",
    "an unknown field": "subscription { events { nope } }",
    "two anonymous operations": "subscription { events { cursor } } query { __typename }",
}


@pytest.mark.parametrize("document", HOSTILE.values(), ids=HOSTILE.keys())
async def test_hostile_documents_are_refused_before_any_sql(
    server: Served, http: httpx.AsyncClient, statements: StatementLog, document: str
) -> None:
    with statements.capture() as executed:
        refused = await http.post(
            "/graphql", json={"query": document}, headers={"Accept": "text/event-stream"}
        )
        assert refused.status_code == 400, refused.text
        assert refused.json()["errors"][0]["extensions"]["code"] in ("VALIDATION", "BAD_REQUEST")
        async with ws_client(server.ws_url) as ws:
            await ws.subscribe("1", document)
            message = await ws.receive()
            assert message["type"] == "error", message
    assert executed == []


async def test_open_subscriptions_are_limited_per_actor_and_per_connection(
    server: Served, http: httpx.AsyncClient, gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    store = await seed(gql, pool)
    ana = {"Authorization": f"Bearer {await token(store, Scope.READ, user='ana')}"}
    async with (
        sse_stream(http, server.url, EVENTS, headers=ana),
        sse_stream(http, server.url, EVENTS, headers=ana),
        sse_stream(http, server.url, EVENTS, headers=ana),
    ):
        over = await http.post(
            "/graphql", json={"query": EVENTS}, headers={"Accept": "text/event-stream", **ana}
        )
        assert over.status_code == 429
        assert over.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    # Closed streams give their places back.
    subscriptions = server.app.state.subscriptions
    await until(lambda: not subscriptions.open_per_actor)
    async with sse_stream(http, server.url, EVENTS, headers=ana) as stream:
        assert stream.response.status_code == 200
    async with ws_client(server.ws_url) as ws:
        for operation_id in ("1", "2", "3"):
            await ws.subscribe(operation_id, EVENTS)
        refused = await ws.receive()
        assert (refused["id"], refused["type"]) == ("3", "error")
        assert refused["payload"][0]["extensions"]["limit"] == "max_subscriptions_per_connection"


async def test_a_subscriber_that_falls_behind_is_dropped(
    server: Served, gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    """More events at once than its queue holds (30 here): the subscriber is dropped with an
    error instead of buffered without bound; the others go on."""
    async with ws_client(server.ws_url) as ws, ws_client(server.ws_url) as other:
        await ws.subscribe("1", EVENTS)
        await other.subscribe(
            "1", "subscription { events(filter: {types: [TEAM_CREATED]}) { type } }"
        )
        await pool.execute(
            "INSERT INTO events (type, subject_kind, subject_id) "
            "SELECT 'SERVICE_UPDATED', 'Service', n FROM generate_series(1, 100) AS n"
        )
        await pool.execute("SELECT pg_notify('paved_events', '0')")
        dropped = await ws.receive()
        assert dropped["type"] == "error", dropped
        assert dropped["payload"][0]["extensions"]["code"] == "RATE_LIMITED"
        await create_team(gql, "still-served")
        assert (await other.next_payload())["data"]["events"]["type"] == "TEAM_CREATED"


LIVE = "subscription { events { type cursor data } }"


async def test_identical_live_subscriptions_share_one_execution(
    server: Served, http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    """Same document, variables and credential, live only: one execution per event for all of
    them; each still gets every event committed after it subscribed, once, and leaving does
    not end the others'. (Three at most: the per-actor limit of these tests.)"""
    subscriptions = server.app.state.subscriptions
    async with contextlib.AsyncExitStack() as stack:
        crowd = [
            await stack.enter_async_context(sse_stream(http, server.url, LIVE)) for _ in range(2)
        ]
        assert subscriptions.broadcasts == 1
        await create_team(gql, "first")
        for stream in crowd:
            event = await stream.next_event()
            assert event.payload["data"]["events"]["data"]["slug"] == "first"
            assert event.id == event.payload["data"]["events"]["cursor"]

        async with sse_stream(http, server.url, LIVE) as late:
            assert subscriptions.broadcasts == 1
            await create_team(gql, "second")
            for stream in [*crowd, late]:
                event = await stream.next_event()
                assert event.payload["data"]["events"]["data"]["slug"] == "second"

        async with ws_client(server.ws_url) as ws:  # another transport, the same execution
            await ws.subscribe("1", LIVE)
            assert subscriptions.broadcasts == 1
            await create_team(gql, "third")
            assert (await ws.next_payload())["data"]["events"]["data"]["slug"] == "third"
        for stream in crowd:
            event = await stream.next_event()
            assert event.payload["data"]["events"]["data"]["slug"] == "third"
    await until(lambda: subscriptions.broadcasts == 0)


async def test_a_subscription_with_its_own_arguments_runs_on_its_own(
    server: Served, http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    subscriptions = server.app.state.subscriptions
    async with (
        sse_stream(http, server.url, LIVE) as live,
        sse_stream(http, server.url, EVENTS) as replaying,
        sse_stream(http, server.url, TEAM_EVENTS) as filtered,
    ):
        assert subscriptions.broadcasts == 1
        await create_team(gql, "pay")
        for stream in (live, replaying, filtered):
            assert (await stream.next_event()).payload["data"]["events"]["data"]["slug"] == "pay"


# --- deployments -------------------------------------------------------------------------------


async def test_deployment_updated_follows_a_deployment_to_its_end(
    server: Served, gql: GraphQLClient
) -> None:
    await create_team(gql, "pay")
    created = await gql.mutate(
        "createService", "service { slug }", slug="pay-api", name="pay", owner="pay"
    )
    assert created["errors"] == []
    # A rollout of a second: long enough for its first states to be read before it ends (an
    # instant one may end before the feed wakes, and the deployment is read as it is then).
    brief = {"kind": "simulated", "settings": {"durationSeconds": 1}}
    environment = await gql.mutate(
        "createEnvironment", "environment { slug }", slug="brief", name="brief",
        tier="STAGING", provider=brief,
    )  # fmt: skip
    assert environment["errors"] == []
    query = (
        'subscription { deploymentUpdated(service: "pay-api", environment: "brief") '
        "{ version state } }"
    )
    async with ws_client(server.ws_url) as ws:
        await ws.subscribe("1", query)
        deployed = await gql.mutate(
            "deploy", "deployment { id }", service="pay-api", environment="brief", version="1.0"
        )
        assert deployed["errors"] == [], deployed
        states: list[str] = []
        while not states or states[-1] not in ("SUCCEEDED", "FAILED"):
            states.append((await ws.next_payload())["data"]["deploymentUpdated"]["state"])
        assert states[-1] == "SUCCEEDED"
        assert states[0] in ("QUEUED", "IN_PROGRESS")


@pytest.mark.parametrize(
    ("arguments", "code"),
    [
        ('service: "nope"', "NOT_FOUND"),
        ('environment: "nope"', "NOT_FOUND"),
        ('deployment: "VGVhbTox"', "NOT_FOUND"),  # a Team's id
        ('deployment: "!!!"', "NOT_FOUND"),
        ('after: "forged"', "VALIDATION"),
    ],
)
async def test_bad_arguments_are_typed_errors(
    server: Served, http: httpx.AsyncClient, arguments: str, code: str
) -> None:
    field = "events" if arguments.startswith("after") else "deploymentUpdated"
    selection = "cursor" if field == "events" else "state"
    query = f"subscription {{ {field}({arguments}) {{ {selection} }} }}"
    async with sse_stream(http, server.url, query) as stream:
        refused = await stream.next_event()
        assert refused.payload["errors"][0]["extensions"]["code"] == code, refused.payload
        assert (await stream.next_event()).event == "complete"


# --- shutdown ---------------------------------------------------------------------------------


async def test_shutdown_closes_websockets_with_1001_and_ends_sse_streams(
    migrated_url: str, pool: asyncpg.Pool
) -> None:
    async with (
        served_app(served_settings(migrated_url)) as served,
        httpx.AsyncClient() as http,
        ws_client(served.ws_url) as ws,
    ):
        await ws.subscribe("1", EVENTS)
        async with sse_stream(http, served.url, EVENTS) as stream:
            await served.shutdown()
            assert (await stream.next_event()).event == "complete"
            with pytest.raises(ConnectionClosed) as closed:
                await ws.receive()
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 1001


# --- across processes, and the LISTEN connection ------------------------------------------------


async def test_the_listen_connection_recovers_after_it_is_killed(
    migrated_url: str, pool: asyncpg.Pool
) -> None:
    """With polling too slow to matter (a minute), events still arrive after the listening
    backend was terminated: the feed reconnects and LISTENs again by itself."""
    settings = served_settings(migrated_url, event_poll_seconds=60)
    async with (
        served_app(settings) as served,
        httpx.AsyncClient(base_url=served.url.removesuffix("/graphql")) as http,
        ws_client(served.ws_url) as ws,
    ):
        gql = GraphQLClient(http)
        await ws.subscribe("1", EVENTS)
        await create_team(gql, "before")
        assert (await ws.next_payload())["data"]["events"]["data"]["slug"] == "before"
        wakeups = served.container.feed.wakeups
        assert isinstance(wakeups, PostgresWakeups)
        killed = await pool.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = ANY($1::text[]) AND pid = $2",
            [APPLICATION_NAME, ACCESS_APPLICATION_NAME],
            wakeups.backend_pid,
        )
        assert killed == 1
        await until(lambda: wakeups.connections >= 2)
        await create_team(gql, "after")
        assert (await ws.next_payload())["data"]["events"]["data"]["slug"] == "after"


async def test_an_event_held_back_by_an_older_transaction_arrives_once_it_ends_without_notice(
    migrated_url: str, pool: asyncpg.Pool
) -> None:
    """An older transaction still running when a change commits holds its event back (it
    might yet write an event before it); it ends writing none, so no notice comes: the feed
    reads again by itself (polling, a minute here, is not what delivers it)."""
    settings = served_settings(migrated_url, event_poll_seconds=60)
    async with (
        served_app(settings) as served,
        httpx.AsyncClient(base_url=served.url.removesuffix("/graphql")) as http,
        ws_client(served.ws_url) as ws,
    ):
        gql = GraphQLClient(http)
        feed = served.container.feed
        await ws.subscribe("1", EVENTS)
        async with pool.acquire() as older, older.transaction():
            await older.fetchval("SELECT pg_current_xact_id()")
            reads = feed.reads
            await create_team(gql, "held")
            await until(lambda: feed.reads > reads)  # its notice was read
            row = await pool.fetchrow("SELECT tx, id FROM events WHERE type = 'TEAM_CREATED'")
            assert row is not None
            assert feed.position < Position(row["tx"], row["id"])  # not handed out yet
        # Well before the next poll: keep-alive pings would otherwise wait for it.
        sent = (await asyncio.wait_for(ws.next_payload(), 30))["data"]["events"]
        assert sent["data"]["slug"] == "held"
        assert sent["cursor"] == event_cursor(Position(row["tx"], row["id"]))


async def test_a_mutation_on_one_process_reaches_a_subscriber_of_another(
    server: Served, gql: GraphQLClient, migrated_url: str, tmp_path: Path
) -> None:
    """B is `paved serve` in its own process on the same database; A is the served app."""
    port = free_port()
    environment = clean_environment(
        DATABASE_URL=migrated_url, PAVED_DEMO="false", PAVED_PORT=str(port),
        PAVED_EVENT_POLL_SECONDS="60", PAVED_LOG_LEVEL="warning",
    )  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        *paved_command(), "serve", cwd=tmp_path, env=environment,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        b = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=b) as http_b:
            async with asyncio.timeout(60):
                while True:
                    with contextlib.suppress(httpx.TransportError):
                        if (await http_b.get("/readyz")).status_code == 200:
                            break
                    await asyncio.sleep(0.1)
            async with sse_stream(http_b, f"{b}/graphql", EVENTS) as stream:
                await create_team(gql, "made-on-a")
                event = await stream.next_event()
                assert event.payload["data"]["events"]["data"]["slug"] == "made-on-a"
    finally:
        process.terminate()
        async with asyncio.timeout(20):
            await process.wait()


async def test_sql_per_event_does_not_grow_with_subscribers(
    migrated_url: str, pool: asyncpg.Pool
) -> None:
    """One outbox read per wake-up, and no statement per subscriber, for 1 or 8 of them, also
    when their answers load related objects (shared by the subscribers of one read)."""
    statements = StatementLog()
    settings = served_settings(migrated_url, event_poll_seconds=60, max_subscriptions_per_actor=20)
    async with (
        served_app(settings, Overrides(query_logger=statements.record)) as served,
        httpx.AsyncClient(base_url=served.url.removesuffix("/graphql")) as http,
    ):
        gql, feed = GraphQLClient(http), served.container.feed
        costs = []
        for count in (1, 8):
            async with contextlib.AsyncExitStack() as stack:
                clients = [
                    await stack.enter_async_context(ws_client(served.ws_url)) for _ in range(count)
                ]
                for ws in clients:
                    await ws.subscribe(
                        "1",
                        "subscription { events { type cursor team { slug name } "
                        "subject { id ... on Team { members { totalCount } } } } }",
                    )
                reads = feed.reads
                with statements.capture() as executed:
                    await create_team(gql, f"team-{count}")
                    for ws in clients:
                        assert (await ws.next_payload())["data"]["events"]["type"] == "TEAM_CREATED"
                costs.append((feed.reads - reads, len(executed)))
        assert costs[0] == costs[1], costs
        assert costs[0][0] == 1


async def test_following_one_deployment_starts_with_it_and_completes_when_it_finishes(
    server: Served, gql: GraphQLClient, http: httpx.AsyncClient
) -> None:
    from tests.support.deployments import environments

    await create_team(gql, "pay")
    created = await gql.mutate(
        "createService", "service { slug }", slug="pay-api", name="pay", owner="pay"
    )
    assert created["errors"] == []
    await environments(gql)
    deployed = await gql.mutate(
        "deploy", "deployment { id }", service="pay-api", environment="staging", version="1.0"
    )
    query = "subscription($id: ID!) { deploymentUpdated(deployment: $id) { id state } }"
    variables = {"id": deployed["deployment"]["id"]}
    async with sse_stream(http, server.url, query, variables) as stream:
        states = []
        while (event := await stream.next_event()).event == "next":
            states.append(event.payload["data"]["deploymentUpdated"]["state"])
    assert states[-1] == "SUCCEEDED"
    assert len(states) == len(set(states))


async def test_graphiql_runs_subscriptions_over_the_websocket(http: httpx.AsyncClient) -> None:
    page = await http.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    bootstrap = re.search(r'src="(/graphql/assets/paved-graphiql\.[0-9a-f]+\.js)"', page.text)
    assert bootstrap is not None
    script = await http.get(bootstrap.group(1))
    # graphql-ws (graphql-transport-ws) on /graphql; tests/browser/test_graphiql.py runs one.
    assert "subscriptionUrl: webSocketURL(fetchURL)" in script.text


async def test_with_trusted_documents_only_registered_subscriptions_run(
    migrated_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    trusted = tmp_path / "documents.json"
    trusted.write_text(json.dumps({document_id(EVENTS): EVENTS}))
    settings = served_settings(migrated_url, trusted_documents=trusted)
    async with (
        served_app(settings) as served,
        httpx.AsyncClient(base_url=served.url.removesuffix("/graphql")) as http,
    ):
        store = await seed(GraphQLClient(http), pool)
        ana = f"Bearer {await token(store, Scope.READ, user='ana')}"
        other = "subscription { events { type } }"
        async with ws_client(served.ws_url, ana) as ws:
            await ws.subscribe("1", other)
            refused = await ws.receive()
            assert refused["type"] == "error"
            assert refused["payload"][0]["extensions"]["code"] == "FORBIDDEN"
            await served.feed_caught_up()  # live from here: the seed's events are not sent
            await ws.subscribe_with("2", {"documentId": document_id(EVENTS)})
            await create_team(GraphQLClient(http), "trusted")
            sent = (await ws.next_payload("2"))["data"]["events"]
            assert (sent["type"], sent["data"]["slug"]) == ("TEAM_CREATED", "trusted")


async def test_each_event_reads_what_it_refers_to_afresh(
    server: Served, gql: GraphQLClient
) -> None:
    """Related objects are loaded again for each event: a renamed service shows its new name."""
    await create_team(gql, "pay")
    created = await gql.mutate(
        "createService", "service { slug }", slug="pay-api", name="first", owner="pay"
    )
    assert created["errors"] == []
    query = "subscription { events(filter: {types: [SERVICE_UPDATED]}) { service { name } } }"
    async with ws_client(server.ws_url) as ws:
        await ws.subscribe("1", query)
        for name in ("second", "third"):
            renamed = await gql.mutate("updateService", "service { name }", service="pay-api",
                                       name=name)  # fmt: skip
            assert renamed["errors"] == [], renamed
            assert (await ws.next_payload())["data"]["events"]["service"]["name"] == name


async def test_a_token_without_the_read_scope_may_not_subscribe(
    server: Served, gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    store = await seed(gql, pool)
    deploy_only = await token(store, Scope.DEPLOY, user="ana")
    async with ws_client(server.ws_url, f"Bearer {deploy_only}") as ws:
        await ws.subscribe("1", EVENTS)
        refused = await ws.receive()
        assert refused["type"] == "error", refused
        assert refused["payload"][0]["extensions"]["code"] == "FORBIDDEN"
