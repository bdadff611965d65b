"""Agents at work through `/mcp` (the SDK's client, the app served on a socket, real
PostgreSQL): a protected production deployment approved by another team's agent, rolled back,
then a freeze that stops the next one; the release matrix and the metrics; resource classes,
a resource requested (dry run first) and a service made from a template."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx2 as httpx
import pytest

from api.bootstrap import Overrides
from domain.access.model import Scope
from domain.events.model import ORIGIN
from providers.postgres.access_store import PostgresAccessStore
from tests.support.access import seed, token
from tests.support.deployments import environments, settled
from tests.support.graphql import GraphQLClient
from tests.support.mcp import agent, error_text, mcp_url, result_of
from tests.support.resources import postgres_class, provisioned
from tests.support.served import Served, served_app, served_settings
from tests.support.statements import StatementLog


@pytest.fixture(scope="module")
async def served(migrated_url: str, statements: StatementLog) -> AsyncIterator[Served]:
    async with served_app(
        served_settings(migrated_url), Overrides(query_logger=statements.record)
    ) as served:
        yield served


@pytest.fixture
async def server(served: Served, pool: asyncpg.Pool) -> Served:
    await served.container.rollouts.forget_everything()
    await served.container.provisioning.forget_everything()
    served.container.feed.position = ORIGIN
    return served


@pytest.fixture
async def gql(server: Served) -> AsyncIterator[GraphQLClient]:
    """The local admin (development mode, no credential) over /graphql."""
    async with httpx.AsyncClient(base_url=server.url.removesuffix("/graphql")) as http:
        yield GraphQLClient(http)


@pytest.fixture
async def store(gql: GraphQLClient, pool: asyncpg.Pool) -> PostgresAccessStore:
    """Teams pay and web owning pay-api and web-api, ana in pay and bob in web."""
    return await seed(gql, pool)


async def test_approve_rollback_and_freeze_in_production(
    server: Served, store: PostgresAccessStore, gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    await environments(gql, requiredApprovals=1, approverTeams=["web"])
    ana = await token(store, Scope.READ, Scope.DEPLOY, user="ana")
    bob = await token(store, Scope.READ, Scope.APPROVE, user="bob")
    url = mcp_url(server)
    for version in ("v1", "v2"):
        async with agent(url, ana) as deployer:
            asked = result_of(
                await deployer.call_tool(
                    "deploy", {"service": "pay-api", "environment": "prod", "version": version}
                )
            )
        waiting = asked["deployment"]
        assert waiting["state"] == "WAITING_APPROVAL"
        async with agent(url, ana) as deployer:
            own = await deployer.call_tool("approve_deployment", {"deployment": waiting["id"]})
        assert error_text(own).startswith("FORBIDDEN: ")
        async with agent(url, bob) as approver:
            approved = result_of(
                await approver.call_tool(
                    "approve_deployment", {"deployment": waiting["id"], "comment": "ok"}
                )
            )
        assert approved["deployment"]["approvals"] == [{"decision": "APPROVED", "comment": "ok"}]
        await settled(server.app)

    async with agent(url, ana) as deployer:
        rolled = result_of(
            await deployer.call_tool("rollback", {"service": "pay-api", "environment": "prod"})
        )
        assert rolled["deployment"]["kind"] == "ROLLBACK"
        assert rolled["deployment"]["version"] == "v1"
        matrix = result_of(
            await deployer.call_tool("what_runs_where", {"environments": ["prod", "staging"]})
        )
        assert [row["service"]["slug"] for row in matrix["nodes"]] == ["pay-api", "web-api"]
        pay = matrix["nodes"][0]["cells"]
        assert [cell["environment"]["slug"] for cell in pay] == ["prod", "staging"]
        assert pay[0]["current"]["version"] == "v2"
        metrics = result_of(
            await deployer.call_tool(
                "deployment_metrics", {"environment": "prod", "service": "pay-api", "days": 7}
            )
        )
        assert metrics["deployments"] == 3
        assert metrics["succeeded"] == 2

        # Freezing takes an admin: ana's agent is refused, the local admin's is not.
        refused = await deployer.call_tool(
            "freeze_environment", {"environment": "prod", "reason": "incident"}
        )
        assert error_text(refused).startswith("FORBIDDEN: ")
    async with agent(url) as admin:
        frozen = result_of(
            await admin.call_tool(
                "freeze_environment", {"environment": "prod", "reason": "incident"}
            )
        )
    assert frozen["environment"]["protection"] == {"frozen": True, "freezeReason": "incident"}
    before = int(await pool.fetchval("SELECT count(*) FROM deployments"))
    async with agent(url, ana) as deployer:
        stopped = await deployer.call_tool(
            "deploy", {"service": "pay-api", "environment": "prod", "version": "v3"}
        )
    assert error_text(stopped).startswith("PRECONDITION_FAILED: ")
    assert int(await pool.fetchval("SELECT count(*) FROM deployments")) == before


async def test_resources_and_a_service_from_a_template(
    server: Served, store: PostgresAccessStore, gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    await environments(gql)
    await postgres_class(gql)
    template = await gql.mutate(
        "createTemplate", "template { slug }", slug="python-http", name="Python HTTP",
        service={"lifecycle": "PRODUCTION", "tags": ["python"]}, environments=["staging"],
        resources=[{"class": "postgres", "name": "db", "parameters": {"size": "M"}}],
        firstVersion="1.0.0", parametersSchema={"type": "object"},
    )  # fmt: skip
    assert template["errors"] == [], template
    ana = await token(store, Scope.READ, Scope.WRITE, user="ana")
    async with agent(mcp_url(server), ana) as client:
        classes = result_of(await client.call_tool("list_resource_classes", {}))
        assert [node["slug"] for node in classes["nodes"]] == ["postgres"]
        assert classes["nodes"][0]["parametersSchema"]["required"] == ["size", "version"]

        asked = {
            "service": "pay-api",
            "environment": "staging",
            "resource_class": "postgres",
            "name": "db",
            "parameters": {"size": "L"},
        }
        planned = result_of(await client.call_tool("request_resource", {**asked, "dry_run": True}))
        assert planned["resource"] is None
        assert planned["plan"]["parameters"] == {"size": "L", "version": 16}
        assert await pool.fetchval("SELECT count(*) FROM resources") == 0
        requested = result_of(await client.call_tool("request_resource", asked))
        assert requested["resource"]["class"] == {"slug": "postgres"}
        assert await pool.fetchval("SELECT count(*) FROM resources") == 1
        wrong = await client.call_tool(
            "request_resource", {**asked, "name": "db2", "parameters": {"size": "XXL"}}
        )
        assert error_text(wrong).startswith("VALIDATION: ")

        templates = result_of(await client.call_tool("list_templates", {}))
        assert [node["slug"] for node in templates["nodes"]] == ["python-http"]
        arguments = {"template": "python-http", "slug": "orders", "owner": "pay"}
        plan = result_of(
            await client.call_tool("create_service_from_template", {**arguments, "dry_run": True})
        )
        assert plan["service"] is None
        assert plan["plan"]["actions"]
        made = result_of(await client.call_tool("create_service_from_template", arguments))
        assert made["service"] == {"slug": "orders", "name": "orders", "owner": {"slug": "pay"}}
        assert [resource["name"] for resource in made["resources"]] == ["db"]
    await provisioned(server.app)
    await settled(server.app)
    channels = await pool.fetch(
        "SELECT DISTINCT channel FROM audit_events "
        "WHERE operation IN ('requestResource', 'createServiceFromTemplate') AND id > "
        "(SELECT max(id) FROM audit_events WHERE operation = 'createTemplate')"
    )
    assert [row["channel"] for row in channels] == ["mcp"]
