"""Golden-path templates: admins declare them; `createServiceFromTemplate` makes a service
with its owner, defaults and resources in every template environment in one controlled,
all-or-nothing, idempotent step, and deploys its first version once the resources are READY."""

from __future__ import annotations

from typing import Any

import asyncpg
from starlette.applications import Starlette

from domain.access.model import Scope
from tests.support.access import seed, token
from tests.support.deployments import environments, settled
from tests.support.graphql import GraphQLClient
from tests.support.resources import INSTANT, postgres_class, provisioned

BUCKET_SCHEMA = {
    "type": "object",
    "properties": {"versioning": {"type": "boolean"}, "publicRead": {"const": False}},
}
TEMPLATE_SCHEMA = {
    "type": "object",
    "properties": {
        "size": {"enum": ["S", "M", "L"], "default": "S"},
        "team": {"type": "string"},
        "tier": {"type": "integer", "minimum": 1, "maximum": 4, "default": 3},
    },
}
RUN_FIELDS = (
    "service { slug name lifecycle tier tags description owners { team { slug } role } } "
    "resources { name state parameters environment { slug } class { slug } } "
    "deployments { version environment { slug } } "
    "plan { actions parameters requiredApprovals warnings }"
)


def _codes(payload: dict[str, Any]) -> list[str]:
    return [error["code"] for error in payload["errors"]]


async def _catalog(gql: GraphQLClient, *, first_version: str | None = "1.0.0") -> None:
    await environments(gql)
    await postgres_class(gql)
    bucket = await gql.mutate(
        "createResourceClass", "resourceClass { slug }", slug="bucket", name="Bucket",
        type="bucket", provider=INSTANT, parametersSchema=BUCKET_SCHEMA,
    )  # fmt: skip
    assert bucket["errors"] == []
    created = await gql.mutate(
        "createTemplate", "template { slug version resources { name class { slug } } }",
        slug="python-http-service", name="Python HTTP service",
        parametersSchema=TEMPLATE_SCHEMA,
        service={"lifecycle": "PRODUCTION", "tier": "${tier}", "tags": ["python", "http"],
                 "description": "made from the golden path (${size})"},
        environments=["staging", "prod"],
        resources=[{"class": "postgres", "name": "db", "parameters": {"size": "${size}"}}],
        firstVersion=first_version,
    )  # fmt: skip
    assert created["errors"] == [], created
    assert created["template"]["resources"] == [{"name": "db", "class": {"slug": "postgres"}}]


async def test_a_service_from_a_template_with_resources_and_its_first_deployment(
    gql: GraphQLClient, pool: asyncpg.Pool, app: Starlette
) -> None:
    await seed(gql, pool)
    await _catalog(gql)

    made = await gql.mutate(
        "createServiceFromTemplate", RUN_FIELDS, template="python-http-service", slug="orders",
        owner="pay", parameters={"size": "M"}, idempotencyKey="new-orders",
    )  # fmt: skip
    assert made["errors"] == [], made
    service = made["service"]
    assert service["slug"] == "orders"
    assert service["name"] == "orders"
    assert service["lifecycle"] == "PRODUCTION"
    assert service["tier"] == 3
    assert service["description"] == "made from the golden path (M)"
    assert service["owners"] == [{"team": {"slug": "pay"}, "role": "PRIMARY"}]
    assert sorted((r["environment"]["slug"], r["name"]) for r in made["resources"]) == [
        ("prod", "db"), ("staging", "db"),
    ]  # fmt: skip
    assert {r["parameters"]["size"] for r in made["resources"]} == {"M"}

    await provisioned(app)
    await settled(app)
    found = await gql(
        '{ service(slug: "orders") { resources { state } '
        "deployments { nodes { version environment { slug } state } } } }"
    )
    assert {r["state"] for r in found["service"]["resources"]} == {"READY"}
    assert found["service"]["deployments"]["nodes"] == [
        {"version": "1.0.0", "environment": {"slug": "staging"}, "state": "SUCCEEDED"}
    ]

    # The same key again: the same answer, nothing new.
    again = await gql.mutate(
        "createServiceFromTemplate", "service { slug } resources { name }",
        template="python-http-service", slug="orders", owner="pay",
        parameters={"size": "M"}, idempotencyKey="new-orders",
    )  # fmt: skip
    assert again["errors"] == []
    assert again["service"] == {"slug": "orders"}
    assert await pool.fetchval("SELECT count(*) FROM resources") == 2
    other = await gql.mutate(
        "createServiceFromTemplate", "service { slug }", template="python-http-service",
        slug="orders", owner="pay", parameters={"size": "L"}, idempotencyKey="new-orders",
    )  # fmt: skip
    assert _codes(other) == ["CONFLICT"]


async def test_a_dry_run_plans_and_a_failure_leaves_no_half_created_service(
    gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    await seed(gql, pool)
    await _catalog(gql)

    planned = await gql.mutate(
        "createServiceFromTemplate", RUN_FIELDS, template="python-http-service",
        slug="orders", owner="pay", dryRun=True,
    )  # fmt: skip
    assert planned["errors"] == []
    assert planned["service"] is None
    plan = planned["plan"]
    assert plan["parameters"] == {"size": "S", "tier": 3}
    assert len([a for a in plan["actions"] if a.startswith("request")]) == 2
    assert any("deploy 1.0.0" in action for action in plan["actions"])
    assert await pool.fetchval("SELECT count(*) FROM services WHERE slug = 'orders'") == 0

    bad = await gql.mutate(
        "createServiceFromTemplate", RUN_FIELDS, template="python-http-service",
        slug="orders", owner="pay", parameters={"size": "XXL"},
    )  # fmt: skip
    assert [(e["code"], e["path"]) for e in bad["errors"]] == [
        ("VALIDATION", ["input", "parameters", "size"])
    ]
    # A resource name the write refuses: the service is not left behind.
    frozen = await gql.mutate("freezeEnvironment", "environment { slug }", environment="prod")
    assert frozen["errors"] == []
    refused = await gql.mutate(
        "createServiceFromTemplate", RUN_FIELDS, template="python-http-service",
        slug="orders", owner="pay",
    )  # fmt: skip
    assert _codes(refused) == ["PRECONDITION_FAILED"]
    assert await pool.fetchval("SELECT count(*) FROM services WHERE slug = 'orders'") == 0
    assert await pool.fetchval("SELECT count(*) FROM resources") == 0
    taken = await gql.mutate(
        "createServiceFromTemplate", "service { slug }", template="python-http-service",
        slug="pay-api", owner="pay", dryRun=True,
    )  # fmt: skip
    assert [(e["code"], e["path"]) for e in taken["errors"]] == [("CONFLICT", ["input", "slug"])]


async def test_who_may_use_and_manage_templates(gql: GraphQLClient, pool: asyncpg.Pool) -> None:
    store = await seed(gql, pool)
    await _catalog(gql, first_version=None)
    ana = gql.with_token(await token(store, Scope.READ, Scope.WRITE, user="ana"))

    assert _codes(
        await ana.mutate(
            "createServiceFromTemplate",
            "service { slug }",
            template="python-http-service",
            slug="orders",
            owner="web",
        )
    ) == ["FORBIDDEN"]
    made = await ana.mutate(
        "createServiceFromTemplate", "service { slug }", template="python-http-service",
        slug="orders", owner="pay",
    )  # fmt: skip
    assert made["errors"] == []
    assert _codes(
        await ana.mutate(
            "createTemplate", "template { slug }", slug="t", name="t",
            parametersSchema={"type": "object"},
        )
    ) == ["FORBIDDEN"]  # fmt: skip
    assert _codes(
        await ana.mutate("deleteTemplate", "deletedId", template="python-http-service")
    ) == ["FORBIDDEN"]


async def test_template_rules(gql: GraphQLClient, pool: asyncpg.Pool) -> None:
    await seed(gql, pool)
    await _catalog(gql)

    async def create(**fields: Any) -> list[tuple[str, list[str]]]:
        given = {"slug": "t", "name": "T", "parametersSchema": TEMPLATE_SCHEMA} | fields
        made = await gql.mutate("createTemplate", "template { slug }", **given)
        return [(error["code"], error["path"]) for error in made["errors"]]

    assert await create(service={"owner": "pay"}) == [("VALIDATION", ["input", "service", "owner"])]
    assert await create(service={"description": "${nope}"}) == [
        ("VALIDATION", ["input", "service", "description"])
    ]
    assert await create(resources=[{"class": "ghost", "name": "x"}], environments=["staging"]) == [
        ("NOT_FOUND", ["input", "resources", "0", "class"])
    ]
    assert await create(
        resources=[{"class": "postgres", "name": "x"}, {"class": "postgres", "name": "x"}]
    ) == [("VALIDATION", ["input", "resources", "1", "name"])]
    assert await create(firstVersion="1.0") == [("VALIDATION", ["input", "firstVersion"])]
    assert await create(parametersSchema={"type": "object", "required": "x"}) == [
        ("VALIDATION", ["input", "parametersSchema"])
    ]
    assert await create() == []
    assert await create() == [("CONFLICT", ["input", "slug"])]
    listed = await gql("{ templates { totalCount nodes { slug environments { slug } } } }")
    assert listed["templates"]["totalCount"] == 2
    updated = await gql.mutate(
        "updateTemplate", "template { name version }", template="t", name="T2",
        expectedVersion=1,
    )  # fmt: skip
    assert updated["template"] == {"name": "T2", "version": 2}
    in_use = await gql.mutate("deleteResourceClass", "deletedId", resourceClass="postgres")
    assert _codes(in_use) == ["PRECONDITION_FAILED"]
    assert (await gql.mutate("deleteTemplate", "deletedId", template="t"))["errors"] == []
