"""Deploy, promote, roll back, cancel, approve, record and report through the API, with the
simulated provider doing the rollouts in the app's own runner."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import httpx2 as httpx
import pytest
from starlette.applications import Starlette

from domain.access.model import Scope
from tests.support.access import seed, token
from tests.support.deployer_fakes.receiver import running_receiver
from tests.support.deployments import environments, settled
from tests.support.graphql import GraphQLClient

DEPLOYMENT = "deployment { id number version state kind promotedFrom { id } rollbackOf { id } }"


async def state_of(gql: GraphQLClient, deployment_id: str) -> str:
    data = await gql(
        "query($id: ID!) { node(id: $id) { ... on Deployment { state } } }", id=deployment_id
    )
    state: str = data["node"]["state"]
    return state


async def test_deploy_runs_through_the_provider_to_success(
    gql: GraphQLClient, pool: asyncpg.Pool, app: Starlette
) -> None:
    await seed(gql, pool)
    await environments(gql)
    deployed = await gql.mutate(
        "deploy", DEPLOYMENT, service="pay-api", environment="staging", version="1.0.0"
    )
    assert deployed["errors"] == []
    assert deployed["deployment"]["state"] == "QUEUED"
    await settled(app)
    assert await state_of(gql, deployed["deployment"]["id"]) == "SUCCEEDED"
    history = await gql(
        "query($id: ID!) { node(id: $id) { ... on Deployment { history { state } } } }",
        id=deployed["deployment"]["id"],
    )
    assert [event["state"] for event in history["node"]["history"]] == [
        "QUEUED", "IN_PROGRESS", "SUCCEEDED",
    ]  # fmt: skip


async def test_one_unfinished_deployment_at_a_time(gql: GraphQLClient, pool: asyncpg.Pool) -> None:
    await seed(gql, pool)
    await environments(gql)
    first = await gql.mutate(
        "deploy", DEPLOYMENT, service="pay-api", environment="slow", version="1"
    )
    assert first["errors"] == []
    second = await gql.mutate(
        "deploy", DEPLOYMENT, service="pay-api", environment="slow", version="2"
    )
    assert [e["code"] for e in second["errors"]] == ["CONFLICT"]
    canceled = await gql.mutate(
        "cancelDeployment", DEPLOYMENT, deployment=first["deployment"]["id"]
    )
    assert canceled["errors"] == [], canceled
    assert canceled["deployment"]["state"] == "CANCELED"


async def test_promote_with_a_dry_run_then_for_real(
    gql: GraphQLClient, pool: asyncpg.Pool, app: Starlette
) -> None:
    await seed(gql, pool)
    await environments(gql)
    await gql.mutate("deploy", DEPLOYMENT, service="pay-api", environment="staging", version="2.0")
    await settled(app)
    plan_fields = f"{DEPLOYMENT} plan {{ fromVersion toVersion requiredApprovals frozen }}"
    dry = await gql.mutate(
        "promote", plan_fields, service="pay-api", fromEnvironment="staging", toEnvironment="prod",
        dryRun=True,
    )  # fmt: skip
    assert dry["errors"] == []
    assert dry["deployment"] is None
    assert dry["plan"] == {
        "fromVersion": None,
        "toVersion": "2.0",
        "requiredApprovals": 0,
        "frozen": False,
    }
    real = await gql.mutate(
        "promote", plan_fields, service="pay-api", fromEnvironment="staging", toEnvironment="prod"
    )
    assert real["errors"] == []
    assert real["deployment"]["kind"] == "PROMOTION"
    assert real["deployment"]["version"] == "2.0"
    assert real["deployment"]["promotedFrom"]["id"]
    nothing = await gql.mutate(
        "promote", plan_fields, service="web-api", fromEnvironment="staging", toEnvironment="prod"
    )
    assert [e["code"] for e in nothing["errors"]] == ["PRECONDITION_FAILED"]


async def test_rollback_redeploys_the_previous_version(
    gql: GraphQLClient, pool: asyncpg.Pool, app: Starlette
) -> None:
    await seed(gql, pool)
    await environments(gql)
    shipped = []
    for version in ("1.0", "2.0"):
        done = await gql.mutate(
            "deploy", DEPLOYMENT, service="pay-api", environment="prod", version=version
        )
        shipped.append(done["deployment"]["id"])
        await settled(app)
    rolled = await gql.mutate(
        "rollback",
        DEPLOYMENT.replace("rollbackOf { id }", "rollbackOf { id } rollbackTo { id }"),
        service="pay-api",
        environment="prod",
    )
    assert rolled["errors"] == [], rolled
    assert rolled["deployment"]["kind"] == "ROLLBACK"
    assert rolled["deployment"]["version"] == "1.0"
    # It replaces 2.0 and returns to 1.0.
    assert rolled["deployment"]["rollbackOf"] == {"id": shipped[1]}
    assert rolled["deployment"]["rollbackTo"] == {"id": shipped[0]}
    await settled(app)
    current = await gql(
        '{ service(slug: "pay-api") { currentDeployment(environment: "prod") '
        "{ version rollbackOf { state } rollbackTo { version } } } }"
    )
    assert current["service"]["currentDeployment"] == {
        "version": "1.0",
        "rollbackOf": {"state": "ROLLED_BACK"},
        "rollbackTo": {"version": "1.0"},
    }


async def test_frozen_environments_refuse_with_the_reason(
    gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    await seed(gql, pool)
    await environments(gql)
    frozen = await gql.mutate("freezeEnvironment", "environment { slug protection { frozen freezeReason } }",
                              environment="prod", reason="holiday freeze")  # fmt: skip
    assert frozen["environment"]["protection"] == {"frozen": True, "freezeReason": "holiday freeze"}
    refused = await gql.mutate(
        "deploy", DEPLOYMENT, service="pay-api", environment="prod", version="1"
    )
    assert [e["code"] for e in refused["errors"]] == ["PRECONDITION_FAILED"]
    assert "holiday freeze" in refused["errors"][0]["message"]
    thawed = await gql.mutate(
        "unfreezeEnvironment", "environment { protection { frozen } }", environment="prod"
    )
    assert thawed["environment"]["protection"]["frozen"] is False


async def test_protected_environments_wait_for_approval(
    gql: GraphQLClient, pool: asyncpg.Pool, app: Starlette
) -> None:
    store = await seed(gql, pool)
    await environments(gql, requiredApprovals=1, approverTeams=["web"])
    ana = gql.with_token(await token(store, Scope.READ, Scope.DEPLOY, Scope.APPROVE, user="ana"))
    bob = gql.with_token(await token(store, Scope.READ, Scope.APPROVE, user="bob"))
    deployed = await ana.mutate(
        "deploy", DEPLOYMENT, service="pay-api", environment="prod", version="3"
    )
    assert deployed["deployment"]["state"] == "WAITING_APPROVAL"
    deployment_id = deployed["deployment"]["id"]
    bob_reader = gql.with_token(await token(store, Scope.READ, user="bob"))
    may = "query($id: ID!) { node(id: $id) { ... on Deployment { viewerCanApprove } } }"

    async def can(client: GraphQLClient) -> bool:
        found: bool = (await client(may, id=deployment_id))["node"]["viewerCanApprove"]
        return found

    # The hint follows the rules the mutation applies.
    assert [await can(ana), await can(bob), await can(bob_reader), await can(gql)] == [
        False, True, False, True,
    ]  # fmt: skip
    not_an_approver = await ana.mutate("approveDeployment", DEPLOYMENT, deployment=deployment_id)
    assert [e["code"] for e in not_an_approver["errors"]] == ["FORBIDDEN"]
    approved = await bob.mutate(
        "approveDeployment", DEPLOYMENT, deployment=deployment_id, comment="ok"
    )
    assert approved["errors"] == [], approved
    assert await can(bob) is False, "decided already, and no longer waiting"
    await settled(app)
    assert await state_of(gql, deployment_id) == "SUCCEEDED"


async def test_only_owner_team_members_deploy(gql: GraphQLClient, pool: asyncpg.Pool) -> None:
    store = await seed(gql, pool)
    await environments(gql)
    bob = gql.with_token(await token(store, Scope.READ, Scope.DEPLOY, user="bob"))
    refused = await bob.mutate(
        "deploy", DEPLOYMENT, service="pay-api", environment="staging", version="1"
    )
    assert [e["code"] for e in refused["errors"]] == ["FORBIDDEN"]
    no_scope = gql.with_token(await token(store, Scope.READ, Scope.WRITE, user="ana"))
    refused = await no_scope.mutate(
        "deploy", DEPLOYMENT, service="pay-api", environment="staging", version="1"
    )
    assert [e["code"] for e in refused["errors"]] == ["FORBIDDEN"]


async def test_ci_records_and_reports_deployments(gql: GraphQLClient, pool: asyncpg.Pool) -> None:
    store = await seed(gql, pool)
    await environments(gql)
    await gql.mutate("createApiClient", "apiClient { slug }", slug="pay-ci", name="CI", team="pay")
    ci = gql.with_token(await token(store, Scope.READ, Scope.DEPLOY, client="pay-ci"))
    recorded = await ci.mutate(
        "recordDeployment", DEPLOYMENT, service="pay-api", environment="staging", version="9",
        state="IN_PROGRESS", externalId="run-1",
    )  # fmt: skip
    assert recorded["errors"] == [], recorded
    assert recorded["deployment"]["kind"] == "RECORDED"
    reported = await ci.mutate(
        "reportDeploymentStatus", DEPLOYMENT, deployment=recorded["deployment"]["id"],
        state="SUCCEEDED", rawStatus="done",
    )  # fmt: skip
    assert reported["deployment"]["state"] == "SUCCEEDED"
    ana = gql.with_token(await token(store, Scope.READ, Scope.DEPLOY, user="ana"))
    people_do_not_report = await ana.mutate(
        "recordDeployment", DEPLOYMENT, service="pay-api", environment="staging", version="10",
        state="SUCCEEDED",
    )  # fmt: skip
    assert [e["code"] for e in people_do_not_report["errors"]] == ["FORBIDDEN"]


async def test_idempotent_deploys_return_the_first_result(
    gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    await seed(gql, pool)
    await environments(gql)
    key = uuid.uuid4().hex
    replies = await asyncio.gather(
        *(
            gql.mutate(
                "deploy",
                DEPLOYMENT,
                service="pay-api",
                environment="slow",
                version="1",
                idempotencyKey=key,
            )
            for _ in range(10)
        )
    )
    assert {reply["deployment"]["id"] for reply in replies} == {replies[0]["deployment"]["id"]}
    changed = await gql.mutate(
        "deploy", DEPLOYMENT, service="pay-api", environment="slow", version="2", idempotencyKey=key
    )
    assert [e["code"] for e in changed["errors"]] == ["CONFLICT"]


async def test_every_deployment_mutation_is_audited_once(
    gql: GraphQLClient, pool: asyncpg.Pool, client: httpx.AsyncClient
) -> None:
    await seed(gql, pool)
    await environments(gql)
    attempts = [
        ("deploy", {"service": "pay-api", "environment": "slow", "version": "1"}, "ACCEPTED"),
        ("deploy", {"service": "pay-api", "environment": "slow", "version": "2"}, "INVALID"),
        ("deploy", {"service": "ghost", "environment": "slow", "version": "1"}, "INVALID"),
    ]
    for name, data, outcome in attempts:
        request_id = uuid.uuid4().hex
        await client.post(
            "/graphql",
            json={
                "query": "mutation($i: DeployInput!) { deploy(input: $i) { errors { code } } }",
                "variables": {"i": data},
            },
            headers={"X-Request-Id": request_id},
        )
        rows = await pool.fetch(
            "SELECT operation, outcome FROM audit_events WHERE request_id = $1", request_id
        )
        assert [(row["operation"], row["outcome"]) for row in rows] == [(name, outcome)]


@pytest.mark.parametrize(
    ("provider", "path"),
    [
        ({"kind": "nope"}, ["input", "provider", "kind"]),
        (
            {"kind": "simulated", "settings": {"durationSeconds": -1}},
            ["input", "provider", "settings", "durationSeconds"],
        ),
        (
            {"kind": "webhook", "settings": {"url": "ftp://x"}},
            ["input", "provider", "settings", "url"],
        ),
    ],
)
async def test_bad_provider_settings_are_refused_and_nothing_is_created(
    gql: GraphQLClient, pool: asyncpg.Pool, provider: dict[str, Any], path: list[str]
) -> None:
    refused = await gql.mutate(
        "createEnvironment",
        "environment { slug }",
        slug="x",
        name="x",
        tier="OTHER",
        provider=provider,
    )
    assert [(e["code"], e["path"]) for e in refused["errors"]] == [("VALIDATION", path)]
    assert await pool.fetchval("SELECT count(*) FROM environments") == 0


async def test_a_webhook_rollout_ends_with_the_receivers_report(
    gql: GraphQLClient, pool: asyncpg.Pool, app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A webhook rollout progresses only through reportDeploymentStatus; the runner following
    it stops once a report finishes it."""
    store = await seed(gql, pool)
    monkeypatch.setenv("PAVED_SECRET_TEST_WEBHOOK", "whsec_test")
    with running_receiver("whsec_test") as receiver:
        provider = {
            "kind": "webhook",
            "settings": {"url": f"{receiver.url}/deploy", "secretEnv": "PAVED_SECRET_TEST_WEBHOOK"},
        }
        created = await gql.mutate(
            "createEnvironment", "environment { slug }", slug="hook", name="hook", tier="OTHER",
            provider=provider,
        )  # fmt: skip
        assert created["errors"] == []
        deployed = await gql.mutate(
            "deploy", DEPLOYMENT, service="pay-api", environment="hook", version="5"
        )
        deployment_id = deployed["deployment"]["id"]
        # The deployment keeps the provider's settings it was made with: names, never secrets.
        kept = await pool.fetchrow(
            "SELECT provider, provider_settings, to_jsonb(d)::text AS everything "
            "FROM deployments d WHERE version = '5'"
        )
        assert kept is not None
        assert (kept["provider"], kept["provider_settings"]) == ("webhook", provider["settings"])
        assert "whsec_test" not in kept["everything"]
        for _ in range(100):
            if receiver.requests:
                break
            await asyncio.sleep(0.02)
        assert receiver.requests, "the runner never called the receiver"
        await gql.mutate(
            "createApiClient", "apiClient { slug }", slug="pay-ci", name="CI", team="pay"
        )
        ci = gql.with_token(await token(store, Scope.READ, Scope.DEPLOY, client="pay-ci"))
        for state in ("IN_PROGRESS", "SUCCEEDED"):
            reported = await ci.mutate(
                "reportDeploymentStatus", DEPLOYMENT, deployment=deployment_id, state=state
            )
            assert reported["errors"] == [], reported
        await settled(app)
    assert await state_of(gql, deployment_id) == "SUCCEEDED"
