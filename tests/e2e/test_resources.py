"""Self-service resources through the API: classes (admins), requests by a service's owner
teams, parameters checked against the class's JSON Schema, approvals, the simulated provider
driving them to READY, updates and deletions, and the rules that keep them consistent."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx2 as httpx
import pytest
from starlette.applications import Starlette

from api.graphql_http import GraphQLEndpoint
from domain.access.model import Scope
from tests.support.access import seed, token
from tests.support.deployer_fakes.resource_receiver import running_resource_receiver
from tests.support.deployments import environments
from tests.support.graphql import GraphQLClient
from tests.support.resources import (
    INSTANT,
    RESOURCE_FIELDS,
    RESOURCE_STATE,
    postgres_class,
    provisioned,
    request,
    state_of,
)
from tests.support.statements import StatementLog

HISTORY = "query($id: ID!) { node(id: $id) { ... on Resource { history { state message } } } }"


@pytest.fixture(autouse=True)
def _polls_while_the_runner_moves_a_resource(
    client: httpx.AsyncClient, endpoint: GraphQLEndpoint
) -> Iterator[None]:
    """`state_of` polls a resource while its runner moves it: the two read paths, reading one
    after the other, may see two moments of it. Only that query is forgiven."""
    yield
    endpoint.disagreements[:] = [d for d in endpoint.disagreements if d.query != RESOURCE_STATE]


def _errors(payload: dict[str, Any]) -> list[tuple[str, list[str] | None]]:
    return [(error["code"], error["path"]) for error in payload["errors"]]


async def _count(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM resources"))


async def test_a_request_gets_defaults_reaches_ready_with_outputs_and_secret_refs_only(
    gql: GraphQLClient, pool: asyncpg.Pool, app: Starlette
) -> None:
    await seed(gql, pool)
    await environments(gql)
    await postgres_class(gql)

    asked = await request(gql, parameters={"size": "M"})
    assert asked["errors"] == []
    resource = asked["resource"]
    assert resource["parameters"] == {"size": "M", "version": 16}
    assert resource["class"] == {"slug": "postgres"}
    assert asked["plan"]["parameters"] == {"size": "M", "version": 16}
    assert any("version" in warning for warning in asked["plan"]["warnings"])

    await provisioned(app)
    found = await gql(
        "query($id: ID!) { node(id: $id) { ... on Resource { state outputs readyAt "
        "secretRefs { name key store } } } }",
        id=resource["id"],
    )
    ready = found["node"]
    assert ready["state"] == "READY"
    assert ready["readyAt"] is not None
    assert ready["outputs"]["port"] == 5432
    assert ready["secretRefs"], "credentials are named where the provider put them"
    assert not any("password" in key.lower() for key in ready["outputs"])
    history = (await gql(HISTORY, id=resource["id"]))["node"]["history"]
    assert history[0]["state"] == "REQUESTED"
    assert history[-1]["state"] == "READY"


async def test_each_parameter_violation_names_its_parameter_and_nothing_is_written(
    gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    await seed(gql, pool)
    await environments(gql)
    await postgres_class(gql)

    refused = await request(gql, parameters={"size": "XXL", "version": 9, "colour": "red"})
    assert refused["resource"] is None
    paths = sorted(tuple(error["path"]) for error in refused["errors"])
    assert paths == [
        ("input", "parameters", "colour"),
        ("input", "parameters", "size"),
        ("input", "parameters", "version"),
    ]
    assert {error["code"] for error in refused["errors"]} == {"VALIDATION"}
    assert await _count(pool) == 0


async def test_a_dry_run_answers_the_plan_and_writes_nothing(
    gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    await seed(gql, pool)
    await environments(gql)
    await postgres_class(gql, requiresApproval=True)
    events_before = await pool.fetchval("SELECT count(*) FROM events")

    planned = await request(gql, dryRun=True, parameters={"highAvailability": True})
    assert planned["errors"] == []
    assert planned["resource"] is None
    plan = planned["plan"]
    assert plan["requiredApprovals"] == 1
    assert plan["parameters"] == {"size": "S", "version": 16, "highAvailability": True}
    assert any("approval" in action for action in plan["actions"])
    assert await _count(pool) == 0
    assert await pool.fetchval("SELECT count(*) FROM events") == events_before


async def test_who_may_request_update_and_delete(gql: GraphQLClient, pool: asyncpg.Pool) -> None:
    store = await seed(gql, pool)
    await environments(gql)
    await postgres_class(gql)
    ana = gql.with_token(await token(store, Scope.READ, Scope.WRITE, user="ana"))
    ana_reader = gql.with_token(await token(store, Scope.READ, user="ana"))
    bob = gql.with_token(await token(store, Scope.READ, Scope.WRITE, user="bob"))

    assert _errors(await request(bob)) == [("FORBIDDEN", None)]
    assert _errors(await request(ana_reader)) == [("FORBIDDEN", None)]
    asked = await request(ana)
    assert asked["errors"] == []
    resource_id = asked["resource"]["id"]

    for actor in (bob, ana_reader):
        updated = await actor.mutate(
            "updateResource", RESOURCE_FIELDS, resource=resource_id, parameters={"size": "L"}
        )
        assert [error["code"] for error in updated["errors"]] == ["FORBIDDEN"]
        deleted = await actor.mutate("deleteResource", RESOURCE_FIELDS, resource=resource_id)
        assert [error["code"] for error in deleted["errors"]] == ["FORBIDDEN"]
    # Classes are the admins'.
    refused = await ana.mutate(
        "createResourceClass", "resourceClass { id }", slug="redis", name="Redis", type="redis",
        provider=INSTANT, parametersSchema={"type": "object"},
    )  # fmt: skip
    assert [error["code"] for error in refused["errors"]] == ["FORBIDDEN"]


async def test_names_environments_and_freezes(gql: GraphQLClient, pool: asyncpg.Pool) -> None:
    await seed(gql, pool)
    await environments(gql)
    staging = await gql('{ environment(slug: "staging") { id } }')
    assert staging["environment"]
    await postgres_class(gql, environments=["prod"])

    assert _errors(await request(gql)) == [("VALIDATION", ["input", "environment"])]
    assert _errors(await request(gql, environment="prod", name="Not_A_Slug")) == [
        ("VALIDATION", ["input", "name"])
    ]
    assert (await request(gql, environment="prod"))["errors"] == []
    assert _errors(await request(gql, environment="prod")) == [("CONFLICT", ["input", "name"])]
    assert _errors(await request(gql, environment="prod", service="nope")) == [
        ("NOT_FOUND", ["input", "service"])
    ]
    assert _errors(await request(gql, environment="prod", **{"class": "nope"})) == [
        ("NOT_FOUND", ["input", "class"])
    ]
    frozen = await gql.mutate(
        "freezeEnvironment", "environment { slug }", environment="prod", reason="audit"
    )
    assert frozen["errors"] == []
    refused = await request(gql, environment="prod", name="db2")
    assert _errors(refused) == [("PRECONDITION_FAILED", ["input", "environment"])]
    assert "audit" in refused["errors"][0]["message"]


async def test_approvals_by_the_class_approver_teams_without_self_approval(
    gql: GraphQLClient, pool: asyncpg.Pool, app: Starlette
) -> None:
    store = await seed(gql, pool)
    await environments(gql, requiredApprovals=1, approverTeams=["web"], preventSelfApproval=True)
    await postgres_class(gql, requiresApproval=True, approverTeams=["web"])
    ana = gql.with_token(await token(store, Scope.READ, Scope.WRITE, Scope.APPROVE, user="ana"))
    bob = gql.with_token(await token(store, Scope.READ, Scope.APPROVE, user="bob"))

    asked = await request(ana, environment="prod")
    assert asked["errors"] == []
    resource_id = asked["resource"]["id"]
    assert asked["resource"]["state"] == "WAITING_APPROVAL"

    # ana is no approver (and asked for it herself).
    own = await ana.mutate("approveResource", "resource { state }", resource=resource_id)
    assert [error["code"] for error in own["errors"]] == ["FORBIDDEN"]
    # A provider report cannot skip the approvals.
    skipped = await gql.mutate(
        "reportResourceStatus", "resource { state }", resource=resource_id, state="READY"
    )
    assert [error["code"] for error in skipped["errors"]] == ["PRECONDITION_FAILED"]

    approved = await bob.mutate(
        "approveResource", "resource { state approvals { decision comment actor { name } } }",
        resource=resource_id, comment="fine",
    )  # fmt: skip
    assert approved["errors"] == []
    assert approved["resource"]["approvals"] == [
        {"decision": "APPROVED", "comment": "fine", "actor": {"name": "bob"}}
    ]
    await provisioned(app)
    assert await state_of(gql, resource_id) == "READY"

    # An approver may not approve what they asked for themselves (the environment says so).
    bob_writer = gql.with_token(
        await token(store, Scope.READ, Scope.WRITE, Scope.APPROVE, user="bob")
    )
    own_request = await request(bob_writer, service="web-api", environment="prod", name="db")
    assert own_request["errors"] == []
    self_approved = await bob_writer.mutate(
        "approveResource", "resource { state }", resource=own_request["resource"]["id"]
    )
    assert [error["code"] for error in self_approved["errors"]] == ["PRECONDITION_FAILED"]

    second = await request(ana, environment="prod", name="db2")
    rejected = await bob.mutate(
        "rejectResource", "resource { state statusMessage }", resource=second["resource"]["id"],
        comment="too big",
    )  # fmt: skip
    assert rejected["resource"]["state"] == "FAILED"
    assert "too big" in rejected["resource"]["statusMessage"]


async def test_update_and_delete_go_through_the_provider(
    gql: GraphQLClient, pool: asyncpg.Pool, app: Starlette
) -> None:
    await seed(gql, pool)
    await environments(gql)
    await postgres_class(gql)
    resource_id = (await request(gql))["resource"]["id"]
    await provisioned(app)

    stale = await gql.mutate(
        "updateResource", RESOURCE_FIELDS, resource=resource_id, expectedVersion=1,
        parameters={"size": "L"},
    )  # fmt: skip
    assert _errors(stale) == [("CONFLICT", ["input", "expectedVersion"])]
    invalid = await gql.mutate(
        "updateResource", RESOURCE_FIELDS, resource=resource_id, parameters={"size": "XL"}
    )
    assert _errors(invalid) == [("VALIDATION", ["input", "parameters", "size"])]
    updated = await gql.mutate(
        "updateResource", RESOURCE_FIELDS, resource=resource_id, parameters={"size": "L"}
    )
    assert updated["errors"] == []
    assert updated["resource"]["state"] == "UPDATING"
    assert updated["resource"]["parameters"] == {"size": "L", "version": 16}
    await provisioned(app)
    assert await state_of(gql, resource_id) == "READY"

    # The service and the class cannot go while the resource lives.
    kept = await gql.mutate("deleteService", "deletedId", service="pay-api")
    assert [error["code"] for error in kept["errors"]] == ["PRECONDITION_FAILED"]
    assert "db" in kept["errors"][0]["message"]
    in_use = await gql.mutate("deleteResourceClass", "deletedId", resourceClass="postgres")
    assert [error["code"] for error in in_use["errors"]] == ["PRECONDITION_FAILED"]

    deleted = await gql.mutate("deleteResource", RESOURCE_FIELDS, resource=resource_id)
    assert deleted["errors"] == []
    assert deleted["resource"]["state"] == "DELETING"
    await provisioned(app)
    assert await state_of(gql, resource_id) == "DELETED"
    again = await gql.mutate("deleteResource", RESOURCE_FIELDS, resource=resource_id)
    assert [error["code"] for error in again["errors"]] == ["PRECONDITION_FAILED"]
    # Its name is free again; the service may go once nothing lives.
    assert (await request(gql, name="db", dryRun=True))["errors"] == []
    assert (await gql.mutate("deleteService", "deletedId", service="pay-api"))["errors"] == []


async def test_a_provider_failure_is_failed_with_its_message(
    gql: GraphQLClient, pool: asyncpg.Pool, app: Starlette
) -> None:
    await seed(gql, pool)
    await environments(gql)
    await postgres_class(gql)
    resource_id = (await request(gql, parameters={"label": "doomed"}))["resource"]["id"]
    await provisioned(app)
    found = await gql(
        "query($id: ID!) { node(id: $id) { ... on Resource { state statusMessage } } }",
        id=resource_id,
    )
    assert found["node"]["state"] == "FAILED"
    assert found["node"]["statusMessage"]


async def test_class_rules(gql: GraphQLClient, pool: asyncpg.Pool) -> None:
    await seed(gql, pool)
    await environments(gql)

    async def create(**fields: Any) -> dict[str, Any]:
        given = {"slug": "x", "name": "X", "type": "postgres", "provider": INSTANT,
                 "parametersSchema": {"type": "object"}} | fields  # fmt: skip
        return await gql.mutate("createResourceClass", "resourceClass { slug }", **given)

    assert _errors(await create(parametersSchema={"type": "object", "properties": 7})) == [
        ("VALIDATION", ["input", "parametersSchema"])
    ]
    assert _errors(await create(parametersSchema={"type": "string"})) == [
        ("VALIDATION", ["input", "parametersSchema"])
    ]
    remote = {"type": "object", "properties": {"a": {"$ref": "https://169.254.169.254/x"}}}
    assert _errors(await create(parametersSchema=remote)) == [
        ("VALIDATION", ["input", "parametersSchema"])
    ]
    schema = {"type": "object", "properties": {"size": {"enum": ["S"]}}}
    assert _errors(await create(parametersSchema=schema, defaults={"size": "XL"})) == [
        ("VALIDATION", ["input", "defaults", "size"])
    ]
    assert _errors(await create(provider={"kind": "nope"})) == [
        ("VALIDATION", ["input", "provider", "kind"])
    ]
    assert _errors(await create(environments=["nowhere"])) == [
        ("NOT_FOUND", ["input", "environments", "0"])
    ]
    assert _errors(await create(type="Not A Type")) == [("VALIDATION", ["input", "type"])]
    assert (await create())["errors"] == []
    assert _errors(await create()) == [("CONFLICT", ["input", "slug"])]

    updated = await gql.mutate(
        "updateResourceClass", "resourceClass { name version }", resourceClass="x",
        expectedVersion=1, name="Renamed",
    )  # fmt: skip
    assert updated["resourceClass"] == {"name": "Renamed", "version": 2}
    stale = await gql.mutate(
        "updateResourceClass", "resourceClass { name }", resourceClass="x", expectedVersion=1,
        name="Again",
    )  # fmt: skip
    assert _errors(stale) == [("CONFLICT", ["input", "expectedVersion"])]
    deleted = await gql.mutate("deleteResourceClass", "deletedId", resourceClass="x")
    assert deleted["errors"] == []


async def test_reported_status_is_for_api_clients_and_outputs_hold_no_secret(
    gql: GraphQLClient, pool: asyncpg.Pool, app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The webhook provider hands the request on; its status comes back from the platform
    team's API client, never with a credential in the outputs."""
    store = await seed(gql, pool)
    await environments(gql)
    monkeypatch.setenv("PAVED_SECRET_TEST_RESOURCES", "whsec_test")
    with running_resource_receiver("whsec_test") as receiver:
        hook = {
            "kind": "webhook",
            "settings": {
                "url": f"{receiver.url}/resources",
                "secretEnv": "PAVED_SECRET_TEST_RESOURCES",
            },
        }
        await postgres_class(gql, provider=hook)
        resource_id = (await request(gql))["resource"]["id"]
        for _ in range(200):
            if await state_of(gql, resource_id) == "PROVISIONING":
                break
            await asyncio.sleep(0.025)
        assert len(receiver.requests) == 1
    assert await state_of(gql, resource_id) == "PROVISIONING"
    await store.create_api_client("pay-ci", "pay CI", "pay")
    ci = gql.with_token(await token(store, Scope.READ, Scope.DEPLOY, client="pay-ci"))
    ana = gql.with_token(await token(store, Scope.READ, Scope.WRITE, Scope.DEPLOY, user="ana"))

    by_user = await ana.mutate(
        "reportResourceStatus", "resource { state }", resource=resource_id, state="READY"
    )
    assert [error["code"] for error in by_user["errors"]] == ["FORBIDDEN"]
    leaking = await ci.mutate(
        "reportResourceStatus", "resource { state }", resource=resource_id, state="READY",
        outputs={"host": "db", "db_password": "hunter2"},
    )  # fmt: skip
    assert _errors(leaking) == [("VALIDATION", ["input", "outputs", "db_password"])]
    assert (
        await pool.fetchval("SELECT count(*) FROM resources WHERE outputs::text LIKE '%hunter2%'")
        == 0
    )
    reported = await ci.mutate(
        "reportResourceStatus", "resource { state outputs secretRefs { name store key } }",
        resource=resource_id, state="READY", outputs={"host": "db.internal", "port": 5432},
        secretRefs=[{"name": "pay-db", "store": "vault", "key": "password"}],
    )  # fmt: skip
    assert reported["errors"] == []
    assert reported["resource"] == {
        "state": "READY",
        "outputs": {"host": "db.internal", "port": 5432},
        "secretRefs": [{"name": "pay-db", "store": "vault", "key": "password"}],
    }
    forged = await ci.mutate(
        "reportResourceStatus", "resource { state }", resource="UmVzb3VyY2U6OTk5OTk=",
        state="READY",
    )  # fmt: skip
    assert _errors(forged) == [("NOT_FOUND", ["input", "resource"])]


async def test_listings_and_nodes(gql: GraphQLClient, pool: asyncpg.Pool, app: Starlette) -> None:
    await seed(gql, pool)
    await environments(gql)
    await postgres_class(gql)
    for service, environment, name in (
        ("pay-api", "staging", "db"), ("pay-api", "prod", "db"), ("web-api", "staging", "cache"),
    ):  # fmt: skip
        asked = await request(gql, service=service, environment=environment, name=name)
        assert asked["errors"] == []
    await provisioned(app)

    found = await gql(
        """{
          service(slug: "pay-api") { all: resources { name environment { slug } }
                                     staging: resources(environment: "staging") { name } }
          environment(slug: "staging") { resources(first: 1) { totalCount
            nodes { name service { slug } } pageInfo { hasNextPage endCursor } } }
          resourceClasses { totalCount nodes { slug type provider { kind capabilities } } }
          pay: resources(filter: {owner: "pay"}) { totalCount }
          ready: resources(filter: {states: [READY], class: "postgres"}) { totalCount }
          none: resources(filter: {service: "nope"}) { totalCount nodes { name } }
        }"""
    )
    assert found["service"]["all"] == [
        {"name": "db", "environment": {"slug": "prod"}},
        {"name": "db", "environment": {"slug": "staging"}},
    ] or found["service"]["all"] == [
        {"name": "db", "environment": {"slug": "staging"}},
        {"name": "db", "environment": {"slug": "prod"}},
    ]
    assert found["service"]["staging"] == [{"name": "db"}]
    staging = found["environment"]["resources"]
    assert staging["totalCount"] == 2
    assert staging["pageInfo"]["hasNextPage"] is True
    assert found["resourceClasses"]["nodes"][0]["provider"]["kind"] == "simulated"
    assert "PROVISION" in found["resourceClasses"]["nodes"][0]["provider"]["capabilities"]
    assert found["pay"]["totalCount"] == 2
    assert found["ready"]["totalCount"] == 3
    assert found["none"] == {"totalCount": 0, "nodes": []}
    unknown_owner = await gql.raw('{ resources(filter: {owner: "ghost"}) { totalCount } }')
    assert unknown_owner["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    too_many = await gql.raw("{ resources(first: 101) { totalCount } }")
    assert too_many["errors"][0]["extensions"]["code"] == "VALIDATION"
    forged_cursor = await gql.raw('{ resources(first: 1, after: "bm9wZQ==") { totalCount } }')
    assert forged_cursor["errors"][0]["extensions"]["code"] == "VALIDATION"


async def test_live_health_and_a_provider_that_cannot_answer(
    gql: GraphQLClient, pool: asyncpg.Pool, app: Starlette
) -> None:
    await seed(gql, pool)
    await environments(gql)
    await postgres_class(gql)
    nowhere = {
        "kind": "crossplane",
        "settings": {"apiVersion": "database.example.org/v1alpha1", "kind": "PostgreSQLInstance",
                     "namespace": "default", "apiUrl": "https://127.0.0.1:1",
                     "tokenEnv": "PAVED_SECRET_NO_SUCH_TOKEN"},
    }  # fmt: skip
    await postgres_class(gql, slug="cloud-db", provider=nowhere)
    ready_id = (await request(gql))["resource"]["id"]
    await provisioned(app)
    live = await gql(
        "query($id: ID!) { node(id: $id) { ... on Resource { live { healthy source } } } }",
        id=ready_id,
    )
    assert live["node"]["live"]["healthy"] is True
    cloud = await request(gql, **{"class": "cloud-db"}, name="cloud")
    assert cloud["errors"] == [], cloud
    answer = await gql.raw(
        "query($id: ID!) { node(id: $id) { ... on Resource { name live { healthy } } } }",
        {"id": cloud["resource"]["id"]},
    )
    assert answer["data"]["node"] == {"name": "cloud", "live": None}
    assert answer["errors"][0]["extensions"]["code"] == "PROVIDER_ERROR"
    assert answer["errors"][0]["path"] == ["node", "live"]


async def test_every_change_is_evented_and_audited(
    gql: GraphQLClient, pool: asyncpg.Pool, app: Starlette
) -> None:
    await seed(gql, pool)
    await environments(gql)
    await postgres_class(gql)
    resource_id = (await request(gql))["resource"]["id"]
    await provisioned(app)

    found = await gql(
        """{ events(filter: {types: [RESOURCE_REQUESTED, RESOURCE_STATE_CHANGED]}) {
               nodes { type data subject { id ... on Resource { name } } service { slug }
                       environment { slug } } } }"""
    )
    events = found["events"]["nodes"]
    assert [event["type"] for event in events] == [
        "RESOURCE_REQUESTED",
        *["RESOURCE_STATE_CHANGED"] * (len(events) - 1),
    ]
    assert events[-1]["data"]["to"] == "READY"
    assert {event["subject"]["id"] for event in events} == {resource_id}
    assert {event["service"]["slug"] for event in events} == {"pay-api"}
    newest = await pool.fetchrow(
        "SELECT outcome, targets FROM audit_events WHERE operation = 'requestResource' "
        "ORDER BY id DESC LIMIT 1"
    )
    assert newest is not None
    assert newest["outcome"] == "ACCEPTED"
    assert "Service:pay-api" in newest["targets"]


WIDE = """{ resources(first: 20) { totalCount nodes { name state parameters outputs
  class { slug provider { kind } } service { slug } environment { slug }
  history { state } approvals { decision } requestedBy { name } live { healthy source } } } }"""


async def test_statements_follow_the_query_not_the_rows_live_included(
    gql: GraphQLClient, pool: asyncpg.Pool, app: Starlette, statements: StatementLog
) -> None:
    await seed(gql, pool)
    await environments(gql)
    await postgres_class(gql)
    await request(gql, name="db0")
    await provisioned(app)
    with statements.capture() as one:
        assert len((await gql(WIDE))["resources"]["nodes"]) == 1
    for index in range(1, 6):
        service = "pay-api" if index % 2 else "web-api"
        asked = await request(gql, service=service, name=f"db{index}")
        assert asked["errors"] == []
    await provisioned(app)
    with statements.capture() as six:
        found = (await gql(WIDE))["resources"]["nodes"]
    assert len(found) == 6
    assert {node["live"]["healthy"] for node in found} == {True}
    assert len(six) == len(one)
