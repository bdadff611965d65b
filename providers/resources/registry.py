"""Which adapter serves a resource provider kind; the one place that builds them (the
`ProvisionerKinds` port).

As for the deployers (`providers/deployers/registry.py`): an adapter's module is imported the
first time its kind is used (crossplane's pulls in kubernetes-asyncio), and settings are
validated and adapters built under the server's `ProviderPolicy` (the strictest without one).
"""

from __future__ import annotations

import functools
import importlib
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any, Final, Protocol, cast

import orjson

from domain.deployments.model import InvalidProviderSettings, ProviderCapability
from domain.resources.model import Provisioner
from providers.deployers.registry import check_destinations
from providers.deployers.settings import STRICT, AdapterSettings, ProviderPolicy, parse_settings


class DeclaringProvisioner(Provisioner, Protocol):
    """Every adapter here says what it can do."""

    capabilities: frozenset[ProviderCapability]


class _Factory(Protocol):
    def __call__(
        self, settings: Mapping[str, Any], *, clock: Callable[[], float], policy: ProviderPolicy
    ) -> DeclaringProvisioner: ...


_ADAPTERS: Final[Mapping[str, tuple[str, str, str]]] = {
    "crossplane": (
        "providers.resources.crossplane",
        "CrossplaneSettings",
        "CrossplaneProvisioner",
    ),
    "simulated": ("providers.resources.simulated", "SimulatedSettings", "SimulatedProvisioner"),
    "webhook": ("providers.resources.webhook", "WebhookSettings", "WebhookProvisioner"),
}
KNOWN_KINDS: Final = frozenset(_ADAPTERS)


def validate_settings(
    kind: str, settings: Mapping[str, Any], *, policy: ProviderPolicy = STRICT
) -> None:
    """Raise `InvalidProviderSettings` naming the setting at fault (`kind` for an unknown
    kind), exactly as `build_provisioner` would. Makes no network call."""
    parse_settings(_adapter(kind)[0], kind, settings, policy)


async def check_settings(
    kind: str, settings: Mapping[str, Any], *, policy: ProviderPolicy = STRICT
) -> None:
    """What saving a class checks: `validate_settings`, then the addresses the host names of
    its URLs resolve to now (connecting checks them again)."""
    parsed = parse_settings(_adapter(kind)[0], kind, settings, policy)
    await check_destinations(kind, parsed, policy)


def build_provisioner(
    kind: str,
    settings: Mapping[str, Any],
    *,
    clock: Callable[[], float] = time.time,
    policy: ProviderPolicy = STRICT,
) -> DeclaringProvisioner:
    return _adapter(kind)[1](settings, clock=clock, policy=policy)


def _adapter(kind: str) -> tuple[type[AdapterSettings], _Factory]:
    if kind not in _ADAPTERS:
        known = ", ".join(sorted(KNOWN_KINDS))
        raise InvalidProviderSettings(
            f"unknown resource provider kind {kind[:50]!r}; known kinds: {known}", "kind"
        )
    return _imported(kind)


@functools.cache
def _imported(kind: str) -> tuple[type[AdapterSettings], _Factory]:
    module_name, settings_name, provisioner_name = _ADAPTERS[kind]
    module = importlib.import_module(module_name)
    settings = cast(type[AdapterSettings], getattr(module, settings_name))
    return settings, cast(_Factory, getattr(module, provisioner_name))


class ProvisionerRegistry:
    """The `ProvisionerKinds` port: every kind above, under one provider policy."""

    def __init__(self, policy: ProviderPolicy = STRICT) -> None:
        self._policy = policy

    def build(
        self, kind: str, settings: Mapping[str, Any], *, clock: Callable[[], float] = time.time
    ) -> DeclaringProvisioner:
        return build_provisioner(kind, settings, clock=clock, policy=self._policy)

    async def check(self, kind: str, settings: Mapping[str, Any]) -> None:
        await check_settings(kind, settings, policy=self._policy)

    def capabilities(self, kind: str, settings: Mapping[str, Any]) -> list[ProviderCapability]:
        """What an adapter of these settings can do (none for settings that build none);
        every resource of a class asks the same, so the answer is kept."""
        return list(
            _declared(kind, orjson.dumps(settings, option=orjson.OPT_SORT_KEYS), self._policy)
        )

    def kinds(self) -> Collection[str]:
        return sorted(KNOWN_KINDS)


@functools.lru_cache(maxsize=256)
def _declared(kind: str, settings: bytes, policy: ProviderPolicy) -> tuple[ProviderCapability, ...]:
    """Building an adapter validates its settings and makes no network call."""
    try:
        declared = build_provisioner(kind, orjson.loads(settings), policy=policy).capabilities
    except ValueError:
        return ()
    return tuple(capability for capability in ProviderCapability if capability in declared)
