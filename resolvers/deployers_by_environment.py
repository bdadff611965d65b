"""Which provider adapter serves each environment: built from the environment's provider
settings (`DeploymentStore.providers`) and kept, one per environment, while its kind and
settings stay the same, so an adapter's in-memory state (the simulated provider's rollouts, the
webhook provider's reports) lives as long as the process."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from providers.deployers.registry import build_deployer
from providers.deployment_ports import DeploymentStore, ProviderSettings
from providers.deployments import Deployer

Clock = Callable[[], float]


class DeployerFactory(Protocol):
    def __call__(
        self, kind: str, settings: Mapping[str, Any], *, clock: Clock = ...
    ) -> Deployer: ...


@dataclass(frozen=True, slots=True)
class EnvironmentDeployer:
    deployer: Deployer
    provider: ProviderSettings


class DeployerLookup(Protocol):
    """The port `Rollouts` and `LiveStatusLookup` use to reach an environment's adapter.
    Settings that cannot build one raise `InvalidProviderSettings` (a `ProviderError`)."""

    def for_settings(self, provider: ProviderSettings) -> Deployer: ...

    async def for_environments(
        self, environment_ids: Sequence[int]
    ) -> dict[int, EnvironmentDeployer]: ...


class DeployersByEnvironment:
    def __init__(
        self,
        store: DeploymentStore,
        *,
        clock: Clock = time.time,
        build: DeployerFactory = build_deployer,
    ) -> None:
        self._store = store
        self._clock = clock
        self._build = build
        self._built: dict[int, tuple[tuple[str, str], Deployer]] = {}

    def forget(self) -> None:
        """Drop every adapter built so far (and the rollouts they remember)."""
        self._built.clear()

    def for_settings(self, provider: ProviderSettings) -> Deployer:
        fingerprint = (provider.kind, json.dumps(provider.settings, sort_keys=True, default=str))
        built = self._built.get(provider.environment_id)
        if built is not None and built[0] == fingerprint:
            return built[1]
        deployer = self._build(provider.kind, provider.settings, clock=self._clock)
        self._built[provider.environment_id] = (fingerprint, deployer)
        return deployer

    async def for_environments(
        self, environment_ids: Sequence[int]
    ) -> dict[int, EnvironmentDeployer]:
        """Environments that no longer exist are left out."""
        providers = await self._store.providers(environment_ids)
        return {
            environment_id: EnvironmentDeployer(self.for_settings(provider), provider)
            for environment_id, provider in providers.items()
        }
