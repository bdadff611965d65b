"""Who may see and manage which webhooks: a team's members with `write` manage (and alone see)
its webhooks; admins manage webhooks without a team (and see all); to anyone else a webhook
does not exist, whatever ID they forge."""

from __future__ import annotations

import base64
from typing import Any

import asyncpg

from domain.access.model import Scope
from resolvers.global_ids import encode_id
from tests.support.access import seed, token
from tests.support.graphql import GraphQLClient

URL = "https://hooks.example.com/paved"
NODE = "query($id: ID!) { node(id: $id) { id ... on Webhook { url } } }"
LISTED = "query($team: String) { webhooks(team: $team) { totalCount nodes { id url } } }"


async def _create(gql: GraphQLClient, **fields: Any) -> dict[str, Any]:
    return await gql.mutate(
        "createWebhook", "webhook { id } secret", url=URL, events=["SERVICE_UPDATED"], **fields
    )


def _codes(payload: dict[str, Any]) -> list[str]:
    return [error["code"] for error in payload["errors"]]


async def test_team_members_with_write_manage_their_teams_webhooks_only(
    gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    store = await seed(gql, pool)
    ana = gql.with_token(await token(store, Scope.READ, Scope.WRITE, user="ana"))
    ana_reader = gql.with_token(await token(store, Scope.READ, user="ana"))
    bob = gql.with_token(await token(store, Scope.READ, Scope.WRITE, user="bob"))
    root = gql.with_token(await token(store, *Scope, user="root"))

    created = await _create(ana, team="pay")
    assert created["errors"] == []
    assert created["secret"].startswith("whsec_")
    webhook_id = created["webhook"]["id"]

    # Not for another team, not without `write`, not without a team.
    assert _codes(await _create(ana, team="web")) == ["FORBIDDEN"]
    assert _codes(await _create(ana_reader, team="pay")) == ["FORBIDDEN"]
    assert _codes(await _create(ana)) == ["FORBIDDEN"]
    assert _codes(await _create(bob, team="pay")) == ["FORBIDDEN"]

    # Seen by its managers and admins; to the others it does not exist.
    assert (await ana(NODE, id=webhook_id))["node"] == {"id": webhook_id, "url": URL}
    assert (await root(NODE, id=webhook_id))["node"] == {"id": webhook_id, "url": URL}
    assert (await bob(NODE, id=webhook_id))["node"] is None
    assert (await ana_reader(NODE, id=webhook_id))["node"] is None
    assert (await ana(LISTED))["webhooks"]["totalCount"] == 1
    assert (await bob(LISTED))["webhooks"] == {"totalCount": 0, "nodes": []}
    assert (await bob(LISTED, team="pay"))["webhooks"] == {"totalCount": 0, "nodes": []}
    assert (await ana_reader(LISTED))["webhooks"]["totalCount"] == 0
    assert (await root(LISTED, team="pay"))["webhooks"]["totalCount"] == 1
    assert (await root(LISTED, team="web"))["webhooks"]["totalCount"] == 0

    # Managing it: NOT_FOUND to whoever may not, the webhook unchanged.
    for mutation, fields in (
        ("updateWebhook", {"url": "https://evil.example.com/"}),
        ("deleteWebhook", {}),
        ("rotateWebhookSecret", {}),
        ("pingWebhook", {}),
    ):
        for outsider in (bob, ana_reader):
            refused = await outsider.mutate(mutation, "", webhook=webhook_id, **fields)
            assert _codes(refused) == ["NOT_FOUND"], (mutation, refused)
    assert (await ana(NODE, id=webhook_id))["node"]["url"] == URL

    updated = await ana.mutate(
        "updateWebhook", "webhook { description version }", webhook=webhook_id, description="x"
    )
    assert updated == {"webhook": {"description": "x", "version": 2}, "errors": []}
    stale = await ana.mutate(
        "updateWebhook", "webhook { id }", webhook=webhook_id, expectedVersion=1, active=False
    )
    assert _codes(stale) == ["CONFLICT"]
    deleted = await ana.mutate("deleteWebhook", "deletedId", webhook=webhook_id)
    assert deleted == {"deletedId": webhook_id, "errors": []}


async def test_webhooks_without_a_team_are_for_admins(
    gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    store = await seed(gql, pool)
    ana = gql.with_token(await token(store, Scope.READ, Scope.WRITE, user="ana"))
    root = gql.with_token(await token(store, *Scope, user="root"))
    root_without_admin = gql.with_token(await token(store, Scope.READ, Scope.WRITE, user="root"))
    created = await _create(root)
    assert created["errors"] == []
    webhook_id = created["webhook"]["id"]
    assert _codes(await _create(root_without_admin)) == ["FORBIDDEN"]
    assert (await ana(NODE, id=webhook_id))["node"] is None
    assert (await root_without_admin(NODE, id=webhook_id))["node"] is None
    assert (await ana(LISTED))["webhooks"]["totalCount"] == 0
    assert (await root(LISTED))["webhooks"]["totalCount"] == 1
    assert _codes(await ana.mutate("deleteWebhook", "", webhook=webhook_id)) == ["NOT_FOUND"]


async def test_forged_ids_and_cursors_are_refused_without_leaking(
    gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    await seed(gql, pool)
    created = await _create(gql)
    webhook_id = created["webhook"]["id"]
    forged = [
        encode_id("Team", 1),  # another type's ID
        encode_id("Webhook", 999_999),
        encode_id("WebhookDelivery", 1),
        base64.urlsafe_b64encode(b"Webhook:-1").decode(),
        base64.urlsafe_b64encode(b"Webhook:01").decode(),
        "not an id",
        "x" * 500,
    ]
    for bad in forged:
        for mutation in ("updateWebhook", "deleteWebhook", "rotateWebhookSecret", "pingWebhook"):
            refused = await gql.mutate(mutation, "", webhook=bad)
            expected = ["VALIDATION"] if len(bad) > 200 else ["NOT_FOUND"]
            assert _codes(refused) == expected, (mutation, bad, refused)
        redelivered = await gql.mutate("redeliverWebhookDelivery", "", delivery=bad)
        assert _codes(redelivered) in (["NOT_FOUND"], ["VALIDATION"]), redelivered
    assert _codes(await gql.mutate("redeliverWebhookDelivery", "", delivery=webhook_id)) == [
        "NOT_FOUND"
    ]
    for cursor in ("garbage", encode_id("Team", 1), "x" * 100):
        body = await gql.raw(
            "query($a: String) { webhooks(after: $a) { totalCount } }", {"a": cursor}
        )
        assert body["errors"][0]["extensions"]["code"] == "VALIDATION"
        body = await gql.raw(
            "query($id: ID!, $a: String) { node(id: $id) { ... on Webhook "
            "{ deliveries(after: $a) { totalCount } } } }",
            {"id": webhook_id, "a": cursor},
        )
        assert body["errors"][0]["extensions"]["code"] == "VALIDATION"
    body = await gql.raw("{ webhooks(first: 101) { totalCount } }")
    assert body["errors"][0]["extensions"]["code"] == "VALIDATION"


async def test_the_secret_never_reaches_the_audit_log(
    gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    created = await _create(gql)
    rotated = await gql.mutate("rotateWebhookSecret", "secret", webhook=created["webhook"]["id"])
    logged = await pool.fetch("SELECT input::text AS input, operation FROM audit_events")
    operations = {row["operation"] for row in logged}
    assert {"createWebhook", "rotateWebhookSecret"} <= operations
    everything = " ".join(row["input"] for row in logged)
    assert created["secret"] not in everything
    assert rotated["secret"] not in everything
    stored = await pool.fetch("SELECT secret, previous_secret FROM webhooks")
    assert created["secret"] not in str([dict(row) for row in stored])
