"""`paved deploy`, `promote`, `rollback`, `approve`, `reject`, `cancel`, `status` and `releases`
against the app in-process: the commands talk GraphQL over HTTP through an ASGI transport,
with the simulated provider doing the rollouts in the app's own runner."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx2 as httpx
import pytest
from starlette.applications import Starlette

from api.graphql_http import GraphQLEndpoint
from cli import main as paved_cli
from domain.access.model import Scope
from reads.verification import Disagreement
from tests.support.access import seed, token
from tests.support.cli import Paved
from tests.support.deployments import environments, settled
from tests.support.graphql import GraphQLClient
from tests.support.polls import a_state_poll_in_flight

FAST = ("--interval", "0.02", "--timeout", "20")
STARTED = re.compile(r"\(DEPLOY\): (?:QUEUED|IN_PROGRESS)  id (\S+)")


@pytest.fixture(autouse=True)
def no_client_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the developer's shell says, the commands start without a URL or token."""
    monkeypatch.delenv("PAVED_API_URL", raising=False)
    monkeypatch.delenv("PAVED_TOKEN", raising=False)


def _a_poll_in_flight(disagreement: Disagreement) -> bool:
    """A state poll in flight (`tests.support.polls`), or a test polling the listing while the
    command creates a deployment."""
    if disagreement.query == DEPLOYMENTS:
        return _a_listing_in_flight(disagreement)
    return a_state_poll_in_flight(disagreement)


def _a_listing_in_flight(disagreement: Disagreement) -> bool:
    """The later read holds every deployment of the earlier one, unchanged but for its state,
    and perhaps new ones."""
    moment = {"state"}

    def listed(body: bytes) -> dict[str, dict[str, Any]]:
        nodes = json.loads(body)["data"]["service"]["deployments"]["nodes"]
        return {node["id"]: {k: v for k, v in node.items() if k not in moment} for node in nodes}

    earlier, later = listed(disagreement.fast), listed(disagreement.reference)
    return all(later.get(id_) == node for id_, node in earlier.items())


@pytest.fixture
async def paved(
    app: Starlette,
    client: httpx.AsyncClient,
    endpoint: GraphQLEndpoint,
    capsys: pytest.CaptureFixture[str],
) -> AsyncIterator[Paved]:
    yield Paved(app, capsys)
    endpoint.disagreements[:] = [d for d in endpoint.disagreements if not _a_poll_in_flight(d)]


DEPLOYMENTS = (
    "query($s: String!) { service(slug: $s) { deployments(first: 50) "
    "{ nodes { id version state kind environment { slug } } } } }"
)


async def deployments(gql: GraphQLClient, service: str) -> list[dict[str, Any]]:
    data = await gql(DEPLOYMENTS, s=service)
    nodes: list[dict[str, Any]] = data["service"]["deployments"]["nodes"]
    return nodes


async def test_deploy_waits_for_success(
    paved: Paved, gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    await seed(gql, pool)
    await environments(gql)
    code, out, err = await paved(
        "deploy", "pay-api", "staging", "1.4.2", "--commit", "abc1234", "--description", "fix",
        "--wait", *FAST,
    )  # fmt: skip
    assert (code, err) == (0, ""), (out, err)
    lines = out.splitlines()
    assert lines[0].startswith("deployment #1 of pay-api 1.4.2 to staging (DEPLOY): QUEUED")
    assert lines[-1].startswith("SUCCEEDED")
    [deployment] = await deployments(gql, "pay-api")
    assert deployment["version"] == "1.4.2"
    assert deployment["state"] == "SUCCEEDED"
    assert deployment["id"] in lines[0]


async def test_a_failing_version_exits_1_with_the_message(
    paved: Paved, gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    await seed(gql, pool)
    await environments(gql)
    code, out, err = await paved("deploy", "pay-api", "staging", "2.0.0-broken", "--wait", *FAST)
    assert code == 1
    assert out.splitlines()[-1].startswith("FAILED")
    assert err == (
        "paved: deployment FAILED: simulated failure: version 2.0.0-broken matches failVersions\n"
    )


async def test_deploy_without_wait_returns_at_once_and_json_is_the_payload(
    paved: Paved, gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    await seed(gql, pool)
    await environments(gql)
    payload = await paved.json("deploy", "pay-api", "slow", "7", "--idempotency-key", "k-1")
    assert payload["errors"] == []
    assert payload["deployment"]["state"] in ("QUEUED", "IN_PROGRESS")
    replay = await paved.json("deploy", "pay-api", "slow", "7", "--idempotency-key", "k-1")
    assert replay["deployment"]["id"] == payload["deployment"]["id"]
    code, out, err = await paved("cancel", payload["deployment"]["id"])
    assert (code, err) == (0, "")
    assert out.rstrip().endswith(f"CANCELED  id {payload['deployment']['id']}")


async def test_wait_gives_up_after_the_timeout(
    paved: Paved, gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    await seed(gql, pool)
    await environments(gql)
    code, _, err = await paved(
        "deploy", "pay-api", "slow", "1", "--wait", "--interval", "0.02", "--timeout", "0.1"
    )
    assert code == 1
    assert err.startswith("paved: gave up waiting after 0.1 s: deployment ")
    assert len(err.splitlines()) == 1


async def test_a_dry_run_promotion_prints_the_plan_and_changes_nothing(
    paved: Paved, gql: GraphQLClient, pool: asyncpg.Pool, app: Starlette
) -> None:
    await seed(gql, pool)
    await environments(gql, requiredApprovals=1, approverTeams=["web"])
    assert (await paved("deploy", "pay-api", "staging", "2.0", "--wait", *FAST))[0] == 0
    code, out, err = await paved("promote", "pay-api", "staging", "prod", "--dry-run")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "plan: promote pay-api from staging to prod: (nothing) -> 2.0",
        "required approvals: 1",
        "frozen: no",
        "dry run: nothing changed",
    ]
    plan = await paved.json("promote", "pay-api", "staging", "prod", "--dry-run")
    assert plan["plan"] == {
        "fromVersion": None,
        "toVersion": "2.0",
        "requiredApprovals": 1,
        "frozen": False,
    }
    assert plan["deployment"] is None
    assert [d["environment"]["slug"] for d in await deployments(gql, "pay-api")] == ["staging"]


async def test_promote_then_roll_back(
    paved: Paved, gql: GraphQLClient, pool: asyncpg.Pool, app: Starlette
) -> None:
    await seed(gql, pool)
    await environments(gql)
    for version in ("1.0", "2.0"):
        assert (await paved("deploy", "pay-api", "staging", version, "--wait", *FAST))[0] == 0
    code, out, err = await paved("promote", "pay-api", "staging", "prod", "--wait", *FAST)
    assert (code, err) == (0, ""), err
    assert "of pay-api 2.0 to prod (PROMOTION)" in out.splitlines()[0]
    assert out.splitlines()[-1].startswith("SUCCEEDED")

    code, out, err = await paved("rollback", "pay-api", "staging", "--wait", *FAST)
    assert (code, err) == (0, ""), err
    assert "of pay-api 1.0 to staging (ROLLBACK)" in out.splitlines()[0]
    assert out.splitlines()[-1].startswith("SUCCEEDED")
    await settled(app)
    data = await gql(
        '{ service(slug: "pay-api") { currentDeployment(environment: "staging") '
        "{ version kind } } }"
    )
    assert data["service"]["currentDeployment"] == {"version": "1.0", "kind": "ROLLBACK"}


async def test_roll_back_to_a_named_deployment_following_it_as_json(
    paved: Paved, gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    await seed(gql, pool)
    await environments(gql)
    first, *changes = await paved.json_stream("deploy", "pay-api", "prod", "1.0", "--wait", *FAST)
    assert first["errors"] == []
    assert first["deployment"]["version"] == "1.0"
    assert changes[-1] == {
        "id": first["deployment"]["id"],
        "state": "SUCCEEDED",
        "rawStatus": "succeeded",
        "statusMessage": None,
    }
    for version in ("2.0", "3.0"):
        assert (await paved("deploy", "pay-api", "prod", version, "--wait", *FAST))[0] == 0
    code, out, err = await paved(
        "rollback", "pay-api", "prod", "--to", first["deployment"]["id"], "--wait", *FAST
    )
    assert (code, err) == (0, ""), err
    assert "of pay-api 1.0 to prod (ROLLBACK)" in out


async def test_a_protected_environment_waits_for_an_approver(
    paved: Paved, gql: GraphQLClient, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await seed(gql, pool)
    await environments(gql, requiredApprovals=1, approverTeams=["web"])
    ana = await token(store, Scope.READ, Scope.DEPLOY, Scope.APPROVE, user="ana")
    bob = await token(store, Scope.READ, Scope.APPROVE, user="bob")

    monkeypatch.setenv("PAVED_TOKEN", ana)
    # The command reads its settings before its first request, so bob's token, set below
    # while it waits, is not the one it sends.
    waiting = asyncio.create_task(
        paved_cli.run(
            ["deploy", "pay-api", "prod", "3", "--wait", *FAST],
            transport=httpx.ASGITransport(app=paved.app),
        )
    )
    await asyncio.sleep(0)
    async with asyncio.timeout(10):
        while True:
            pending = await deployments(gql, "pay-api")
            if pending:
                break
            await asyncio.sleep(0.01)
    [deployment] = pending
    assert deployment["state"] == "WAITING_APPROVAL"
    await asyncio.sleep(0.1)
    assert not waiting.done()

    code, _, err = await paved("approve", deployment["id"])
    assert code == 1
    assert err.startswith("paved: FORBIDDEN: ")
    assert len(err.splitlines()) == 1
    monkeypatch.setenv("PAVED_TOKEN", bob)
    code, _, err = await paved("approve", deployment["id"], "--comment", "ok")
    assert (code, err) == (0, "")

    assert await asyncio.wait_for(waiting, 10) == 0
    paved.read()
    lines = "".join(paved.transcript).splitlines()
    waited = f"deployment #1 of pay-api 3 to prod (DEPLOY): WAITING_APPROVAL  id {deployment['id']}"
    assert waited in lines
    # The approver's own output may come before or after the waiting command's last line.
    followed = [line for line in lines[lines.index(waited) :] if "(DEPLOY)" not in line]
    assert followed[-1].startswith("SUCCEEDED"), lines
    assert (await deployments(gql, "pay-api"))[0]["state"] == "SUCCEEDED"


async def test_a_rejection_cancels_and_a_waiting_deploy_exits_1(
    paved: Paved, gql: GraphQLClient, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await seed(gql, pool)
    await environments(gql, requiredApprovals=1, approverTeams=["web"])
    monkeypatch.setenv("PAVED_TOKEN", await token(store, Scope.READ, Scope.DEPLOY, user="ana"))
    started = await paved.json("deploy", "pay-api", "prod", "4")
    assert started["deployment"]["state"] == "WAITING_APPROVAL"
    deployment_id = started["deployment"]["id"]
    monkeypatch.setenv("PAVED_TOKEN", await token(store, Scope.READ, Scope.APPROVE, user="bob"))
    code, out, err = await paved("reject", deployment_id, "--comment", "not today")
    assert (code, err) == (0, "")
    assert out == f"deployment #1 of pay-api 4 to prod (DEPLOY): CANCELED  id {deployment_id}\n"
    code, _, err = await paved("approve", deployment_id)
    assert code == 1
    assert err.startswith("paved: PRECONDITION_FAILED: ")


async def test_a_waited_on_deployment_canceled_meanwhile_exits_1(
    paved: Paved, gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    await seed(gql, pool)
    await environments(gql)
    waiting = asyncio.create_task(
        paved_cli.run(
            ["deploy", "pay-api", "slow", "5", "--wait", *FAST],
            transport=httpx.ASGITransport(app=paved.app),
        )
    )
    # Its id from what it printed: reading the moving deployment here could catch the two
    # read paths at two moments of it.
    async with asyncio.timeout(10):
        while not (started := STARTED.search("".join(paved.transcript))):
            await asyncio.sleep(0.01)
            paved.read()
    code, _, canceling = await paved("cancel", started.group(1))
    assert code == 0
    assert await asyncio.wait_for(waiting, 10) == 1
    # Both commands write to this one process's stderr: the waiting one's line may land in
    # what the cancel printed, or after it.
    _, err = paved.read()
    assert (canceling + err).startswith("paved: deployment CANCELED: ")
    # The waiter's last state line (the canceler's own line may come before or after it).
    lines = "".join(paved.transcript).splitlines()
    assert any(line.startswith("CANCELED") for line in lines)


async def test_a_frozen_environment_refuses_with_exit_1(
    paved: Paved, gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    await seed(gql, pool)
    await environments(gql)
    frozen = await gql.mutate(
        "freezeEnvironment", "environment { slug }", environment="prod", reason="holiday freeze"
    )
    assert frozen["errors"] == []
    code, out, err = await paved("deploy", "pay-api", "prod", "1", "--wait", *FAST)
    assert code == 1
    assert out == ""
    assert err.startswith("paved: PRECONDITION_FAILED: ")
    assert "holiday freeze" in err
    assert len(err.splitlines()) == 1
    assert await deployments(gql, "pay-api") == []


async def test_invalid_input_names_its_path(
    paved: Paved, gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    await seed(gql, pool)
    await environments(gql)
    code, _, err = await paved("deploy", "pay-api", "nowhere", "1")
    assert code == 1
    assert err.startswith("paved: NOT_FOUND: ")
    code, _, err = await paved("cancel", "not-an-id")
    assert code == 1
    assert err.startswith("paved: ")
    assert len(err.splitlines()) == 1


async def test_status_per_environment(paved: Paved, gql: GraphQLClient, pool: asyncpg.Pool) -> None:
    await seed(gql, pool)
    # Waiting for approval, the pending deployment holds still while it is read.
    await environments(gql, requiredApprovals=1, approverTeams=["web"])
    assert (await paved("deploy", "pay-api", "staging", "1.0", "--wait", *FAST))[0] == 0
    coming = await paved.json("deploy", "pay-api", "prod", "9")
    code, out, err = await paved("status", "pay-api")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "pay-api (pay)"
    assert lines[1].split() == ["ENVIRONMENT", "VERSION", "STATE", "#", "FINISHED", "PENDING"]
    rows = {line.split()[0]: line.split() for line in lines[2:]}
    assert set(rows) == {"staging", "prod", "slow"}
    assert rows["staging"][1:4] == ["1.0", "SUCCEEDED", "1"]
    assert rows["staging"][4] != "-"
    assert rows["staging"][5] == "-"
    assert rows["slow"][1:] == ["-"] * 5
    assert rows["prod"][1:] == [
        "-",
        "-",
        "-",
        "-",
        "9",
        "WAITING_APPROVAL",
        "(#1,",
        "id",
        f"{coming['deployment']['id']})",
    ]

    data = await paved.json("status", "pay-api")
    by_environment = {e["environment"]["slug"]: e for e in data["service"]["environments"]}
    assert by_environment["staging"]["current"]["version"] == "1.0"
    assert [d["version"] for d in by_environment["prod"]["pending"]] == ["9"]
    assert by_environment["slow"] == {
        "environment": {"slug": "slow", "name": "slow"},
        "current": None,
        "pending": [],
    }

    code, out, err = await paved("status", "nope")
    assert (code, out) == (1, "")
    assert err == "paved: NOT_FOUND: no service 'nope'\n"


async def test_releases_follow_every_page(
    paved: Paved, gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    await seed(gql, pool)
    await environments(gql)
    assert (await paved("deploy", "pay-api", "staging", "1.0", "--wait", *FAST))[0] == 0
    assert (await paved("deploy", "web-api", "prod", "5.1", "--wait", *FAST))[0] == 0

    code, out, err = await paved(
        "releases", "--environment", "staging", "--environment", "prod", "--page-size", "1"
    )
    assert (code, err) == (0, "")
    assert [line.split() for line in out.splitlines()] == [
        ["SERVICE", "staging", "prod"],
        ["pay-api", "1.0", "-"],
        ["web-api", "-", "5.1"],
    ]
    everything = await paved.json("releases", "--page-size", "1")
    assert everything["releaseMatrix"]["totalCount"] == 2
    assert [row["service"]["slug"] for row in everything["releaseMatrix"]["nodes"]] == [
        "pay-api",
        "web-api",
    ]
    owned = await paved.json("releases", "--owner", "web")
    assert [row["service"]["slug"] for row in owned["releaseMatrix"]["nodes"]] == ["web-api"]


async def test_a_bad_token_is_one_line_and_exit_4(
    paved: Paved, gql: GraphQLClient, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed(gql, pool)
    secret = "paved_" + "x" * 43 + "abcdef"
    monkeypatch.setenv("PAVED_TOKEN", secret)
    code, out, err = await paved("status", "pay-api")
    assert (code, out) == (4, "")
    assert len(err.splitlines()) == 1
    assert err.startswith("paved: the API at http://127.0.0.1:8000/graphql answered HTTP 401")
    assert err.rstrip().endswith("(check PAVED_TOKEN, or run `paved login`)")
    assert secret not in err
    assert "Traceback" not in err


async def test_an_unreachable_api_is_one_line_and_exit_3_and_a_bad_url_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "paved_" + "y" * 43 + "abcdef"
    monkeypatch.setenv("PAVED_TOKEN", secret)
    monkeypatch.setenv("PAVED_API_URL", "http://user:pw@127.0.0.1:9/graphql")
    code = await paved_cli.run(["deploy", "pay-api", "prod", "1", "--wait"])
    out, err = capsys.readouterr()
    assert (code, out) == (3, "")
    assert err.startswith("paved: cannot reach the API at http://127.0.0.1:9/graphql: ")
    assert len(err.splitlines()) == 1
    assert secret not in err
    assert "pw" not in err
    code = await paved_cli.run(["status", "x", "--api-url", "localhost:8000"])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err == "paved: PAVED_API_URL: Value error, must be an http:// or https:// URL\n"


def test_paved_main_knows_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    from cli.main import main

    assert main(["promote", "--help"]) == 0
    assert "--dry-run" in capsys.readouterr().out
    assert main(["status", "x", "--api-url", "http://127.0.0.1:9/graphql"]) == 3
    assert capsys.readouterr().err.startswith("paved: cannot reach the API at ")
