"""`paved deploy --wait` and `paved status --follow` follow deployments through the
`deploymentUpdated` subscription (SSE), and poll only when the server offers no stream."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg
import httpx2 as httpx
import pytest
from starlette.applications import Starlette

from api.graphql_http import GraphQLEndpoint
from cli import main as paved_cli
from tests.support.access import seed
from tests.support.deployments import environments
from tests.support.graphql import GraphQLClient
from tests.support.polls import a_state_poll_in_flight
from tests.support.served import Served, served_app, served_settings

FAST = ("--interval", "0.02", "--timeout", "20")


@pytest.fixture(autouse=True)
def no_client_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PAVED_API_URL", raising=False)
    monkeypatch.delenv("PAVED_TOKEN", raising=False)


@pytest.fixture(autouse=True)
async def polls_in_flight_forgiven(
    client: httpx.AsyncClient, endpoint: GraphQLEndpoint
) -> AsyncIterator[None]:
    """Polling a deployment its rollout moves meanwhile may show two moments of it."""
    yield
    endpoint.disagreements[:] = [d for d in endpoint.disagreements if not a_state_poll_in_flight(d)]


class Recording(httpx.AsyncBaseTransport):
    """The app in-process, counting subscription streams and state polls; `refuse_streams`
    plays a server without subscriptions."""

    def __init__(self, app: Starlette, *, refuse_streams: bool = False) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self._refuse = refuse_streams
        self.streams = 0
        self.polls = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if "text/event-stream" in request.headers.get("accept", ""):
            self.streams += 1
            if self._refuse:
                return httpx.Response(406, json={"errors": [{"message": "no streams here"}]})
        elif b"DeploymentState" in await request.aread():
            self.polls += 1
        return await self._inner.handle_async_request(request)


@pytest.mark.parametrize("refuse_streams", [False, True], ids=["stream", "no stream"])
async def test_deploy_wait_follows_the_subscription_and_polls_only_without_one(
    app: Starlette,
    client: httpx.AsyncClient,
    gql: GraphQLClient,
    pool: asyncpg.Pool,
    capsys: pytest.CaptureFixture[str],
    refuse_streams: bool,
) -> None:
    await seed(gql, pool)
    await environments(gql)
    transport = Recording(app, refuse_streams=refuse_streams)
    argv = ("deploy", "pay-api", "staging", "1.0", "--wait", *FAST)
    code = await paved_cli.run(argv, transport=transport)
    out, err = capsys.readouterr()
    assert (code, err) == (0, ""), (out, err)
    assert out.splitlines()[-1].startswith("SUCCEEDED")
    assert transport.streams == 1
    if refuse_streams:
        assert transport.polls >= 1
    else:
        assert transport.polls == 0


@pytest.fixture
async def served(migrated_url: str, pool: asyncpg.Pool) -> AsyncIterator[Served]:
    async with served_app(served_settings(migrated_url)) as served:
        yield served


async def test_status_follow_prints_each_change_as_it_happens(
    served: Served, pool: asyncpg.Pool, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("PAVED_API_URL", served.url)
    async with httpx.AsyncClient(base_url=served.url.removesuffix("/graphql")) as http:
        gql = GraphQLClient(http)
        await seed(gql, pool)
        await environments(gql)
        follow = asyncio.create_task(paved_cli.run(["status", "pay-api", "--follow"]))
        try:
            seen = await _printed(capsys, "ENVIRONMENT")
            assert "pay-api (pay)" in seen
            deployed = await gql.mutate(
                "deploy", "deployment { id }", service="pay-api", environment="staging",
                version="2.5",
            )  # fmt: skip
            assert deployed["errors"] == []
            seen += await _printed(capsys, "SUCCEEDED")
            lines = [line for line in seen.splitlines() if line.startswith("staging  2.5")]
            assert lines[-1].split()[3] == "SUCCEEDED", seen
            assert deployed["deployment"]["id"] in lines[-1]
        finally:
            follow.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follow


async def _printed(capsys: pytest.CaptureFixture[str], wanted: str) -> str:
    """What the command printed until `wanted` showed up (at most 10 s)."""
    seen = ""
    for _ in range(500):
        seen += capsys.readouterr().out
        if wanted in seen:
            return seen
        await asyncio.sleep(0.02)
    raise AssertionError(f"{wanted!r} was never printed: {seen!r}")
