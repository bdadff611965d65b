"""Which adapter serves a provider kind; the one place that builds them.

An adapter's module is imported the first time its kind is used, so a process pays for
kubernetes-asyncio (about half a second to import) only where an environment uses it.

Settings are validated and adapters built under a `ProviderPolicy` (where secrets may come
from, which addresses may be reached), which the composition root (`api/bootstrap.py`) builds
from the server's settings; without one, the strictest applies.
"""

from __future__ import annotations

import functools
import importlib
import time
from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol, cast

import orjson

from domain.deployments.model import Deployer, InvalidProviderSettings, ProviderCapability
from providers.deployers.settings import STRICT, AdapterSettings, ProviderPolicy, parse_settings
from providers.outbound.addresses import RefusedAddress


class _Factory(Protocol):
    def __call__(
        self, settings: Mapping[str, Any], *, clock: Callable[[], float], policy: ProviderPolicy
    ) -> Deployer: ...


_ADAPTERS: Final[Mapping[str, tuple[str, str, str]]] = {
    "argocd": ("providers.deployers.argocd", "ArgoCDSettings", "ArgoCDDeployer"),
    "kubernetes": ("providers.deployers.kubernetes", "KubernetesSettings", "KubernetesDeployer"),
    "simulated": ("providers.deployers.simulated", "SimulatedSettings", "SimulatedDeployer"),
    "webhook": ("providers.deployers.webhook", "WebhookSettings", "WebhookDeployer"),
}
KNOWN_KINDS: Final = frozenset(_ADAPTERS)
RESOLVE_SECONDS: Final = 2.0
"""How long saving settings waits for their host names to resolve."""


def validate_settings(
    kind: str, settings: Mapping[str, Any], *, policy: ProviderPolicy = STRICT
) -> None:
    """Raise `InvalidProviderSettings` (a `ProviderError` and a `ValueError`) naming the
    setting at fault (`kind` for an unknown kind), exactly as `build_deployer` would. Makes
    no network call."""
    parse_settings(_adapter(kind)[0], kind, settings, policy)


async def check_settings(
    kind: str, settings: Mapping[str, Any], *, policy: ProviderPolicy = STRICT
) -> None:
    """What saving settings checks: `validate_settings`, then the addresses the host names
    of their URLs resolve to now (connecting checks them again)."""
    await check_destinations(
        kind, parse_settings(_adapter(kind)[0], kind, settings, policy), policy
    )


async def check_destinations(kind: str, parsed: AdapterSettings, policy: ProviderPolicy) -> None:
    """`InvalidProviderSettings` naming the setting whose URL's host name resolves, now, to an
    address the policy refuses (any adapter's settings: deployers' and provisioners')."""
    for setting, url in parsed.destinations():
        try:
            await policy.addresses.check_resolved(url, within=RESOLVE_SECONDS)
        except RefusedAddress as refused:
            raise InvalidProviderSettings(
                f"{kind} provider: setting {setting}: {refused}", setting
            ) from None


def build_deployer(
    kind: str,
    settings: Mapping[str, Any],
    *,
    clock: Callable[[], float] = time.time,
    policy: ProviderPolicy = STRICT,
) -> Deployer:
    return _adapter(kind)[1](settings, clock=clock, policy=policy)


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


class DeployerRegistry:
    """The `DeployerKinds` port: every kind above, under one provider policy."""

    def __init__(self, policy: ProviderPolicy = STRICT) -> None:
        self._policy = policy

    def build(
        self, kind: str, settings: Mapping[str, Any], *, clock: Callable[[], float] = time.time
    ) -> Deployer:
        return build_deployer(kind, settings, clock=clock, policy=self._policy)

    async def check(self, kind: str, settings: Mapping[str, Any]) -> None:
        await check_settings(kind, settings, policy=self._policy)

    def capabilities(self, kind: str, settings: Mapping[str, Any]) -> list[ProviderCapability]:
        """Every deployment of an environment asks the same, so the answer is kept."""
        return list(
            _declared(kind, orjson.dumps(settings, option=orjson.OPT_SORT_KEYS), self._policy)
        )


@functools.lru_cache(maxsize=256)
def _declared(kind: str, settings: bytes, policy: ProviderPolicy) -> tuple[ProviderCapability, ...]:
    """Building an adapter validates its settings and makes no network call."""
    try:
        declared = build_deployer(kind, orjson.loads(settings), policy=policy).capabilities
    except ValueError:
        return ()
    return tuple(capability for capability in ProviderCapability if capability in declared)
