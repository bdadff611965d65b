"""`Query.events`: what changed, oldest first, resumable from any event's cursor, filtered,
and only what the reader may read."""

from __future__ import annotations

import base64
from typing import Any

import asyncpg
from starlette.applications import Starlette

from domain.access.model import Scope
from tests.support.access import seed, token
from tests.support.deployments import environments, settled
from tests.support.graphql import GraphQLClient

EVENTS = """
query($filter: EventFilter, $first: Int, $after: String) {
  events(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      id cursor type requestId data
      actor { name }
      subject { id ... on Service { slug } ... on Team { slug } ... on Environment { slug }
                ... on Deployment { number state } }
      service { slug } team { slug } environment { slug } deployment { number }
    }
  }
}
"""


async def events(gql: GraphQLClient, **variables: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (await gql(EVENTS, first=100, **variables))["events"]["nodes"]
    return found


async def test_each_accepted_change_has_its_event_with_what_changed(gql: GraphQLClient) -> None:
    await gql.mutate("createTeam", "team { slug }", slug="pay", name="Payments")
    await gql.mutate("createService", "service { slug }", slug="ledger", name="L", owner="pay")
    await gql.mutate("updateService", "service { slug }", service="ledger", name="Ledger", tier=1)

    found = await events(gql)
    assert [event["type"] for event in found] == [
        "TEAM_CREATED",
        "SERVICE_CREATED",
        "SERVICE_UPDATED",
    ]
    created, updated = found[1], found[2]
    assert created["data"]["slug"] == "ledger"
    assert created["data"]["owner"] == "pay"
    assert updated["data"] == {
        "name": {"old": "L", "new": "Ledger"},
        "tier": {"old": None, "new": 1},
    }
    assert updated["subject"]["slug"] == "ledger"
    assert updated["service"] == {"slug": "ledger"}
    assert updated["team"] == {"slug": "pay"}
    assert updated["actor"] == {"name": "local admin"}
    assert updated["requestId"]


async def test_refused_changes_leave_no_event(gql: GraphQLClient, pool: asyncpg.Pool) -> None:
    await gql.mutate("createTeam", "team { slug }", slug="pay", name="Payments")
    await gql.mutate("createService", "service { slug }", slug="ledger", name="L", owner="pay")
    before = await pool.fetchval("SELECT count(*) FROM events")

    invalid = await gql.mutate("updateService", "service { slug }", service="ledger", name="")
    stale = await gql.mutate(
        "updateService", "service { slug }", service="ledger", name="x", expectedVersion=7
    )
    blocked = await gql.mutate("deleteTeam", "deletedId", team="pay")
    half_done = await gql.mutate(
        "setServiceOwners", "service { slug }", service="ledger",
        owners=[{"team": "pay", "role": "PRIMARY"}, {"team": "nobody", "role": "CONTRIBUTOR"}],
    )  # fmt: skip
    for refused in (invalid, stale, blocked, half_done):
        assert refused["errors"], refused
    assert await pool.fetchval("SELECT count(*) FROM events") == before


async def test_a_deleted_subject_reads_as_null_and_the_data_keeps_what_it_was(
    gql: GraphQLClient,
) -> None:
    await gql.mutate("createTeam", "team { slug }", slug="pay", name="Payments")
    await gql.mutate("createService", "service { slug }", slug="ledger", name="L", owner="pay")
    await gql.mutate("deleteService", "deletedId", service="ledger")
    deleted = (await events(gql))[-1]
    assert deleted["type"] == "SERVICE_DELETED"
    assert deleted["subject"] is None
    assert deleted["service"] is None
    assert deleted["team"] == {"slug": "pay"}
    assert deleted["data"]["slug"] == "ledger"
    assert deleted["data"]["owners"] == [{"team": "pay", "role": "PRIMARY"}]


async def test_membership_ownership_and_dependencies(
    gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    await seed(gql, pool)
    await gql.mutate(
        "setServiceOwners", "service { slug }", service="pay-api",
        owners=[{"team": "web", "role": "PRIMARY"}, {"team": "pay", "role": "CONTRIBUTOR"}],
    )  # fmt: skip
    await gql.mutate(
        "addServiceDependency", "service { slug }", service="pay-api", dependsOn="web-api"
    )
    await gql.mutate(
        "removeServiceDependency", "service { slug }", service="pay-api", dependsOn="web-api"
    )
    await gql.mutate("removeTeamMember", "team { slug }", team="pay", user="ana")
    found = await events(gql)
    owned, added, removed, left = found[-4:]
    assert owned["type"] == "OWNERSHIP_CHANGED"
    assert owned["data"]["owners"] == {
        "old": [{"team": "pay", "role": "PRIMARY"}],
        "new": [{"team": "web", "role": "PRIMARY"}, {"team": "pay", "role": "CONTRIBUTOR"}],
    }
    assert owned["team"] == {"slug": "web"}
    assert (added["type"], added["data"]["dependsOn"]) == ("DEPENDENCY_ADDED", "web-api")
    assert removed["type"] == "DEPENDENCY_REMOVED"
    assert left["type"] == "MEMBERSHIP_CHANGED"
    assert left["data"] == {"team": "pay", "user": "ana", "change": "REMOVED"}
    assert [e["type"] for e in found].count("MEMBERSHIP_CHANGED") == 3


async def test_deployments_tell_their_way_to_success(
    gql: GraphQLClient, pool: asyncpg.Pool, app: Starlette
) -> None:
    await seed(gql, pool)
    await environments(gql, requiredApprovals=1, approverTeams=["pay"], preventSelfApproval=False)
    deployed = await gql.mutate(
        "deploy", "deployment { id }", service="pay-api", environment="staging", version="1.0"
    )
    assert deployed["errors"] == []
    await settled(app)
    found = await events(gql, filter={"environment": "staging"})
    assert [(e["type"], e["data"].get("from"), e["data"].get("to")) for e in found[1:]] == [
        ("DEPLOYMENT_CREATED", None, None),
        ("DEPLOYMENT_STATE_CHANGED", "QUEUED", "IN_PROGRESS"),
        ("DEPLOYMENT_STATE_CHANGED", "IN_PROGRESS", "SUCCEEDED"),
    ]
    assert found[-1]["subject"] == {
        "id": deployed["deployment"]["id"],
        "number": 1,
        "state": "SUCCEEDED",
    }
    assert found[-1]["actor"] is None  # the provider moved it, not a person
    assert found[-1]["service"] == {"slug": "pay-api"}
    assert found[-1]["team"] == {"slug": "pay"}

    waiting = await gql.mutate(
        "deploy", "deployment { id }", service="pay-api", environment="prod", version="1.0"
    )
    approved = await gql.mutate(
        "approveDeployment", "deployment { state }", deployment=waiting["deployment"]["id"]
    )
    assert approved["errors"] == [], approved
    await settled(app)
    types = [e["type"] for e in await events(gql, filter={"environment": "prod"})]
    assert types[1:5] == [
        "DEPLOYMENT_CREATED",
        "DEPLOYMENT_APPROVAL_REQUESTED",
        "DEPLOYMENT_APPROVED",
        "DEPLOYMENT_STATE_CHANGED",
    ]


async def test_freezing_an_environment(gql: GraphQLClient, pool: asyncpg.Pool) -> None:
    await environments(gql)
    frozen = await gql.mutate(
        "freezeEnvironment", "environment { slug }", environment="prod", reason="release week"
    )
    assert frozen["errors"] == [], frozen
    await gql.mutate("unfreezeEnvironment", "environment { slug }", environment="prod")
    found = await events(gql, filter={"types": ["ENVIRONMENT_FROZEN", "ENVIRONMENT_UNFROZEN"]})
    assert [(e["type"], e["data"]["reason"], e["subject"]["slug"]) for e in found] == [
        ("ENVIRONMENT_FROZEN", "release week", "prod"),
        ("ENVIRONMENT_UNFROZEN", None, "prod"),
    ]


async def test_provider_settings_changes_are_told_without_their_values(gql: GraphQLClient) -> None:
    await environments(gql)
    changed = await gql.mutate(
        "updateEnvironment", "environment { slug }", environment="staging",
        provider={"kind": "simulated", "settings": {"durationSeconds": 5}},
    )  # fmt: skip
    assert changed["errors"] == [], changed
    [event] = (await events(gql, filter={"types": ["ENVIRONMENT_UPDATED"]}))[-1:]
    assert event["data"] == {"providerSettings": {"changed": True}}


async def test_filters_and_resuming_after_a_cursor(gql: GraphQLClient, pool: asyncpg.Pool) -> None:
    await seed(gql, pool)
    everything = await events(gql)
    pay = await events(gql, filter={"team": "pay"})
    assert pay
    assert all(event["team"] == {"slug": "pay"} for event in pay)
    assert len(pay) < len(everything)
    services = await events(gql, filter={"service": "web-api"})
    assert [e["type"] for e in services] == ["SERVICE_CREATED"]

    first_page = (await gql(EVENTS, first=2))["events"]
    assert first_page["pageInfo"]["hasNextPage"] is True
    assert first_page["totalCount"] == len(everything)
    rest = await events(gql, after=first_page["pageInfo"]["endCursor"])
    assert [e["id"] for e in first_page["nodes"] + rest] == [e["id"] for e in everything]
    assert await events(gql, after=everything[-1]["cursor"]) == []
    # A cursor as made before migration 0017 (`event:<id>`) still resumes: it stands before
    # every event written since, which are all sent again, never missed.
    old = base64.urlsafe_b64encode(b"event:3").decode().rstrip("=")
    assert [e["id"] for e in await events(gql, after=old)] == [e["id"] for e in everything]

    later = await events(gql, filter={"since": "2999-01-01T00:00:00Z"})
    assert later == []


async def test_hostile_arguments_are_refused_before_any_sql(gql: GraphQLClient) -> None:
    for variables, code in (
        ({"after": "bm90LWEtY3Vyc29y"}, "VALIDATION"),
        ({"after": "x" * 10_000}, "VALIDATION"),
        ({"after": "ZXZlbnQ6OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5"}, "VALIDATION"),
        ({"first": 101}, "VALIDATION"),
        ({"first": -1}, "VALIDATION"),
        ({"filter": {"service": "nope"}}, "NOT_FOUND"),
        ({"filter": {"since": "2020-01-01T00:00:00"}}, "VALIDATION"),
    ):
        body = await gql.raw(EVENTS, variables)
        assert body["errors"][0]["extensions"]["code"] == code, (variables, body)


async def test_events_about_a_webhook_are_read_by_its_team_only(
    gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    store = await seed(gql, pool)
    pay_team = await pool.fetchval("SELECT id FROM teams WHERE slug = 'pay'")
    await pool.execute(
        "INSERT INTO events (type, subject_kind, subject_id, team_id, data) "
        "VALUES ('WEBHOOK_DISABLED', 'Webhook', 1, $1, '{\"reason\": \"410 Gone\"}')",
        pay_team,
    )
    ana = gql.with_token(await token(store, Scope.READ, user="ana"))
    bob = gql.with_token(await token(store, Scope.READ, user="bob"))
    root = gql.with_token(await token(store, Scope.READ, Scope.ADMIN, user="root"))
    wanted = {"types": ["WEBHOOK_DISABLED"]}
    assert len(await events(ana, filter=wanted)) == 1
    assert len(await events(root, filter=wanted)) == 1
    assert await events(bob, filter=wanted) == []
    assert (await bob(EVENTS, filter=wanted))["events"]["totalCount"] == 0
    catalog = await events(bob, filter={"types": ["SERVICE_CREATED"]})
    assert len(catalog) == 2


async def test_an_event_is_a_node(gql: GraphQLClient) -> None:
    await gql.mutate("createTeam", "team { slug }", slug="pay", name="Payments")
    [event] = await events(gql)
    found = await gql(
        "query($id: ID!) { node(id: $id) { id ... on Event { type } } }", id=event["id"]
    )
    assert found["node"] == {"id": event["id"], "type": "TEAM_CREATED"}


async def test_what_ci_records_and_reports_is_told_with_its_client_as_actor(
    gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    store = await seed(gql, pool)
    await environments(gql)
    await gql.mutate("createApiClient", "apiClient { slug }", slug="pay-ci", name="CI", team="pay")
    ci = gql.with_token(await token(store, Scope.READ, Scope.DEPLOY, client="pay-ci"))
    recorded = await ci.mutate(
        "recordDeployment", "deployment { id }", service="pay-api", environment="staging",
        version="9", state="IN_PROGRESS", externalId="run-1",
    )  # fmt: skip
    await ci.mutate(
        "reportDeploymentStatus", "deployment { id }", deployment=recorded["deployment"]["id"],
        state="SUCCEEDED", rawStatus="done",
    )  # fmt: skip
    told = await events(gql, filter={"environment": "staging", "types": [
        "DEPLOYMENT_CREATED", "DEPLOYMENT_STATE_CHANGED"]})  # fmt: skip
    assert [(e["type"], e["data"].get("to"), e["actor"]) for e in told] == [
        ("DEPLOYMENT_CREATED", None, {"name": "CI"}),
        ("DEPLOYMENT_STATE_CHANGED", "SUCCEEDED", {"name": "CI"}),
    ]
    assert told[0]["data"]["state"] == "IN_PROGRESS"


async def test_a_team_made_in_one_statement_is_told_and_recorded_as_in_a_transaction(
    gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    """Without an idempotency key a new team, its audit record and its event are one
    statement; with one, a transaction. Both leave the same event and the same record."""
    alone = await gql.mutate(
        "createTeam", "team { id }", slug="told-alone", name="A", description="d"
    )
    keyed = await gql.mutate(
        "createTeam",
        "team { id }",
        slug="told-keyed",
        name="A",
        description="d",
        idempotencyKey="one-or-more-statements",
    )
    assert alone["errors"] == keyed["errors"] == []
    told = {event["subject"]["slug"]: event for event in await events(gql)}
    for slug in ("told-alone", "told-keyed"):
        assert told[slug]["type"] == "TEAM_CREATED"
        assert told[slug]["data"] == {
            "slug": slug, "name": "A", "description": "d", "parentId": None,
        }  # fmt: skip
        assert told[slug]["team"] == {"slug": slug}
        assert told[slug]["actor"] == {"name": "local admin"}
        assert told[slug]["requestId"]
    stored = await pool.fetch(
        "SELECT e.subject_id, e.team_id, t.id FROM events e JOIN teams t ON t.slug = e.data->>'slug'"
    )
    assert [(row["subject_id"], row["team_id"]) for row in stored] == [
        (row["id"], row["id"]) for row in stored
    ]
    recorded = await pool.fetch(
        "SELECT operation, targets, outcome, input - 'slug' - 'idempotencyKey' AS input, "
        "idempotency_key FROM audit_events "
        "WHERE targets && ARRAY['Team:told-alone', 'Team:told-keyed'] ORDER BY id"
    )
    assert [(r["operation"], r["targets"], r["outcome"]) for r in recorded] == [
        ("createTeam", ["Team:told-alone"], "ACCEPTED"),
        ("createTeam", ["Team:told-keyed"], "ACCEPTED"),
    ]
    assert recorded[0]["input"] == recorded[1]["input"]
    assert [r["idempotency_key"] for r in recorded] == [None, "one-or-more-statements"]


async def test_a_team_taken_in_one_statement_leaves_one_refusal_and_no_event(
    gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    await gql.mutate("createTeam", "team { slug }", slug="told-taken", name="Payments")
    again = await gql.mutate("createTeam", "team { slug }", slug="told-taken", name="Again")
    assert [(e["code"], e["path"]) for e in again["errors"]] == [("CONFLICT", ["input", "slug"])]
    assert [event["type"] for event in await events(gql)] == ["TEAM_CREATED"]
    outcomes = await pool.fetch(
        "SELECT outcome, error_codes FROM audit_events WHERE targets = ARRAY['Team:told-taken'] "
        "ORDER BY id"
    )
    assert [(r["outcome"], r["error_codes"]) for r in outcomes] == [
        ("ACCEPTED", []),
        ("INVALID", ["CONFLICT"]),
    ]
    assert await pool.fetchval("SELECT count(*) FROM teams WHERE slug = 'told-taken'") == 1


async def test_a_service_made_in_one_statement_is_told_as_in_a_transaction(
    gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    await gql.mutate("createTeam", "team { slug }", slug="pay", name="Payments")
    described = {
        "name": "Ledger", "owner": "pay", "description": "money", "lifecycle": "PRODUCTION",
        "tier": 1, "tags": ["b", "a", "b-2"], "repositoryUrl": "https://git.example.com/l",
        "system": "payments",
        "links": [{"title": "Runbook", "url": "https://wiki.example.com/r"}],
    }  # fmt: skip
    alone = await gql.mutate("createService", "service { id }", slug="told-alone", **described)
    keyed = await gql.mutate(
        "createService",
        "service { id }",
        slug="told-keyed",
        idempotencyKey="one-service",
        **described,
    )
    assert alone["errors"] == keyed["errors"] == []
    told = {
        event["subject"]["slug"]: event
        for event in await events(gql, filter={"types": ["SERVICE_CREATED"]})
    }
    assert told["told-alone"]["data"] == {**told["told-keyed"]["data"], "slug": "told-alone"}
    assert told["told-alone"]["data"]["links"] == [
        {"title": "Runbook", "url": "https://wiki.example.com/r"}
    ]
    for slug in ("told-alone", "told-keyed"):
        assert told[slug]["service"] == {"slug": slug}
        assert told[slug]["team"] == {"slug": "pay"}
    missing = await gql.mutate("createService", "service { id }", slug="told-lost", name="L",
                               owner="nobody")  # fmt: skip
    assert [e["code"] for e in missing["errors"]] == ["NOT_FOUND"]
    recorded = await pool.fetch(
        "SELECT outcome FROM audit_events WHERE targets @> ARRAY['Service:told-lost'] ORDER BY id"
    )
    assert [row["outcome"] for row in recorded] == ["INVALID"]
    assert await pool.fetchval("SELECT count(*) FROM events WHERE data->>'slug' = 'told-lost'") == 0
