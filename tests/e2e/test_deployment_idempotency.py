"""Replays of a deploy with one idempotency key: one deployment, and one provider call."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import pytest
from starlette.applications import Starlette

from api.bootstrap import Container, Overrides
from api.settings import Settings
from domain.deployments.model import Deployer, DeployRequest, ProviderUpdate
from providers.deployers.registry import build_deployer
from tests.support.access import seed
from tests.support.app import in_process_client, started_app
from tests.support.graphql import GraphQLClient

REPLAYS = 50


class CountingDeployer:
    """The real adapter, counting the rollouts it is asked to start."""

    def __init__(self, inner: Deployer, starts: list[int]) -> None:
        self._inner = inner
        self._starts = starts
        self.kind = inner.kind
        self.capabilities = inner.capabilities

    async def start(self, request: DeployRequest) -> ProviderUpdate:
        self._starts.append(request.deployment_id)
        return await self._inner.start(request)

    async def poll(self, request: DeployRequest, external_id: str | None) -> ProviderUpdate:
        return await self._inner.poll(request, external_id)

    async def cancel(self, request: DeployRequest, external_id: str | None) -> ProviderUpdate:
        return await self._inner.cancel(request, external_id)

    async def live_status(self, service: str, environment: str, settings: Mapping[str, Any]) -> Any:
        return await self._inner.live_status(service, environment, settings)


@pytest.fixture
async def counted_app(
    test_settings: Settings, pool: Any
) -> AsyncIterator[tuple[Starlette, list[int]]]:
    starts: list[int] = []

    def build(
        kind: str, settings: Mapping[str, Any], *, clock: Callable[[], float] = time.time
    ) -> Deployer:
        return CountingDeployer(build_deployer(kind, settings, clock=clock), starts)

    async with started_app(test_settings, Overrides(deployer_factory=build)) as app:
        yield app, starts


async def test_concurrent_replays_make_one_deployment_and_one_provider_call(
    counted_app: tuple[Starlette, list[int]],
) -> None:
    app, starts = counted_app
    async with in_process_client(app) as http:
        gql = GraphQLClient(http)
        await seed(gql, app.state.container.pool)
        created = await gql.mutate(
            "createEnvironment", "environment { slug }", slug="staging", name="Staging",
            tier="STAGING", provider={"kind": "simulated", "settings": {"durationSeconds": 0}},
        )  # fmt: skip
        assert created["errors"] == []
        replies = await asyncio.gather(
            *(
                gql.mutate(
                    "deploy",
                    "deployment { id }",
                    service="pay-api",
                    environment="staging",
                    version="7",
                    idempotencyKey="release-7",
                )
                for _ in range(REPLAYS)
            )
        )
        container: Container = app.state.container
        await asyncio.wait_for(container.rollouts.wait_idle(), 10)
    assert all(reply["errors"] == [] for reply in replies), replies
    assert len({reply["deployment"]["id"] for reply in replies}) == 1
    assert len(starts) == 1, starts
