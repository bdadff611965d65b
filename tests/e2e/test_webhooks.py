"""Webhooks end to end: a receiver verifying every message with `standardwebhooks`, the
delivery worker of a served app on the test database, and the graph that manages them."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest
from starlette.applications import Starlette

from api.bootstrap import Container, Overrides
from api.settings import Settings
from tests.support.app import started_app
from tests.support.graphql import GraphQLClient
from tests.support.webhook_receiver import Answer, Inbox, eventually, receiver

WEBHOOK = "webhook { id url events active disabledReason team { slug } }"
DELIVERIES = """
query($id: ID!, $failedOnly: Boolean) { node(id: $id) { ... on Webhook {
  active disabledReason
  deliveries(first: 20, failedOnly: $failedOnly) { totalCount nodes {
    id attempt state statusCode durationMs responseExcerpt error nextAttemptAt createdAt
    event { id type }
  } }
} } }
"""


@asynccontextmanager
async def delivering(test_settings: Settings, **changes: Any) -> AsyncIterator[Container]:
    """An app of its own whose worker delivers at once: short polls and leases, retries
    without waiting (the shared app does not deliver)."""
    settings = test_settings.model_copy(
        update={
            "webhook_delivery": True,
            "webhook_poll_seconds": 0.02,
            "webhook_lease_seconds": 5.0,
            **changes,
        }
    )
    async with started_app(settings, Overrides(webhook_backoff_scale=0.0)) as app:
        yield _container(app)


def _container(app: Starlette) -> Container:
    container: Container = app.state.container
    return container


async def create_webhook(gql: GraphQLClient, inbox: Inbox, **fields: Any) -> dict[str, Any]:
    created = await gql.mutate(
        "createWebhook",
        f"{WEBHOOK} secret",
        url=fields.pop("url", inbox.url),
        events=fields.pop("events", ["TEAM_CREATED"]),
        **fields,
    )
    assert created["errors"] == [], created
    inbox.secret = created["secret"]
    webhook: dict[str, Any] = created["webhook"]
    return webhook


async def create_team(gql: GraphQLClient, slug: str) -> None:
    created = await gql.mutate("createTeam", "team { id }", slug=slug, name=slug)
    assert created["errors"] == []


async def deliveries(gql: GraphQLClient, webhook_id: str, **variables: Any) -> dict[str, Any]:
    data = await gql(DELIVERIES, id=webhook_id, **variables)
    node: dict[str, Any] = data["node"]
    return node


async def _until_recorded(gql: GraphQLClient, webhook_id: str, state: str) -> None:
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        nodes = (await deliveries(gql, webhook_id))["deliveries"]["nodes"]
        if nodes and nodes[0]["state"] == state:
            return
        assert asyncio.get_running_loop().time() < deadline, nodes
        await asyncio.sleep(0.02)


async def test_an_event_reaches_a_receiver_that_fails_twice_then_accepts(
    gql: GraphQLClient, test_settings: Settings
) -> None:
    with receiver() as inbox:
        webhook = await create_webhook(gql, inbox)
        assert webhook["active"] is True
        assert webhook["events"] == ["TEAM_CREATED"]
        assert webhook["url"] == inbox.url
        inbox.answer_next(Answer(500, b"down"), Answer(503, b"still down"))
        async with delivering(test_settings):
            await create_team(gql, "payments")
            [payload] = await eventually(lambda: inbox.accepted)
            # Recorded after the receiver answered: stopping the worker before that would
            # leave the delivery to be sent again (at least once), not SUCCEEDED.
            await _until_recorded(gql, webhook["id"], "SUCCEEDED")
        assert len(inbox.messages) == 3
        # The same message each time: one webhook-id (the event's), verified every time.
        assert {message.headers["webhook-id"] for message in inbox.messages} == {
            payload["data"]["id"]
        }
        assert payload["type"] == "TEAM_CREATED"
        data = payload["data"]
        assert data["type"] == "TEAM_CREATED"
        assert data["subject"]["slug"] == "payments"
        assert data["team"] == data["subject"]
        assert data["actor"] == "local-admin" or data["actor"]
        assert data["data"]["slug"] == "payments"
        assert set(data) >= {"id", "cursor", "occurredAt", "requestId", "service", "deployment"}
        assert inbox.secret is not None
        assert inbox.secret not in inbox.messages[-1].body.decode()

        shown = await deliveries(gql, webhook["id"])
        [delivery] = shown["deliveries"]["nodes"]
        assert delivery["state"] == "SUCCEEDED"
        assert delivery["attempt"] == 3
        assert delivery["statusCode"] == 200
        assert delivery["responseExcerpt"] == "ok"
        assert delivery["error"] is None
        assert delivery["nextAttemptAt"] is None
        assert delivery["event"]["id"] == payload["data"]["id"]


async def test_only_the_types_a_webhook_listens_for_are_sent(
    gql: GraphQLClient, test_settings: Settings
) -> None:
    with receiver() as inbox:
        await create_webhook(gql, inbox, events=["TEAM_DELETED"])
        async with delivering(test_settings):
            await create_team(gql, "short-lived")
            deleted = await gql.mutate("deleteTeam", "deletedId", team="short-lived")
            assert deleted["errors"] == []
            [payload] = await eventually(lambda: inbox.accepted)
        assert payload["type"] == "TEAM_DELETED"
        assert len(inbox.messages) == 1


async def test_410_gone_disables_the_webhook_at_once(
    gql: GraphQLClient, test_settings: Settings
) -> None:
    with receiver() as inbox:
        webhook = await create_webhook(gql, inbox)
        inbox.answer_next(Answer(410, b"gone"))
        async with delivering(test_settings):
            await create_team(gql, "first")
            shown = await eventually(lambda: inbox.messages)
            shown = await _until_disabled(gql, webhook["id"])
            await create_team(gql, "second")
        assert "410" in shown["disabledReason"]
        [delivery] = shown["deliveries"]["nodes"]
        assert delivery["state"] == "FAILED"
        assert delivery["statusCode"] == 410
        assert len(inbox.messages) == 1  # nothing more once disabled
        events = await gql(
            "query { events(filter: { types: [WEBHOOK_DISABLED] }) { nodes { data subject { id } } } }"
        )
        [disabled] = events["events"]["nodes"]
        assert disabled["subject"] == {"id": webhook["id"]}
        assert disabled["data"]["statusCode"] == 410


async def _until_disabled(gql: GraphQLClient, webhook_id: str) -> dict[str, Any]:
    found: dict[str, Any] = {}

    async def check() -> bool:
        found.update(await deliveries(gql, webhook_id))
        return not found["active"]

    for _ in range(1000):
        if await check():
            return found
        await _pause()
    raise AssertionError("the webhook was never disabled")


async def _pause() -> None:
    import asyncio

    await asyncio.sleep(0.02)


async def test_consecutive_failures_disable_the_webhook_with_an_event_for_its_team(
    gql: GraphQLClient, test_settings: Settings
) -> None:
    await create_team(gql, "owners")
    with receiver() as inbox:
        webhook = await create_webhook(gql, inbox, team="owners")
        inbox.answer_next(*[Answer(500, b"no")] * 10)
        async with delivering(test_settings, webhook_max_attempts=1, webhook_disable_after=3):
            for name in ("t1", "t2", "t3"):
                await create_team(gql, name)
            shown = await _until_disabled(gql, webhook["id"])
        assert shown["disabledReason"] == "3 consecutive deliveries failed"
        failed = await deliveries(gql, webhook["id"], failedOnly=True)
        assert failed["deliveries"]["totalCount"] == 3
        assert all(node["state"] == "FAILED" for node in failed["deliveries"]["nodes"])
        events = await gql(
            "query { events(filter: { types: [WEBHOOK_DISABLED] }) "
            "{ nodes { team { slug } subject { id } data } } }"
        )
        [disabled] = events["events"]["nodes"]
        assert disabled["team"] == {"slug": "owners"}
        assert disabled["data"]["consecutiveFailures"] == 3

        # Turned on again: failures forgotten, the reason cleared.
        resumed = await gql.mutate(
            "updateWebhook", "webhook { active disabledReason }", webhook=webhook["id"], active=True
        )
        assert resumed == {"webhook": {"active": True, "disabledReason": None}, "errors": []}


async def test_during_a_rotation_both_secrets_sign(
    gql: GraphQLClient, test_settings: Settings
) -> None:
    with receiver() as inbox:
        webhook = await create_webhook(gql, inbox)
        old = inbox.secret
        assert old is not None
        assert old.startswith("whsec_")
        rotated = await gql.mutate(
            "rotateWebhookSecret", "secret webhook { id }", webhook=webhook["id"]
        )
        assert rotated["errors"] == []
        new = rotated["secret"]
        assert new.startswith("whsec_")
        assert new != old
        inbox.secret = new
        async with delivering(test_settings):
            await create_team(gql, "rotated")
            await eventually(lambda: inbox.accepted)
        [message] = inbox.messages
        assert message.verifies_with(old)
        assert message.verifies_with(new)
        assert len(message.headers["webhook-signature"].split(" ")) == 2


async def test_the_response_excerpt_is_capped_and_redirects_are_not_followed(
    gql: GraphQLClient, test_settings: Settings
) -> None:
    with receiver() as inbox, receiver() as elsewhere:
        elsewhere.secret = "whsec_" + "A" * 44
        webhook = await create_webhook(gql, inbox)
        inbox.answer_next(
            Answer(200, b"x" * 5000),
            Answer(302, b"moved", {"Location": elsewhere.url}),
        )
        async with delivering(test_settings, webhook_max_attempts=1):
            await create_team(gql, "big")
            await eventually(lambda: inbox.accepted)
            await create_team(gql, "moved")
            await eventually(lambda: len(inbox.messages) == 2)
            shown: dict[str, Any] = {}

            async def recorded() -> bool:
                shown.update(await deliveries(gql, webhook["id"]))
                return all(n["state"] != "PENDING" for n in shown["deliveries"]["nodes"])

            while not await recorded():
                await _pause()
        moved, big = shown["deliveries"]["nodes"]
        assert big["state"] == "SUCCEEDED"
        assert big["responseExcerpt"] == "x" * 1024
        assert moved["state"] == "FAILED"
        assert moved["statusCode"] == 302
        assert "redirects are not followed" in moved["error"]
        assert elsewhere.messages == []


async def test_ping_and_redelivery(gql: GraphQLClient, test_settings: Settings) -> None:
    with receiver() as inbox:
        webhook = await create_webhook(gql, inbox)
        pinged = await gql.mutate(
            "pingWebhook", "delivered statusCode error webhook { id }", webhook=webhook["id"]
        )
        assert pinged == {
            "delivered": True,
            "statusCode": 200,
            "error": None,
            "webhook": {"id": webhook["id"]},
            "errors": [],
        }
        [ping] = inbox.accepted
        assert ping["type"] == "PING"
        assert ping["data"]["webhook"]["id"] == webhook["id"]
        ping_id = inbox.messages[0].headers["webhook-id"]
        async with delivering(test_settings):
            await create_team(gql, "again")
            await eventually(lambda: len(inbox.accepted) == 2)
            [first] = (await deliveries(gql, webhook["id"]))["deliveries"]["nodes"]
            again = await gql.mutate(
                "redeliverWebhookDelivery", "delivery { id state }", delivery=first["id"]
            )
            assert again["errors"] == []
            assert again["delivery"]["state"] == "PENDING"
            await eventually(lambda: len(inbox.accepted) == 3)
        event_ids = [message.headers["webhook-id"] for message in inbox.messages]
        assert event_ids[1] == event_ids[2] != ping_id


async def test_delivery_rechecks_the_address_it_resolves_to(
    gql: GraphQLClient, test_settings: Settings, pool: asyncpg.Pool
) -> None:
    """Saved while private addresses were allowed; a process that refuses them does not
    connect (the check happens again when sending)."""
    with receiver() as inbox:
        webhook = await create_webhook(gql, inbox)
        async with delivering(test_settings, webhook_allow_private=False, webhook_max_attempts=1):
            await create_team(gql, "private")

            async def failed() -> Any:
                return await pool.fetchval(
                    "SELECT error FROM webhook_deliveries WHERE state = 'FAILED'"
                )

            error = None
            while error is None:
                error = await failed()
                await _pause()
        assert "loopback" in error
        assert "PAVED_WEBHOOK_ALLOW_PRIVATE" in error
        assert inbox.messages == []
        assert webhook["active"] is True


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://metadata.google.internal/computeMetadata/v1/", "metadata"),
        ("http://[fd00:ec2::254]/", "metadata"),
        ("http://[::ffff:169.254.169.254]/", "metadata"),
    ],
)
async def test_metadata_addresses_are_refused_even_in_development(
    gql: GraphQLClient, url: str, expected: str
) -> None:
    created = await gql.mutate("createWebhook", "webhook { id }", url=url, events=["TEAM_CREATED"])
    assert created["webhook"] is None
    [error] = created["errors"]
    assert error["code"] == "VALIDATION"
    assert error["path"] == ["input", "url"]
    assert expected in error["message"]


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/hook",
        "file:///etc/passwd",
        "gopher://127.0.0.1:6379/_INFO",
        "javascript:alert(1)",
        "http://user:secret@example.com/hook",
        "http://@example.com/hook",
        "http:///nohost",
        "http://example.com:99999/hook",
        "http://exa mple.com/hook",
        "http://example.com/" + "a" * 3000,
        "",
    ],
)
async def test_urls_that_are_no_http_endpoint_are_refused(gql: GraphQLClient, url: str) -> None:
    created = await gql.mutate("createWebhook", "webhook { id }", url=url, events=["TEAM_CREATED"])
    assert created["webhook"] is None
    assert [error["code"] for error in created["errors"]] == ["VALIDATION"]
    assert created["errors"][0]["path"][:2] == ["input", "url"]


async def test_private_addresses_are_refused_when_not_allowed(test_settings: Settings) -> None:
    async with delivering(test_settings, webhook_allow_private=False) as container:
        targets = container.ports.webhook_targets
        assert targets is not None
        for url in (
            "http://127.0.0.1:8080/hook",
            "http://localhost/hook",
            "http://10.1.2.3/hook",
            "http://192.168.0.10/hook",
            "http://[::1]/hook",
            "http://[::ffff:10.0.0.1]/hook",
            "http://0.0.0.0/hook",
            "http://169.254.10.10/hook",
            "http://100.64.0.1/hook",
        ):
            with pytest.raises(Exception, match="refused") as refused:
                await targets.check_url(url)
            assert type(refused.value).__name__ == "ValidationFailed"


async def test_inputs_are_bounded(gql: GraphQLClient) -> None:
    too_long = await gql.mutate(
        "createWebhook",
        "webhook { id }",
        url="https://example.com/hook",
        events=["TEAM_CREATED"],
        description="d" * 5000,
    )
    assert [e["path"] for e in too_long["errors"]] == [["input", "description"]]
    no_events = await gql.mutate(
        "createWebhook", "webhook { id }", url="https://example.com/hook", events=[]
    )
    assert [e["path"] for e in no_events["errors"]] == [["input", "events"]]
    unknown_team = await gql.mutate(
        "createWebhook",
        "webhook { id }",
        url="https://example.com/hook",
        events=["TEAM_CREATED"],
        team="nobody",
    )
    assert [e["code"] for e in unknown_team["errors"]] == ["NOT_FOUND"]


async def test_an_update_is_checked_like_a_creation(gql: GraphQLClient) -> None:
    with receiver() as inbox:
        webhook = await create_webhook(gql, inbox)
    for url in ("http://169.254.169.254/", "http://user:pw@example.com/", "ftp://example.com/"):
        refused = await gql.mutate(
            "updateWebhook", "webhook { url }", webhook=webhook["id"], url=url
        )
        assert [e["code"] for e in refused["errors"]] == ["VALIDATION"], refused
    for field in ("url", "events", "active"):
        refused = await gql.mutate(
            "updateWebhook", "webhook { url }", webhook=webhook["id"], **{field: None}
        )
        assert [e["path"] for e in refused["errors"]] == [["input", field]]
    shown = await gql(
        "query($id: ID!) { node(id: $id) { ... on Webhook { url version } } }", id=webhook["id"]
    )
    assert shown["node"] == {"url": inbox.url, "version": 1}


async def _until(pool: asyncpg.Pool, condition: str) -> None:
    """Until the SQL `condition` on the one webhook holds (a deadline against hanging)."""
    deadline = asyncio.get_running_loop().time() + 20
    while not await pool.fetchval(f"SELECT {condition} FROM webhooks"):
        assert asyncio.get_running_loop().time() < deadline, condition
        await asyncio.sleep(0.02)


async def test_a_receiver_that_was_down_gets_the_backlog_once_it_is_back(
    gql: GraphQLClient, test_settings: Settings, pool: asyncpg.Pool
) -> None:
    """While a webhook fails, only its oldest delivery is tried (on its retry schedule); the
    others wait without failing, and all are sent as soon as the probe gets through."""
    with receiver() as inbox:
        await create_webhook(gql, inbox)
        inbox.answer_next(*[Answer(503, b"down")] * 1000)
        settings = test_settings.model_copy(
            update={"webhook_delivery": True, "webhook_poll_seconds": 0.02}
        )
        async with started_app(settings, Overrides(webhook_backoff_scale=0.02)):
            await create_team(gql, "first")
            await _until(pool, "consecutive_failures > 0")
            for index in range(9):
                await create_team(gql, f"later-{index}")
            await _until(pool, "consecutive_failures >= 3")
            inbox.script.clear()
            await eventually(lambda: len(inbox.accepted) == 10)
        sent = Counter(message.headers["webhook-id"] for message in inbox.messages)
        # Every failed attempt was the probe's: one event tried again and again, the nine
        # others sent once each, after it got through.
        [(_, probe_attempts)] = [(id_, count) for id_, count in sent.items() if count > 1]
        assert probe_attempts >= 4
        assert sorted(sent.values()) == [1] * 9 + [probe_attempts]
        assert await pool.fetchval("SELECT consecutive_failures FROM webhooks") == 0
