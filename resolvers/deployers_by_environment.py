"""Which provider adapter serves each environment: built from the environment's provider
settings (`DeploymentStore.providers`) and kept, per environment and kind and settings, so an
adapter's in-memory state (the simulated provider's rollouts, the webhook provider's reports)
lives as long as the process. An environment's earlier provider stays available too: a
deployment keeps the provider it was created with (`DeploymentStore.deployment_providers`), and
the runner follows it there with the very adapter it started on, even after the environment's
provider changed (the least recently used adapters beyond `_MAX_ADAPTERS` are dropped)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from cachetools import LRUCache

from domain.deployments.model import Deployer
from domain.deployments.ports import DeploymentStore, ProviderSettings

Clock = Callable[[], float]
_MAX_ADAPTERS = 1024


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
        build: DeployerFactory,
    ) -> None:
        self._store = store
        self._clock = clock
        self._build = build
        self._built: LRUCache[tuple[int, str, str], Deployer] = LRUCache(maxsize=_MAX_ADAPTERS)

    def forget(self) -> None:
        """Drop every adapter built so far (and the rollouts they remember)."""
        self._built.clear()

    def for_settings(self, provider: ProviderSettings) -> Deployer:
        key = (
            provider.environment_id,
            provider.kind,
            json.dumps(provider.settings, sort_keys=True, default=str),
        )
        built = self._built.get(key)
        if built is None:
            built = self._built[key] = self._build(
                provider.kind, provider.settings, clock=self._clock
            )
        return built

    async def for_environments(
        self, environment_ids: Sequence[int]
    ) -> dict[int, EnvironmentDeployer]:
        """Environments that no longer exist are left out."""
        providers = await self._store.providers(environment_ids)
        return {
            environment_id: EnvironmentDeployer(self.for_settings(provider), provider)
            for environment_id, provider in providers.items()
        }
