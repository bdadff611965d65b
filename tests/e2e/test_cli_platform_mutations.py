"""The platform's mutation commands of `paved` (webhooks, resource classes, templates,
deployments recorded and reported, resources reviewed and reported) against the in-process
app: each checked like the catalog's (`check_case`), and the listings they come with."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import asyncpg
import pytest
from starlette.applications import Starlette

from api.graphql_http import GraphQLEndpoint
from api.settings import Settings
from cli.deployment_reports import REPORTED_FIELDS
from cli.resource_classes import CLASS_FIELDS, RESOURCE_CLASSES
from cli.templates import TEMPLATE_FIELDS, TEMPLATES
from cli.webhooks import DELIVERIES, DELIVERY_FIELDS, WEBHOOK_FIELDS, WEBHOOKS
from domain.access.model import Scope
from providers.postgres.access_store import PostgresAccessStore
from tests.support.access import seed, token
from tests.support.cli import Paved
from tests.support.cli_catalog import (
    Case,
    Check,
    Context,
    catalog_paved,
    check_case,
    deleted,
    listed,
    no_client_settings,
    node,
)
from tests.support.deployer_fakes.resource_receiver import running_resource_receiver
from tests.support.deployments import environments
from tests.support.graphql import GraphQLClient
from tests.support.resources import (
    RESOURCE_STATE,
    postgres_class,
    provisioned,
    request,
    state_of,
)

__all__ = ["catalog_paved", "no_client_settings"]

HOOK = "http://127.0.0.1:9/hooks"
SCHEMA = '{"type": "object"}'
BOGUS_WEBHOOK = "V2ViaG9vazo5OTk5OQ"  # Webhook:99999
BOGUS_RESOURCE = "UmVzb3VyY2U6OTk5OTk="  # Resource:99999


async def _webhooks(context: Context) -> dict[str, str]:
    ids = {}
    for name in ("<webhook>", "<webhook2>"):
        created = await context.gql.mutate(
            "createWebhook", "webhook { id }", url=f"{HOOK}/{name[1:-1]}", events=["TEAM_CREATED"]
        )
        assert created["errors"] == [], created
        ids[name] = created["webhook"]["id"]
    return ids


def _webhook_and_secret(placeholder: str) -> Check:
    async def check(gql: GraphQLClient, payload: dict[str, Any], ids: dict[str, str]) -> None:
        assert isinstance(payload.pop("secret"), str)
        await node("webhook", placeholder, "Webhook", WEBHOOK_FIELDS)(gql, payload, ids)

    return check


async def _rotated(gql: GraphQLClient, payload: dict[str, Any], ids: dict[str, str]) -> None:
    assert isinstance(payload.pop("secret"), str)
    await node("webhook", "<webhook2>", "Webhook", "id version")(gql, payload, ids)


async def _pinged(gql: GraphQLClient, payload: dict[str, Any], ids: dict[str, str]) -> None:
    assert payload["webhook"] == {"id": ids["<webhook2>"]}
    assert payload["errors"] == []
    assert payload["delivered"] is False
    assert payload["error"]


async def _a_delivery(context: Context) -> dict[str, str]:
    """A webhook with one failed delivery of a TEAM_CREATED event (written as the delivery
    worker, which the shared app does not run, would have)."""
    webhook = (await _webhooks(context))["<webhook>"]
    await context.gql.mutate("createTeam", "team { slug }", slug="again", name="again")
    webhook_key = int(base64.urlsafe_b64decode(webhook + "=" * (-len(webhook) % 4)).split(b":")[1])
    await context.pool.execute(
        "INSERT INTO webhook_deliveries (webhook_id, event_id, attempt, state, error) "
        "SELECT $1, max(id), 1, 'FAILED', 'refused' FROM events WHERE type = 'TEAM_CREATED'",
        webhook_key,
    )
    found = await context.gql(DELIVERIES, id=webhook, first=10, failedOnly=False)
    [delivery] = found["node"]["deliveries"]["nodes"]
    return {"<webhook>": webhook, "<delivery>": delivery["id"]}


async def _redelivered(gql: GraphQLClient, payload: dict[str, Any], ids: dict[str, str]) -> None:
    found = await gql(DELIVERIES, id=ids["<webhook>"], first=10, failedOnly=False)
    [latest] = [
        d for d in found["node"]["deliveries"]["nodes"] if d["id"] == payload["delivery"]["id"]
    ]
    assert payload == {"delivery": latest, "errors": []}
    assert latest["state"] == "PENDING"


async def _classes(context: Context) -> dict[str, str]:
    await postgres_class(context.gql)
    return {}


async def _ci(store: PostgresAccessStore) -> str:
    """pay's CI: an API client may record and report deployments."""
    if await store.api_client_by_slug("pay-ci") is None:
        await store.create_api_client("pay-ci", "pay CI", "pay")
    return await token(store, Scope.READ, Scope.DEPLOY, client="pay-ci")


async def _ci_read_only(store: PostgresAccessStore) -> str:
    if await store.api_client_by_slug("pay-ci") is None:
        await store.create_api_client("pay-ci", "pay CI", "pay")
    return await token(store, Scope.READ, client="pay-ci")


async def _recorded(context: Context) -> dict[str, str]:
    ci = context.gql.with_token(await _ci(context.store))
    ids = {}
    for name, environment in (("<deployment>", "staging"), ("<deployment2>", "prod")):
        recorded = await ci.mutate(
            "recordDeployment", "deployment { id }", service="pay-api", environment=environment,
            version="1", state="IN_PROGRESS",
        )  # fmt: skip
        assert recorded["errors"] == [], recorded
        ids[name] = recorded["deployment"]["id"]
    return ids


async def _waiting(context: Context) -> dict[str, str]:
    """Two resources ana asked for, waiting for an approver of team web."""
    await postgres_class(context.gql, requiresApproval=True, approverTeams=["web"])
    ana = context.gql.with_token(await token(context.store, Scope.READ, Scope.WRITE, user="ana"))
    ids = {}
    for name in ("<resource>", "<resource2>"):
        asked = await request(ana, name=name[1:-1])
        assert asked["resource"]["state"] == "WAITING_APPROVAL", asked
        ids[name] = asked["resource"]["id"]
    return ids


async def _ready(context: Context) -> dict[str, str]:
    await postgres_class(context.gql)
    ids = {}
    for name in ("<resource>", "<resource2>"):
        ids[name] = (await request(context.gql, name=name[1:-1]))["resource"]["id"]
    await provisioned(context.app)
    for id_ in ids.values():
        assert await state_of(context.gql, id_) == "READY"
    return ids


async def _provisioning(context: Context, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Two resources a webhook provider was asked for: PROVISIONING until reported."""
    monkeypatch.setenv("PAVED_SECRET_TEST_RESOURCES", "whsec_test")
    ids = {}
    with running_resource_receiver("whsec_test") as hook:
        provider = {
            "kind": "webhook",
            "settings": {
                "url": f"{hook.url}/resources",
                "secretEnv": "PAVED_SECRET_TEST_RESOURCES",
            },
        }
        await postgres_class(context.gql, provider=provider)
        for name in ("<resource>", "<resource2>"):
            ids[name] = (await request(context.gql, name=name[1:-1]))["resource"]["id"]
        for id_ in ids.values():
            for _ in range(400):
                if await state_of(context.gql, id_) == "PROVISIONING":
                    break
                await asyncio.sleep(0.025)
        assert len(hook.requests) == 2
    return ids


def _resource(placeholder: str, *stable: str) -> Check:
    """The resource the payload shows is the API's: its identity and the `stable` fields
    compared with what the API answers now (the others, its state for one, the provisioning
    runner may be moving on meanwhile)."""

    async def check(gql: GraphQLClient, payload: dict[str, Any], ids: dict[str, str]) -> None:
        assert payload["errors"] == []
        assert payload["resource"]["id"] == ids[placeholder]
        fields = " ".join(("id name class { slug } service { slug } environment { slug }", *stable))
        data = await gql(
            f"query($id: ID!) {{ node(id: $id) {{ ... on Resource {{ {fields} }} }} }}",
            id=ids[placeholder],
        )
        for key in ("id", "name", "class", "service", "environment", *stable):
            assert payload["resource"][key] == data["node"][key], key

    return check


def _cases(test_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> dict[str, Case]:
    async def provisioning(context: Context) -> dict[str, str]:
        return await _provisioning(context, monkeypatch)

    return {
        "webhooks create": Case(
            ok=(
                "webhooks",
                "create",
                f"{HOOK}/a",
                "--event",
                "team_created",
                "--event",
                "SERVICE_UPDATED",
                "--team",
                "pay",
                "--description",
                "ours",
            ),
            shown="secret (shown once): ",
            as_json=("webhooks", "create", f"{HOOK}/b", "--event", "TEAM_CREATED"),
            check=_webhook_and_secret("-"),
            refused=("webhooks", "create", "ftp://example.com/x", "--event", "TEAM_CREATED"),
            line="paved: VALIDATION: `url` must be an http(s) URL (input.url)",
            usage=("webhooks", "create", f"{HOOK}/a"),
        ),
        "webhooks update": Case(
            ok=("webhooks", "update", "<webhook>", "--inactive"),
            shown="active       no: ",
            as_json=(
                "webhooks",
                "update",
                "<webhook2>",
                "--event",
                "team_updated",
                "--url",
                f"{HOOK}/c",
                "--expected-version",
                "1",
            ),
            check=node("webhook", "<webhook2>", "Webhook", WEBHOOK_FIELDS),
            refused=("webhooks", "update", "<webhook>", "--url", "ftp://example.com/x"),
            line="paved: VALIDATION: `url` must be an http(s) URL (input.url)",
            usage=("webhooks", "update", "<webhook>"),
            prepare=_webhooks,
            denied="NOT_FOUND",
        ),
        "webhooks delete": Case(
            ok=("webhooks", "delete", "<webhook>"),
            shown="deleted webhook",
            as_json=("webhooks", "delete", "<webhook2>"),
            check=deleted("<webhook2>"),
            refused=("webhooks", "delete", "<webhook>"),
            line="paved: NOT_FOUND: no such Webhook (input.webhook)",
            usage=("webhooks", "delete"),
            denied="NOT_FOUND",
            prepare=_webhooks,
        ),
        "webhooks rotate-secret": Case(
            ok=("webhooks", "rotate-secret", "<webhook>"),
            shown="secret (shown once): ",
            as_json=("webhooks", "rotate-secret", "<webhook2>"),
            check=_rotated,
            refused=("webhooks", "rotate-secret", BOGUS_WEBHOOK),
            line="paved: NOT_FOUND: no such Webhook (input.webhook)",
            usage=("webhooks", "rotate-secret", "<webhook>", "extra"),
            denied="NOT_FOUND",
            prepare=_webhooks,
        ),
        "webhooks ping": Case(
            ok=("webhooks", "ping", "<webhook>"),
            shown="delivered    no",
            as_json=("webhooks", "ping", "<webhook2>"),
            check=_pinged,
            refused=("webhooks", "ping", BOGUS_WEBHOOK),
            line="paved: NOT_FOUND: no such Webhook (input.webhook)",
            usage=("webhooks", "ping", "--json"),
            denied="NOT_FOUND",
            prepare=_webhooks,
        ),
        "webhooks redeliver": Case(
            ok=("webhooks", "redeliver", "<delivery>"),
            shown="TEAM_CREATED",
            as_json=("webhooks", "redeliver", "<delivery>"),
            check=_redelivered,
            refused=("webhooks", "redeliver", "<webhook>"),
            line="paved: NOT_FOUND: no such WebhookDelivery (input.delivery)",
            usage=("webhooks", "redeliver"),
            denied="NOT_FOUND",
            prepare=_a_delivery,
        ),
        "resource-classes create": Case(
            ok=(
                "resource-classes",
                "create",
                "redis",
                "--name",
                "Redis",
                "--type",
                "redis",
                "--provider",
                "simulated",
                "--provider-settings",
                '{"durationSeconds": 0}',
                "--parameters-schema",
                SCHEMA,
                "--defaults",
                "{}",
                "--environment",
                "staging",
                "--requires-approval",
                "--approver-team",
                "web",
                "--description",
                "a cache",
            ),
            shown="approver teams  web",
            as_json=(
                "resource-classes",
                "create",
                "mq",
                "--name",
                "MQ",
                "--type",
                "rabbitmq",
                "--provider",
                "simulated",
                "--parameters-schema",
                SCHEMA,
            ),
            check=listed("resourceClass", "resourceClasses", "mq", CLASS_FIELDS),
            refused=(
                "resource-classes",
                "create",
                "postgres",
                "--name",
                "P",
                "--type",
                "p",
                "--provider",
                "simulated",
                "--parameters-schema",
                SCHEMA,
            ),
            line="paved: CONFLICT: a resource class with slug 'postgres' already exists (input.slug)",
            usage=(
                "resource-classes",
                "create",
                "x",
                "--name",
                "X",
                "--type",
                "t",
                "--provider",
                "simulated",
                "--parameters-schema",
                "{nope",
            ),
            prepare=_classes,
        ),
        "resource-classes update": Case(
            ok=(
                "resource-classes",
                "update",
                "postgres",
                "--requires-approval",
                "--approver-team",
                "pay",
            ),
            shown="approval        required",
            as_json=("resource-classes", "update", "postgres", "--name", "PG", "--no-approval"),
            check=listed("resourceClass", "resourceClasses", "postgres", CLASS_FIELDS),
            refused=("resource-classes", "update", "nope", "--name", "N"),
            line="paved: NOT_FOUND: no resource class 'nope' (input.resourceClass)",
            usage=("resource-classes", "update", "postgres"),
            prepare=_classes,
        ),
        "resource-classes delete": Case(
            ok=("resource-classes", "delete", "redis"),
            shown="deleted resource class redis",
            as_json=("resource-classes", "delete", "postgres"),
            check=deleted("postgres"),
            refused=("resource-classes", "delete", "redis"),
            line="paved: NOT_FOUND: no resource class 'redis' (input.resourceClass)",
            usage=("resource-classes", "delete"),
            setup=(
                (
                    "resource-classes",
                    "create",
                    "redis",
                    "--name",
                    "Redis",
                    "--type",
                    "redis",
                    "--provider",
                    "simulated",
                    "--parameters-schema",
                    SCHEMA,
                ),
            ),
            prepare=_classes,
        ),
        "templates create": Case(
            ok=(
                "templates",
                "create",
                "svc",
                "--name",
                "Svc",
                "--parameters-schema",
                SCHEMA,
                "--environment",
                "staging",
                "--resource",
                '{"class": "postgres", "name": "db"}',
                "--first-version",
                "0.1.0",
                "--service",
                '{"description": "made"}',
            ),
            shown="db (postgres)",
            as_json=(
                "templates",
                "create",
                "bare",
                "--name",
                "Bare",
                "--parameters-schema",
                SCHEMA,
            ),
            check=listed("template", "templates", "bare", TEMPLATE_FIELDS),
            refused=(
                "templates",
                "create",
                "x",
                "--name",
                "X",
                "--parameters-schema",
                SCHEMA,
                "--resource",
                '{"class": "nope", "name": "db"}',
            ),
            line="paved: NOT_FOUND: no resource class 'nope' (input.resources.0.class)",
            usage=(
                "templates",
                "create",
                "x",
                "--name",
                "X",
                "--parameters-schema",
                SCHEMA,
                "--resource",
                "[1]",
            ),
            prepare=_classes,
        ),
        "templates update": Case(
            ok=("templates", "update", "svc", "--first-version", "0.2.0"),
            shown="0.2.0",
            as_json=("templates", "update", "svc", "--name", "Service", "--expected-version", "2"),
            check=listed("template", "templates", "svc", TEMPLATE_FIELDS),
            refused=("templates", "update", "nope", "--name", "N"),
            line="paved: NOT_FOUND: no template 'nope' (input.template)",
            usage=("templates", "update", "svc"),
            setup=(
                (
                    "templates",
                    "create",
                    "svc",
                    "--name",
                    "Svc",
                    "--parameters-schema",
                    SCHEMA,
                    "--environment",
                    "staging",
                ),
            ),
        ),
        "templates delete": Case(
            ok=("templates", "delete", "svc"),
            shown="deleted template svc",
            as_json=("templates", "delete", "svc2"),
            check=deleted("svc2"),
            refused=("templates", "delete", "svc"),
            line="paved: NOT_FOUND: no template 'svc' (input.template)",
            usage=("templates", "delete"),
            setup=(
                ("templates", "create", "svc", "--name", "Svc", "--parameters-schema", SCHEMA),
                ("templates", "create", "svc2", "--name", "Svc", "--parameters-schema", SCHEMA),
            ),
        ),
        "deployments record": Case(
            ok=(
                "deployments",
                "record",
                "pay-api",
                "staging",
                "1.0.0",
                "--state",
                "succeeded",
                "--commit-sha",
                "3f9c2ab",
                "--url",
                "https://ci.example.com/runs/1",
                "--external-id",
                "run-1",
            ),
            shown="SUCCEEDED",
            as_json=(
                "deployments",
                "record",
                "pay-api",
                "prod",
                "2.0.0",
                "--state",
                "FAILED",
                "--description",
                "from CI",
            ),
            check=node("deployment", "-", "Deployment", REPORTED_FIELDS),
            refused=("deployments", "record", "nope", "staging", "1", "--state", "succeeded"),
            line="paved: NOT_FOUND: no service 'nope' (input.service)",
            usage=("deployments", "record", "pay-api", "staging", "1"),
            actor=_ci,
            read_only=_ci_read_only,
        ),
        "deployments report": Case(
            ok=(
                "deployments",
                "report",
                "<deployment>",
                "--state",
                "succeeded",
                "--raw-status",
                "done",
            ),
            shown="done",
            as_json=(
                "deployments",
                "report",
                "<deployment2>",
                "--state",
                "failed",
                "--message",
                "health check failed",
            ),
            check=node("deployment", "<deployment2>", "Deployment", REPORTED_FIELDS),
            refused=("deployments", "report", "<deployment>", "--state", "in_progress"),
            line="paved: PRECONDITION_FAILED: a deployment cannot go from SUCCEEDED to IN_PROGRESS: not a permitted transition (input.state)",
            usage=("deployments", "report", "<deployment>", "--state", "finished"),
            prepare=_recorded,
            actor=_ci,
            read_only=_ci_read_only,
        ),
        "resources approve": Case(
            ok=("resources", "approve", "<resource>", "--comment", "fine"),
            shown="pay-api/resource",
            as_json=("resources", "approve", "<resource2>"),
            check=_resource("<resource2>"),
            refused=("resources", "approve", BOGUS_RESOURCE),
            line="paved: NOT_FOUND: no such resource (input.resource)",
            usage=("resources", "approve"),
            prepare=_waiting,
        ),
        "resources reject": Case(
            ok=("resources", "reject", "<resource>", "--comment", "too big"),
            shown="pay-api/resource",
            as_json=("resources", "reject", "<resource2>"),
            check=_resource("<resource2>", "state"),
            refused=("resources", "reject", "<resource>"),
            line="paved: PRECONDITION_FAILED: resource 1 is FAILED, not waiting for approval (input.resource)",
            usage=("resources", "reject", "--comment", "x"),
            prepare=_waiting,
        ),
        "resources update": Case(
            ok=(
                "resources",
                "update",
                "<resource>",
                "--param",
                "size=M",
                "--param",
                "version=16",
            ),
            shown="UPDATING",
            as_json=(
                "resources",
                "update",
                "<resource2>",
                "--parameters",
                '{"size": "L", "version": 17}',
                "--expected-version",
                "2",
            ),
            check=_resource("<resource2>", "parameters"),
            refused=("resources", "update", "<resource>", "--param", "size=XL"),
            line="paved: VALIDATION: 'XL' is not one of ['S', 'M', 'L'] (input.parameters.size)",
            usage=("resources", "update", "<resource>"),
            prepare=_ready,
        ),
        "resources report": Case(
            ok=(
                "resources",
                "report",
                "<resource>",
                "--state",
                "ready",
                "--output",
                "host=db.internal",
                "--output",
                "port=5432",
                "--secret-ref",
                "pay-db=vault:password",
            ),
            shown="READY",
            as_json=(
                "resources",
                "report",
                "<resource2>",
                "--state",
                "failed",
                "--message",
                "quota",
            ),
            check=_resource("<resource2>", "state", "statusMessage", "outputs"),
            refused=(
                "resources",
                "report",
                "<resource>",
                "--state",
                "ready",
                "--output",
                "db_password=hunter2",
            ),
            line="paved: VALIDATION: output 'db_password' looks like a secret: put it in a secret store and report a secretRef instead (input.outputs.db_password)",
            usage=("resources", "report", "<resource>", "--secret-ref", "x"),
            prepare=provisioning,
            actor=_ci,
            read_only=_ci_read_only,
        ),
    }


COMMANDS = [
    "webhooks create", "webhooks update", "webhooks delete", "webhooks rotate-secret",
    "webhooks ping", "webhooks redeliver", "resource-classes create", "resource-classes update",
    "resource-classes delete", "templates create", "templates update", "templates delete",
    "deployments record", "deployments report", "resources approve", "resources reject",
    "resources update", "resources report",
]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS)
async def test_mutation_command(
    command: str,
    catalog_paved: Paved,
    gql: GraphQLClient,
    pool: asyncpg.Pool,
    app: Starlette,
    test_settings: Settings,
    endpoint: GraphQLEndpoint,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = await seed(gql, pool)
    await environments(gql)
    case = _cases(test_settings, monkeypatch)[command]
    await check_case(case, Context(catalog_paved, gql, store, pool, app), monkeypatch)
    # The setup's polls of a resource the runner is moving may see it at two moments.
    endpoint.disagreements[:] = [d for d in endpoint.disagreements if d.query != RESOURCE_STATE]


async def test_platform_listings(
    catalog_paved: Paved, gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    paved = catalog_paved
    await seed(gql, pool)
    await environments(gql)
    await postgres_class(gql)
    hooks = await _webhooks(Context(paved, gql, None, pool, None))  # type: ignore[arg-type]
    assert (
        await paved("templates", "create", "svc", "--name", "Svc", "--parameters-schema", SCHEMA)
    )[0] == 0
    first_page = {"first": 50, "after": None}

    for argv, document, variables in (
        (("webhooks", "list"), WEBHOOKS, {"team": None, **first_page}),
        (("resource-classes", "list"), RESOURCE_CLASSES, first_page),
        (("templates", "list"), TEMPLATES, first_page),
        (("webhooks", "deliveries", hooks["<webhook>"]), DELIVERIES,
         {"id": hooks["<webhook>"], "first": 20, "failedOnly": False}),
    ):  # fmt: skip
        assert await paved.json(*argv) == await gql(document, **variables), argv
        code, out, err = await paved(*argv)
        assert (code, err) == (0, ""), argv
        assert out.splitlines()[0].split()[0] in ("ID", "SLUG"), out

    code, out, _ = await paved("webhooks", "list")
    assert hooks["<webhook>"] in out
    code, out, _ = await paved("resource-classes", "list")
    assert out.splitlines()[1].split()[:2] == ["postgres", "PostgreSQL"]
    code, out, _ = await paved("templates", "list")
    assert out.splitlines()[1].split()[0] == "svc"
    assert await paved("webhooks", "deliveries", BOGUS_WEBHOOK) == (
        1, "", f"paved: NOT_FOUND: no webhook {BOGUS_WEBHOOK!r}\n",
    )  # fmt: skip
    _ = DELIVERY_FIELDS
