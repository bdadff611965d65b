"""Which adapter serves a provider kind; the one place that builds them.

An adapter's module is imported the first time its kind is used, so a process pays for
kubernetes-asyncio (about half a second to import) only where an environment uses it.
"""

from __future__ import annotations

import functools
import importlib
import time
from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol, cast

from providers.deployers.settings import AdapterSettings, InvalidProviderSettings, parse_settings
from providers.deployments import Deployer


class _Factory(Protocol):
    def __call__(self, settings: Mapping[str, Any], *, clock: Callable[[], float]) -> Deployer: ...


_ADAPTERS: Final[Mapping[str, tuple[str, str, str]]] = {
    "argocd": ("providers.deployers.argocd", "ArgoCDSettings", "ArgoCDDeployer"),
    "kubernetes": ("providers.deployers.kubernetes", "KubernetesSettings", "KubernetesDeployer"),
    "simulated": ("providers.deployers.simulated", "SimulatedSettings", "SimulatedDeployer"),
    "webhook": ("providers.deployers.webhook", "WebhookSettings", "WebhookDeployer"),
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
    if kind not in _ADAPTERS:
        known = ", ".join(sorted(KNOWN_KINDS))
        raise InvalidProviderSettings(
            f"unknown provider kind {kind[:50]!r}; known kinds: {known}", "kind"
        )
    return _imported(kind)


@functools.cache
def _imported(kind: str) -> tuple[type[AdapterSettings], _Factory]:
    module_name, settings_name, deployer_name = _ADAPTERS[kind]
    module = importlib.import_module(module_name)
    settings = cast(type[AdapterSettings], getattr(module, settings_name))
    return settings, cast(_Factory, getattr(module, deployer_name))
