"""`paved resources list | request | delete` and `paved new` against the app: in-process over
an ASGI transport, and `paved new --wait` against an app served on a socket, with the
simulated provider building the resources in the app's own runner."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx2 as httpx
import pytest
from starlette.applications import Starlette

from api.graphql_http import GraphQLEndpoint
from cli import api_client
from cli import main as paved_cli
from cli import resources as resources_cli
from cli.resource_documents import FIRST_DEPLOYMENT, REQUEST_RESOURCE, RESOURCE_STATES, RESOURCES
from domain.access.model import Scope
from reads.verification import Disagreement
from tests.support.access import seed, token
from tests.support.cli import Paved, json_documents
from tests.support.deployments import environments
from tests.support.graphql import GraphQLClient
from tests.support.polls import a_state_poll_in_flight
from tests.support.resources import POSTGRES_SCHEMA, postgres_class, provisioned, state_of
from tests.support.served import Served, served_app, served_settings

FAST = ("--interval", "0.02", "--timeout", "20")
SCHEMA_WITH_TAGS: dict[str, Any] = {
    **POSTGRES_SCHEMA,
    "properties": {
        **POSTGRES_SCHEMA["properties"],
        "tags": {"type": "array", "items": {"type": "string"}},
    },
}
LISTED = (
    "query($f: ResourceFilter) { resources(filter: $f, first: 100) "
    "{ nodes { id name state parameters } } }"
)


@pytest.fixture(autouse=True)
def no_client_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the developer's shell says, the commands start without a URL or token."""
    monkeypatch.delenv("PAVED_API_URL", raising=False)
    monkeypatch.delenv("PAVED_TOKEN", raising=False)


def _first_deployment_in_flight(disagreement: Disagreement) -> bool:
    """`paved new --wait` looks for the first deployment while the runner makes and moves it:
    the two read paths may see it missing and there, or at two moments of it."""
    if disagreement.query != FIRST_DEPLOYMENT:
        return False
    moment = {"state", "rawStatus", "statusMessage", "finishedAt"}

    def nodes(body: bytes) -> list[dict[str, Any]]:
        found = json.loads(body)["data"]["service"]["deployments"]["nodes"]
        return [{k: v for k, v in node.items() if k not in moment} for node in found]

    fast, reference = nodes(disagreement.fast), nodes(disagreement.reference)
    return not fast or not reference or fast == reference


def _resource_poll_in_flight(disagreement: Disagreement) -> bool:
    """`--wait` polls resources while the provisioning runner moves them, and the test lists
    them while a command requests one: the two read paths, one after the other, may see two
    moments. Only that is forgiven: the same resources, differing in nothing but where they
    are in their provisioning, or the newest one seen by only one path."""
    moment = {"state", "statusMessage", "outputs", "secretRefs", "version"}

    def still(nodes: list[Any]) -> list[Any]:
        return [{k: v for k, v in (node or {}).items() if k not in moment} for node in nodes]

    if disagreement.query == RESOURCE_STATES:
        fast, reference = (json.loads(b)["data"]["nodes"] for b in _bodies(disagreement))
        return still(fast) == still(reference)
    if disagreement.query in (LISTED, RESOURCES):
        # The test lists while a command requests: one path may already see the new resource.
        fast, reference = (
            still(json.loads(b)["data"]["resources"]["nodes"]) for b in _bodies(disagreement)
        )
        shorter, longer = sorted((fast, reference), key=len)
        return longer[: len(shorter)] == shorter
    return False


def _bodies(disagreement: Disagreement) -> tuple[bytes, bytes]:
    return disagreement.fast, disagreement.reference


@pytest.fixture
async def paved(
    app: Starlette,
    client: httpx.AsyncClient,
    endpoint: GraphQLEndpoint,
    capsys: pytest.CaptureFixture[str],
) -> AsyncIterator[Paved]:
    yield Paved(app, capsys)
    endpoint.disagreements[:] = [
        d
        for d in endpoint.disagreements
        if not (
            a_state_poll_in_flight(d)
            or _first_deployment_in_flight(d)
            or _resource_poll_in_flight(d)
        )
    ]


def _at(lines: list[str], prefix: str) -> int:
    """Where the first line starting with `prefix` is (a state's line may add its message)."""
    return next(i for i, line in enumerate(lines) if line.startswith(prefix))


def _parameters_line(lines: list[str]) -> Any:
    return json.loads(lines[_at(lines, "parameters: ")].removeprefix("parameters: "))


async def _listed(gql: GraphQLClient, **filter_: str) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = (await gql(LISTED, f=filter_ or None))["resources"]["nodes"]
    return nodes


async def _until_listed(gql: GraphQLClient, count: int) -> list[dict[str, Any]]:
    """The resources, once there are `count` of them (a command is making them)."""
    async with asyncio.timeout(10):
        while True:
            found = await _listed(gql)
            if len(found) >= count:
                return found
            await asyncio.sleep(0.01)


async def _counts(pool: asyncpg.Pool) -> tuple[int, int]:
    """Resources and events written."""
    row = await pool.fetchrow(
        "SELECT (SELECT count(*) FROM resources) AS r, (SELECT count(*) FROM events) AS e"
    )
    assert row is not None
    return int(row["r"]), int(row["e"])


async def _catalog(gql: GraphQLClient, pool: asyncpg.Pool, **class_extra: Any) -> None:
    await seed(gql, pool)
    await environments(gql)
    await postgres_class(gql, **class_extra)


async def test_request_with_typed_parameters_waits_until_ready(
    paved: Paved, gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    await _catalog(gql, pool, parametersSchema=SCHEMA_WITH_TAGS)
    code, out, err = await paved(
        "resources", "request", "pay-api", "staging", "postgres", "db",
        "--param", "size=M", "--param", "version=17", "--param", "highAvailability=true",
        "--param", 'tags=["a", "b"]', "--param", 'label="16"', "--wait", *FAST,
    )  # fmt: skip
    assert (code, err) == (0, ""), (out, err)
    [resource] = await _listed(gql)
    assert resource["parameters"] == {
        "size": "M", "version": 17, "highAvailability": True, "tags": ["a", "b"], "label": "16",
    }  # fmt: skip
    assert resource["state"] == "READY"
    lines = out.splitlines()
    assert lines[0] == (
        f"resource db of pay-api in staging (postgres): REQUESTED  id {resource['id']}"
    )
    ready = _at(lines, "db of pay-api in staging: READY")
    assert json.loads(lines[ready + 1].removeprefix("  outputs: "))["port"] == 5432
    assert any(line.startswith("  secret: ") for line in lines[ready + 2 :])

    # A number where the schema wants a string: JSON when it parses, as documented.
    code, out, err = await paved(
        "resources", "request", "pay-api", "staging", "postgres", "db2", "--param", "label=16"
    )
    assert (code, out) == (1, "")
    assert err.startswith("paved: VALIDATION: ")
    assert err.rstrip().endswith("(input.parameters.label)")


async def test_request_as_json_then_wait_prints_each_state_as_a_document(
    paved: Paved, gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    await _catalog(gql, pool)
    documents = await paved.json_stream(
        "resources", "request", "pay-api", "staging", "postgres", "db", "--wait", *FAST
    )
    assert documents[0]["errors"] == []
    assert documents[0]["resource"]["parameters"] == {"size": "S", "version": 16}
    assert documents[0]["plan"]["parameters"] == {"size": "S", "version": 16}
    assert documents[-1]["id"] == documents[0]["resource"]["id"]
    assert documents[-1]["state"] == "READY"


async def test_each_violation_exits_1_naming_its_parameter_and_nothing_is_written(
    paved: Paved, gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    await _catalog(gql, pool)
    before = await _counts(pool)
    code, out, err = await paved(
        "resources", "request", "pay-api", "staging", "postgres", "db",
        "--param", "size=XXL", "--param", "version=9",
    )  # fmt: skip
    assert (code, out) == (1, "")
    lines = sorted(err.splitlines())
    assert len(lines) == 2
    assert lines[0].startswith("paved: VALIDATION: ")
    assert lines[0].endswith("(input.parameters.size)")
    assert lines[1].endswith("(input.parameters.version)")
    assert await _counts(pool) == before


async def test_a_dry_run_prints_the_plan_and_writes_nothing(
    paved: Paved, gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    await _catalog(gql, pool, requiresApproval=True)
    before = await _counts(pool)
    argv = ("resources", "request", "pay-api", "staging", "postgres", "db", "--dry-run")
    code, out, err = await paved(*argv, "--param", "highAvailability=true")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "plan:"
    assert any("approval" in line for line in lines[1:])
    assert _parameters_line(lines) == {"size": "S", "version": 16, "highAvailability": True}
    assert "required approvals: 1" in lines
    assert lines[-1] == "dry run: nothing changed"
    planned = await paved.json(*argv)
    assert planned["resource"] is None
    assert planned["plan"]["requiredApprovals"] == 1
    assert await _counts(pool) == before


async def test_a_provider_failure_exits_1_with_its_message(
    paved: Paved, gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    await _catalog(gql, pool)
    code, out, err = await paved(
        "resources", "request", "pay-api", "staging", "postgres", "db",
        "--param", "label=doomed", "--wait", *FAST,
    )  # fmt: skip
    assert code == 1
    assert out.splitlines()[-1].startswith("db of pay-api in staging: FAILED")
    [line] = err.splitlines()
    assert line.startswith("paved: resource db of pay-api in staging FAILED: ")
    assert "doomed" in line


async def test_waiting_for_a_request_that_failed_already_exits_1_at_once(
    paved: Paved, gql: GraphQLClient, pool: asyncpg.Pool, app: Starlette
) -> None:
    await _catalog(gql, pool)
    argv = ("resources", "request", "pay-api", "staging", "postgres", "db",
            "--param", "label=doomed", "--idempotency-key", "doomed-db")  # fmt: skip
    assert (await paved(*argv))[0] == 0
    await provisioned(app)
    # The replay answers the FAILED resource: nothing to wait for.
    code, out, err = await paved(*argv, "--wait", "--interval", "0.02", "--timeout", "5")
    assert code == 1
    assert out.startswith("resource db of pay-api in staging (postgres): FAILED  id ")
    [line] = err.splitlines()
    assert line.startswith("paved: resource db of pay-api in staging FAILED: ")
    assert "doomed" in line


async def test_wait_goes_on_through_approvals_said_once(
    paved: Paved, gql: GraphQLClient, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await seed(gql, pool)
    await environments(gql)
    await postgres_class(gql, requiresApproval=True, approverTeams=["web"])
    bob = gql.with_token(await token(store, Scope.READ, Scope.APPROVE, user="bob"))
    monkeypatch.setenv("PAVED_TOKEN", await token(store, Scope.READ, Scope.WRITE, user="ana"))
    argv = ["resources", "request", "pay-api", "prod", "postgres", "db", "--wait", *FAST]

    waiting = asyncio.create_task(paved(*argv))
    [resource] = await _until_listed(gql, 1)
    assert resource["state"] == "WAITING_APPROVAL"
    await asyncio.sleep(0.2)  # ten polls or so
    assert not waiting.done()
    approved = await bob.mutate("approveResource", "resource { id }", resource=resource["id"])
    assert approved["errors"] == []

    code, out, err = await asyncio.wait_for(waiting, 10)
    assert (code, err) == (0, ""), (out, err)
    notes = [line for line in out.splitlines() if "waits for approval" in line]
    assert notes == [
        "db of pay-api in prod waits for approval by its approvers; still waiting "
        "(Ctrl-C stops the waiting, not the request)"
    ]
    assert _at(out.splitlines(), "db of pay-api in prod: READY")

    # A rejection ends the request, and the waiting with exit 1.
    waiting = asyncio.create_task(paved(*argv[:5], "db2", *argv[6:]))
    found = await _until_listed(gql, 2)
    rejected = await bob.mutate(
        "rejectResource", "resource { state }", resource=found[1]["id"], comment="too big"
    )
    assert rejected["resource"] == {"state": "FAILED"}
    code, out, err = await asyncio.wait_for(waiting, 10)
    assert code == 1
    assert err.startswith("paved: resource db2 of pay-api in prod FAILED: ")
    assert "too big" in err


async def test_wait_gives_up_after_the_timeout(
    paved: Paved, gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    await _catalog(gql, pool, requiresApproval=True)
    code, _, err = await paved(
        "resources", "request", "pay-api", "staging", "postgres", "db", "--wait",
        "--interval", "0.02", "--timeout", "0.1",
    )  # fmt: skip
    assert code == 1
    [line] = err.splitlines()
    assert line.startswith("paved: gave up waiting after 0.1 s: db of pay-api in staging (id ")
    assert line.endswith(") is still WAITING_APPROVAL")


async def test_delete_waits_until_deleted(
    paved: Paved, gql: GraphQLClient, pool: asyncpg.Pool, app: Starlette
) -> None:
    await _catalog(gql, pool)
    made = await paved.json("resources", "request", "pay-api", "staging", "postgres", "db")
    resource_id = made["resource"]["id"]
    await provisioned(app)

    code, out, err = await paved("resources", "delete", resource_id, "--wait", *FAST)
    assert (code, err) == (0, ""), (out, err)
    lines = out.splitlines()
    assert lines[0] == f"resource db of pay-api in staging (postgres): DELETING  id {resource_id}"
    assert lines[-1].startswith("db of pay-api in staging: DELETED")
    assert await state_of(gql, resource_id) == "DELETED"

    code, out, err = await paved("resources", "delete", resource_id)
    assert (code, out) == (1, "")
    assert err.startswith("paved: PRECONDITION_FAILED: ")
    assert len(err.splitlines()) == 1


async def test_list_as_a_table_and_as_json_through_every_page(
    paved: Paved, gql: GraphQLClient, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _catalog(gql, pool)
    code, out, err = await paved("resources", "list")
    assert (code, out, err) == (0, "no resources\n", "")
    for service, environment, name in (
        ("pay-api", "staging", "db"), ("pay-api", "prod", "db"), ("web-api", "staging", "db"),
        ("web-api", "staging", "cache"), ("pay-api", "staging", "reports"),
    ):  # fmt: skip
        asked = await paved.json("resources", "request", service, environment, "postgres", name)
        assert asked["errors"] == []
    monkeypatch.setattr(resources_cli, "PAGE_SIZE", 2)

    code, out, err = await paved("resources", "list")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "SERVICE", "ENVIRONMENT", "CLASS", "STATE", "ID"]
    rows = [line.split() for line in lines[1:]]
    assert [row[:4] for row in rows] == [
        ["db", "pay-api", "staging", "postgres"], ["db", "pay-api", "prod", "postgres"],
        ["db", "web-api", "staging", "postgres"], ["cache", "web-api", "staging", "postgres"],
        ["reports", "pay-api", "staging", "postgres"],
    ]  # fmt: skip
    assert [row[5] for row in rows] == [r["id"] for r in await _listed(gql)]

    listed = await paved.json("resources", "list", "--service", "pay-api")
    assert listed["resources"]["totalCount"] == 3
    assert [r["name"] for r in listed["resources"]["nodes"]] == ["db", "db", "reports"]
    listed = await paved.json(
        "resources", "list", "--service", "pay-api", "--environment", "staging"
    )
    assert [r["name"] for r in listed["resources"]["nodes"]] == ["db", "reports"]
    assert listed["resources"]["nodes"][0]["class"] == {"slug": "postgres"}


class _AnswerLostOnce(httpx.AsyncBaseTransport):
    """The app in-process; the first request reaches it, but its answer is lost."""

    def __init__(self, app: Starlette) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self.sent: list[dict[str, Any]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(json.loads(await request.aread()))
        response = await self._inner.handle_async_request(request)
        if len(self.sent) == 1:
            await response.aread()
            raise httpx.ReadError("connection reset by peer")
        return response


async def test_a_request_whose_answer_was_lost_is_sent_again_and_not_doubled(
    app: Starlette,
    gql: GraphQLClient,
    pool: asyncpg.Pool,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _catalog(gql, pool)
    monkeypatch.setattr(api_client, "RESEND_PAUSES", (0.01,))
    transport = _AnswerLostOnce(app)
    argv = ["resources", "request", "pay-api", "staging", "postgres", "db"]
    code = await paved_cli.run(argv, transport=transport)
    out, err = capsys.readouterr()
    assert (code, err) == (0, ""), (out, err)
    [resource] = await _listed(gql)
    # The replay answers the resource as it is now (perhaps READY already): the same one.
    assert out.startswith("resource db of pay-api in staging (postgres): ")
    assert out.endswith(f"  id {resource['id']}\n")
    first, second = transport.sent
    assert first == second
    assert first["query"] == REQUEST_RESOURCE
    assert uuid.UUID(first["variables"]["input"]["idempotencyKey"])


async def test_bad_parameters_are_usage_errors_before_any_request(
    capsys: pytest.CaptureFixture[str],
) -> None:
    class Counting(httpx.AsyncBaseTransport):
        requests = 0

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            Counting.requests += 1
            raise AssertionError("no request is sent")

    request = ["resources", "request", "pay-api", "staging", "postgres", "db"]
    for argv, message in (
        (
            [*request, "--param", "size"],
            "Invalid value for '--param': expected KEY=VALUE, not 'size'"
            " (see 'paved resources request --help')",
        ),
        (
            [*request, "--param", "=M"],
            "Invalid value for '--param': expected KEY=VALUE, not '=M'"
            " (see 'paved resources request --help')",
        ),
        (
            [*request, "--param", "size=M", "--param", "size=L"],
            "Invalid value for '--param': 'size' is given twice"
            " (see 'paved resources request --help')",
        ),
        (
            ["new", "svc-template", "orders", "--owner", "pay", "--param", "a=1", "--param", "a=1"],
            "Invalid value for '--param': 'a' is given twice (see 'paved new --help')",
        ),
    ):
        assert await paved_cli.run(argv, transport=Counting()) == 2
        out, err = capsys.readouterr()
        assert (out, err) == ("", f"paved: {message}\n")
    assert Counting.requests == 0


async def test_no_token_is_ever_printed(
    paved: Paved, gql: GraphQLClient, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await seed(gql, pool)
    await environments(gql)
    await postgres_class(gql)
    await _template(gql)
    secret = await token(store, Scope.READ, Scope.WRITE, user="ana")
    monkeypatch.setenv("PAVED_TOKEN", secret)
    request = ("resources", "request", "pay-api", "staging", "postgres")
    printed: list[str] = []
    for argv in (
        (*request, "db", "--param", "size=M"),
        (*request, "db2", "--param", "size=M", "--json"),
        (*request, "db3", "--param", "size=XXL"),
        ("resources", "list"),
        ("resources", "list", "--json"),
        ("new", "svc-template", "orders", "--owner", "pay", "--dry-run"),
        ("new", "svc-template", "orders", "--owner", "pay", "--dry-run", "--json"),
    ):
        _, out, err = await paved(*argv)
        printed += [out, err]
    assert any('"size": "M"' in text for text in printed)  # the commands did answer
    assert not any(secret in text for text in printed)

    bad = "paved_" + "x" * 43 + "abcdef"
    monkeypatch.setenv("PAVED_TOKEN", bad)
    code, out, err = await paved("resources", "list")
    assert (code, out) == (4, "")
    assert err.startswith("paved: the API at http://127.0.0.1:8000/graphql answered HTTP 401")
    assert len(err.splitlines()) == 1
    assert bad not in err


# --- the golden path ---------------------------------------------------------------------------


TEMPLATE_SCHEMA = {
    "type": "object",
    "properties": {"size": {"enum": ["S", "M", "L"], "default": "S"}},
}


async def _template(gql: GraphQLClient, first_version: str | None = "1.0.0") -> None:
    created = await gql.mutate(
        "createTemplate", "template { slug }", slug="svc-template", name="A service",
        parametersSchema=TEMPLATE_SCHEMA, environments=["staging", "prod"],
        resources=[{"class": "postgres", "name": "db", "parameters": {"size": "${size}"}}],
        firstVersion=first_version,
    )  # fmt: skip
    assert created["errors"] == [], created


async def test_new_dry_run_prints_the_plan_and_writes_nothing(
    paved: Paved, gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    await _catalog(gql, pool)
    await _template(gql)
    before = await _counts(pool)
    argv = ("new", "svc-template", "orders", "--owner", "pay", "--param", "size=M", "--dry-run")
    code, out, err = await paved(*argv)
    assert (code, err) == (0, ""), (out, err)
    lines = out.splitlines()
    assert lines[0] == "plan:"
    assert any("request postgres 'db' in staging" in line for line in lines)
    assert any("deploy 1.0.0 to staging" in line for line in lines)
    assert _parameters_line(lines) == {"size": "M"}
    assert lines[-1] == "dry run: nothing changed"
    planned = await paved.json(*argv)
    assert (planned["service"], planned["resources"]) == (None, [])
    assert await _counts(pool) == before
    assert await pool.fetchval("SELECT count(*) FROM services WHERE slug = 'orders'") == 0

    code, out, err = await paved("new", "svc-template", "orders", "--owner", "pay", "--param",
                                 "size=XXL")  # fmt: skip
    assert (code, out) == (1, "")
    assert err.startswith("paved: VALIDATION: ")
    assert err.rstrip().endswith("(input.parameters.size)")


async def test_new_without_a_first_version_waits_for_its_resources(
    paved: Paved, gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    await _catalog(gql, pool)
    await _template(gql, first_version=None)
    code, out, err = await paved("new", "svc-template", "orders", "--owner", "pay", "--wait",
                                 *FAST)  # fmt: skip
    assert (code, err) == (0, ""), (out, err)
    lines = out.splitlines()
    assert lines[0].startswith("service orders (orders) owned by pay, from svc-template  id ")
    assert _at(lines, "db of orders in staging: READY") > 0
    assert _at(lines, "db of orders in prod: READY") > 0
    assert not any(line.startswith("deployment ") for line in lines)


@pytest.fixture
async def served(migrated_url: str, pool: asyncpg.Pool) -> AsyncIterator[Served]:
    async with served_app(served_settings(migrated_url)) as served:
        yield served


async def test_new_waits_for_the_resources_then_the_first_deployment(
    served: Served,
    pool: asyncpg.Pool,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PAVED_API_URL", served.url)
    async with httpx.AsyncClient(base_url=served.url.removesuffix("/graphql")) as http:
        gql = GraphQLClient(http)
        await _catalog(gql, pool)
        await _template(gql)
        argv = ["new", "svc-template", "orders", "--owner", "pay", "--name", "Orders",
                "--description", "takes orders", "--param", "size=M", "--wait", *FAST]  # fmt: skip
        code = await paved_cli.run(argv)
        out, err = capsys.readouterr()
        assert (code, err) == (0, ""), (out, err)
        lines = out.splitlines()
        assert lines[0].startswith("service orders (Orders) owned by pay, from svc-template  id ")
        assert lines[1] == "resources:"
        table = [line.split() for line in lines[2:5]]
        assert [row[:4] for row in table] == [
            ["ENVIRONMENT", "NAME", "CLASS", "STATE"],
            ["prod", "db", "postgres", "REQUESTED"],
            ["staging", "db", "postgres", "REQUESTED"],
        ]
        assert _at(lines, "db of orders in prod: READY") > 0
        [started] = [line for line in lines if line.startswith("deployment #1 of orders")]
        assert started.startswith("deployment #1 of orders 1.0.0 to staging (DEPLOY): ")
        assert lines.index(started) > _at(lines, "db of orders in staging: READY")
        assert "SUCCEEDED" in lines[-1], "followed to the end (or found finished already)"

        found = await gql(
            '{ service(slug: "orders") { name description resources { state parameters } '
            "deployments { nodes { version state environment { slug } } } } }"
        )
        service = found["service"]
        assert (service["name"], service["description"]) == ("Orders", "takes orders")
        assert [r["state"] for r in service["resources"]] == ["READY", "READY"]
        assert {r["parameters"]["size"] for r in service["resources"]} == {"M"}
        assert service["deployments"]["nodes"] == [
            {"version": "1.0.0", "state": "SUCCEEDED", "environment": {"slug": "staging"}}
        ]

        # As JSON: the payload, then each change, the deployment's last.
        argv = ["new", "svc-template", "billing", "--owner", "pay", "--wait", "--json", *FAST]
        code = await paved_cli.run(argv)
        out, err = capsys.readouterr()
        assert (code, err) == (0, ""), (out, err)
        documents = json_documents(out)
        assert documents[0]["service"]["slug"] == "billing"
        assert documents[-1]["state"] == "SUCCEEDED"


def test_paved_main_knows_the_resource_commands(capsys: pytest.CaptureFixture[str]) -> None:
    from cli.main import main

    for argv, wanted in (
        (["resources", "request", "--help"], "--param KEY=VALUE"),
        (["resources", "list", "--help"], "--environment"),
        (["resources", "delete", "--help"], "--expected-version"),
        (["new", "--help"], "--owner TEAM"),
    ):
        assert main(argv) == 0
        assert wanted in capsys.readouterr().out
    assert main(["resources", "list", "--api-url", "http://127.0.0.1:9/graphql"]) == 3
    assert capsys.readouterr().err.startswith("paved: cannot reach the API at ")
