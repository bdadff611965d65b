"""`/mcp` driven by the `mcp` SDK's own client over streamable HTTP, against the app served on a
socket over a real PostgreSQL: tools and their annotations, reads, acting with and without
the scope it needs, the audit record's channel, promote's dry run, the service resource,
production's refusal of anonymous agents (and its OIDC JWTs), the rate limit, the Host guard,
and hostile arguments."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx2 as httpx
import pytest
from mcp.shared.exceptions import MCPError
from mcp_types import TextResourceContents

from api.bootstrap import Overrides
from api.graphql_http import GraphQLEndpoint
from api.mcp_tools import MCP_MUTATIONS, TOOLS
from domain.access.model import Scope
from domain.events.model import ORIGIN
from providers.postgres.access_store import PostgresAccessStore
from tests.support.access import seed, token
from tests.support.deployments import environments, settled
from tests.support.graphql import GraphQLClient
from tests.support.mcp import agent, error_text, mcp_url, result_of
from tests.support.oidc import IdentityProvider, SigningKey
from tests.support.served import Served, served_app, served_settings
from tests.support.statements import StatementLog

READ_ONLY = {
    "search_services",
    "get_service",
    "who_owns",
    "what_runs_where",
    "deployment_history",
    "compare_environments",
    "deployment_metrics",
    "list_resource_classes",
    "list_templates",
}
DESTRUCTIVE = {"deploy", "promote", "rollback", "approve_deployment", "freeze_environment"}
LIST_TOOLS = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
ACCEPT = {"Accept": "application/json, text/event-stream"}


@pytest.fixture(scope="module")
async def served(migrated_url: str, statements: StatementLog) -> AsyncIterator[Served]:
    # No background sweep: the statements a test captures are its requests' own.
    overrides = Overrides(
        query_logger=statements.record,
        rollout_sweep_seconds=3600,
        provisioning_sweep_seconds=3600,
        rollout_takeover_notices=False,
    )
    async with served_app(served_settings(migrated_url), overrides) as served:
        yield served


@pytest.fixture
async def server(served: Served, pool: asyncpg.Pool) -> Served:
    """The served app over an empty catalog (ids start again at 1)."""
    await served.container.rollouts.forget_everything()
    served.container.feed.position = ORIGIN
    return served


@pytest.fixture
async def gql(server: Served) -> AsyncIterator[GraphQLClient]:
    """The local admin (development mode, no credential) over /graphql."""
    async with httpx.AsyncClient(base_url=server.url.removesuffix("/graphql")) as http:
        yield GraphQLClient(http)


@pytest.fixture
async def store(gql: GraphQLClient, pool: asyncpg.Pool) -> PostgresAccessStore:
    """Teams pay and web owning pay-api and web-api, ana in pay; staging and prod."""
    created = await seed(gql, pool)
    await environments(gql)
    return created


async def deployment_count(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM deployments"))


async def last_audit_id(pool: asyncpg.Pool) -> int:
    """The audit log outlives each test's catalog: what a test wrote comes after this."""
    return int(await pool.fetchval("SELECT coalesce(max(id), 0) FROM audit_events"))


# --- listing ------------------------------------------------------------------------------------


async def test_tools_are_listed_with_schemas_and_annotations(server: Served) -> None:
    async with agent(mcp_url(server)) as client:
        listed = (await client.list_tools()).tools
    assert [tool.name for tool in listed] == [tool.name for tool in TOOLS]
    by_name = {tool.name: tool for tool in listed}
    assert set(by_name) >= READ_ONLY | DESTRUCTIVE
    for name, tool in by_name.items():
        assert tool.input_schema["type"] == "object", name
        assert tool.input_schema.get("additionalProperties") is False, name
        assert tool.annotations is not None
        assert tool.annotations.read_only_hint is (name in READ_ONLY), name
        if name in DESTRUCTIVE:
            assert tool.annotations.destructive_hint is True, name
            assert "production" in (tool.description or ""), name
    search = by_name["search_services"].input_schema["properties"]
    assert set(search) == {"query", "owner", "first"}
    assert search["first"]["maximum"] == 100
    deploy = by_name["deploy"].input_schema
    assert set(deploy["required"]) == {"service", "environment", "version"}
    promote = by_name["promote"].input_schema["properties"]
    assert promote["confirm"]["default"] is False
    assert {
        "deploy",
        "promote",
        "rollback",
        "approveDeployment",
        "freezeEnvironment",
        "requestResource",
        "createServiceFromTemplate",
    } <= MCP_MUTATIONS


# --- reading ------------------------------------------------------------------------------------


async def test_read_tools_answer_through_the_graph(
    server: Served, store: PostgresAccessStore, gql: GraphQLClient
) -> None:
    reader = await token(store, Scope.READ, user="bob")
    endpoint: GraphQLEndpoint = server.app.state.graphql
    fast_before = endpoint.fast_answers
    async with agent(mcp_url(server), reader) as client:
        found = result_of(await client.call_tool("search_services", {"query": "pay"}))
        assert endpoint.fast_answers == fast_before + 1  # the graph reader answered it
        assert found["totalCount"] == 1
        assert found["nodes"][0]["slug"] == "pay-api"
        assert found["nodes"][0]["owner"] == {"slug": "pay"}
        owned = result_of(await client.call_tool("search_services", {"owner": "web"}))
        assert [node["slug"] for node in owned["nodes"]] == ["web-api"]

        service = result_of(await client.call_tool("get_service", {"service": "pay-api"}))
        assert service["slug"] == "pay-api"
        assert service["owners"] == [{"role": "PRIMARY", "team": {"slug": "pay", "name": "pay"}}]
        assert {cell["environment"]["slug"] for cell in service["environments"]} >= {
            "staging",
            "prod",
        }

        owners = result_of(await client.call_tool("who_owns", {"service": "pay-api"}))
        members = owners["owners"][0]["team"]["members"]["nodes"]
        assert [member["handle"] for member in members] == ["ana"]

        missing = await client.call_tool("get_service", {"service": "nope"})
        assert error_text(missing) == "NOT_FOUND: no service `nope`"


async def test_the_service_resource_reads_as_a_document(
    server: Served, store: PostgresAccessStore
) -> None:
    reader = await token(store, Scope.READ, user="bob")
    async with agent(mcp_url(server), reader) as client:
        templates = (await client.list_resource_templates()).resource_templates
        assert [template.uri_template for template in templates] == ["paved://service/{slug}"]
        listed = (await client.list_resources()).resources
        assert [str(resource.uri) for resource in listed] == [
            "paved://service/pay-api",
            "paved://service/web-api",
        ]
        read = await client.read_resource("paved://service/web-api")
    [contents] = read.contents
    assert isinstance(contents, TextResourceContents)
    assert contents.mime_type == "application/json"
    document = json.loads(contents.text)
    assert document["slug"] == "web-api"
    assert document["owners"][0]["team"]["slug"] == "web"


# --- acting -------------------------------------------------------------------------------------


async def test_deploy_without_the_deploy_scope_is_a_forbidden_tool_error(
    server: Served, store: PostgresAccessStore, pool: asyncpg.Pool
) -> None:
    writer = await token(store, Scope.READ, Scope.WRITE, user="ana")
    before = await last_audit_id(pool)
    async with agent(mcp_url(server), writer) as client:
        refused = await client.call_tool(
            "deploy", {"service": "pay-api", "environment": "staging", "version": "v1"}
        )
    assert error_text(refused).startswith("FORBIDDEN: ")
    assert refused.structured_content is not None
    assert refused.structured_content["errors"][0]["code"] == "FORBIDDEN"
    assert await deployment_count(pool) == 0
    denied = await pool.fetchrow(
        "SELECT outcome, channel FROM audit_events WHERE operation = 'deploy' AND id > $1",
        before,
    )
    assert denied is not None
    assert (denied["outcome"], denied["channel"]) == ("DENIED", "mcp")


async def test_deploy_with_the_scope_deploys_and_is_audited_as_mcp(
    server: Served, store: PostgresAccessStore, pool: asyncpg.Pool, gql: GraphQLClient
) -> None:
    deployer = await token(store, Scope.READ, Scope.DEPLOY, user="ana")
    before = await last_audit_id(pool)
    async with agent(mcp_url(server), deployer) as client:
        deployed = result_of(
            await client.call_tool(
                "deploy", {"service": "pay-api", "environment": "staging", "version": "v1"}
            )
        )
    assert deployed["deployment"]["version"] == "v1"
    assert deployed["deployment"]["service"] == {"slug": "pay-api"}
    assert await deployment_count(pool) == 1
    await settled(server.app)
    audited = await gql(
        '{ auditEvents(first: 1, filter: {operation: "deploy"}) '
        "{ nodes { outcome channel actorName } } }"
    )
    assert audited["auditEvents"]["nodes"] == [
        {"outcome": "ACCEPTED", "channel": "mcp", "actorName": "ana"}
    ]
    # The same mutation through /graphql has no channel; the chain still verifies.
    through_graphql = await gql.mutate(
        "deploy", "deployment { version }", service="web-api", environment="staging", version="v9"
    )
    assert through_graphql["errors"] == []
    channels = await pool.fetch(
        "SELECT channel FROM audit_events WHERE operation = 'deploy' AND id > $1", before
    )
    assert sorted(row["channel"] or "" for row in channels) == ["", "mcp"]
    assert (await server.container.ports.audit.verify()).intact


async def test_promote_answers_a_plan_until_confirmed(
    server: Served, store: PostgresAccessStore, pool: asyncpg.Pool
) -> None:
    deployer = await token(store, Scope.READ, Scope.DEPLOY, user="ana")
    async with agent(mcp_url(server), deployer) as client:
        result_of(
            await client.call_tool(
                "deploy", {"service": "pay-api", "environment": "staging", "version": "v2"}
            )
        )
        await settled(server.app)
        arguments = {"service": "pay-api", "from_environment": "staging", "to_environment": "prod"}
        planned = result_of(await client.call_tool("promote", arguments))
        assert planned["deployment"] is None
        assert planned["plan"]["toVersion"] == "v2"
        assert "confirm: true" in planned["note"]
        assert await deployment_count(pool) == 1
        promoted = result_of(await client.call_tool("promote", {**arguments, "confirm": True}))
        assert "note" not in promoted
        assert promoted["deployment"]["kind"] == "PROMOTION"
        assert promoted["deployment"]["environment"]["slug"] == "prod"
        await settled(server.app)
        compared = result_of(
            await client.call_tool(
                "compare_environments",
                {"service": "pay-api", "from_environment": "staging", "to_environment": "prod"},
            )
        )
        assert compared["inSync"] is True
        history = result_of(await client.call_tool("deployment_history", {"service": "pay-api"}))
        assert [node["environment"]["slug"] for node in history["nodes"]] == ["prod", "staging"]
    assert await deployment_count(pool) == 2


async def test_a_client_of_the_handshake_era_is_served_alike(
    server: Served, store: PostgresAccessStore, pool: asyncpg.Pool
) -> None:
    deployer = await token(store, Scope.READ, Scope.DEPLOY, user="ana")
    before = await last_audit_id(pool)
    async with agent(mcp_url(server), deployer, mode="legacy") as client:
        assert len((await client.list_tools()).tools) == len(TOOLS)
        found = result_of(await client.call_tool("search_services", {"owner": "pay"}))
        assert [node["slug"] for node in found["nodes"]] == ["pay-api"]
        deployed = result_of(
            await client.call_tool(
                "deploy", {"service": "pay-api", "environment": "staging", "version": "v7"}
            )
        )
        assert deployed["deployment"]["version"] == "v7"
        refused = await client.call_tool(
            "deploy", {"service": "web-api", "environment": "staging", "version": "v7"}
        )
        assert error_text(refused).startswith("FORBIDDEN: ")
        read = await client.read_resource("paved://service/pay-api")
        assert isinstance(read.contents[0], TextResourceContents)
    await settled(server.app)
    audited = await pool.fetch(
        "SELECT outcome, channel FROM audit_events WHERE id > $1 ORDER BY id", before
    )
    assert [tuple(row) for row in audited] == [("ACCEPTED", "mcp"), ("DENIED", "mcp")]


# --- refusals -----------------------------------------------------------------------------------


async def test_production_refuses_anonymous_agents_takes_jwts_and_rate_limits_tools(
    migrated_url: str, pool: asyncpg.Pool
) -> None:
    key = SigningKey.rsa("k1")
    issuer = IdentityProvider(keys=[key.jwk()])
    issuer.start()
    settings = served_settings(
        migrated_url,
        env="production",
        allowed_hosts=("127.0.0.1",),
        rate_limit_points=1,
        rate_limit_refill_per_second=0.001,
        oidc_issuer=issuer.issuer,
        oidc_audience="paved",
    )
    await pool.execute("INSERT INTO teams (slug, name) VALUES ('pay', 'Pay')")
    store = PostgresAccessStore(pool)
    await store.create_user("ana", "ana", "ana@example.com", admin=False)
    reader = await token(store, Scope.READ, user="ana")
    now = int(time.time())
    jwt = key.sign(
        {
            "iss": issuer.issuer,
            "aud": "paved",
            "sub": "oidc-zoe",
            "email": "zoe@example.com",
            "name": "Zoe",
            "groups": ["pay"],
            "iat": now,
            "exp": now + 600,
        }
    )
    try:
        async with served_app(settings) as served:
            with pytest.raises(ExceptionGroup) as refused:
                async with agent(mcp_url(served)) as client:
                    await client.list_tools()
            assert refused.group_contains(MCPError, depth=None)
            async with httpx.AsyncClient() as http:
                answered = await http.post(mcp_url(served), json=LIST_TOOLS, headers=ACCEPT)
            assert answered.status_code == 401
            assert answered.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
            assert answered.headers["www-authenticate"].startswith("Bearer")

            async with agent(mcp_url(served), jwt) as client:
                found = result_of(await client.call_tool("search_services", {"owner": "pay"}))
            assert found == {"totalCount": 0, "nodes": []}
            assert await pool.fetchval("SELECT name FROM users WHERE oidc_subject = 'oidc-zoe'")

            async with agent(mcp_url(served), reader) as client:
                assert len((await client.list_tools()).tools) == len(TOOLS)
                # A full bucket lets one request through whatever it costs; the next one waits.
                result_of(await client.call_tool("search_services", {"query": "pay"}))
                limited = await client.call_tool("search_services", {"query": "pay"})
            assert error_text(limited).startswith("RATE_LIMITED: rate limit exceeded")
    finally:
        issuer.stop()


async def test_the_host_guard_body_limit_and_methods_stand_in_front(server: Served) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        url = mcp_url(server)
        listed = await http.post(url, json=LIST_TOOLS, headers=ACCEPT)
        assert listed.status_code == 200
        assert len(listed.json()["result"]["tools"]) == len(TOOLS)
        rebound = await http.post(url, json=LIST_TOOLS, headers={**ACCEPT, "Host": "evil.example"})
        assert rebound.status_code == 421
        cross_site = await http.post(
            url, json=LIST_TOOLS, headers={**ACCEPT, "Origin": "http://evil.example"}
        )
        assert cross_site.status_code == 403
        huge = await http.post(
            url, content=b" " * 2_000_000, headers={**ACCEPT, "Content-Type": "application/json"}
        )
        assert huge.status_code == 413
        for method in ("GET", "DELETE", "PUT"):
            other = await http.request(method, url, headers=ACCEPT)
            assert (other.status_code, other.headers["allow"]) == (405, "POST"), method


HOSTILE: dict[str, tuple[str, dict[str, Any]]] = {
    "a huge query": ("search_services", {"query": "x" * 100_000}),
    "first too large": ("search_services", {"first": 1_000_000}),
    "first not a number": ("search_services", {"first": "many"}),
    "first zero": ("what_runs_where", {"first": 0}),
    "an unknown argument": ("get_service", {"service": "pay-api", "sql": "DROP TABLE"}),
    "a slug that is no slug": ("get_service", {"service": "Pay API; --"}),
    "a missing argument": ("deploy", {"service": "pay-api"}),
    "too many environments": ("what_runs_where", {"environments": ["e"] * 1000}),
    "a NUL character": ("search_services", {"query": "a\x00b"}),
    "a fraction of a page": ("deployment_history", {"service": "pay-api", "first": 2.5}),
}


@pytest.mark.parametrize(("tool", "arguments"), HOSTILE.values(), ids=HOSTILE.keys())
async def test_hostile_arguments_are_refused_before_any_sql(
    server: Served, statements: StatementLog, tool: str, arguments: dict[str, Any]
) -> None:
    async with agent(mcp_url(server)) as client:
        with statements.capture() as executed:
            refused = await client.call_tool(tool, arguments)
    assert error_text(refused).startswith("VALIDATION: ")
    assert "xxxxxxxxxx" not in error_text(refused)
    assert executed == []


async def test_an_unknown_tool_is_a_tool_error(server: Served) -> None:
    async with agent(mcp_url(server)) as client:
        unknown = await client.call_tool("drop_" + "x" * 5000, {})
    assert error_text(unknown).startswith("NOT_FOUND: no tool `drop_xxx")
    assert len(error_text(unknown)) < 100
