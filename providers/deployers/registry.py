"""Which adapter serves a provider kind; the one place that builds them."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol

from providers.deployers.argocd import ArgoCDDeployer, ArgoCDSettings
from providers.deployers.kubernetes import KubernetesDeployer, KubernetesSettings
from providers.deployers.settings import AdapterSettings, InvalidProviderSettings, parse_settings
from providers.deployers.simulated import SimulatedDeployer, SimulatedSettings
from providers.deployers.webhook import WebhookDeployer, WebhookSettings
from providers.deployments import Deployer


class _Factory(Protocol):
    def __call__(self, settings: Mapping[str, Any], *, clock: Callable[[], float]) -> Deployer: ...


_ADAPTERS: Final[Mapping[str, tuple[type[AdapterSettings], _Factory]]] = {
    "argocd": (ArgoCDSettings, ArgoCDDeployer),
    "kubernetes": (KubernetesSettings, KubernetesDeployer),
    "simulated": (SimulatedSettings, SimulatedDeployer),
    "webhook": (WebhookSettings, WebhookDeployer),
}
KNOWN_KINDS: Final = frozenset(_ADAPTERS)


def validate_settings(kind: str, settings: Mapping[str, Any]) -> None:
    """Raise `InvalidProviderSettings` (a `ProviderError` and a `ValueError`) naming the
    setting at fault (`kind` for an unknown kind), exactly as `build_deployer` would."""
    parse_settings(_adapter(kind)[0], kind, settings)


def build_deployer(
    kind: str, settings: Mapping[str, Any], *, clock: Callable[[], float] = time.time
) -> Deployer:
    return _adapter(kind)[1](settings, clock=clock)


def _adapter(kind: str) -> tuple[type[AdapterSettings], _Factory]:
    adapter = _ADAPTERS.get(kind)
    if adapter is None:
        known = ", ".join(sorted(KNOWN_KINDS))
        raise InvalidProviderSettings(
            f"unknown provider kind {kind[:50]!r}; known kinds: {known}", "kind"
        )
    return adapter
