"""Circuit breakers in front of the provider adapters (`purgatory`): one per provider, named by
`provider_name` (its kind and the host it calls), shared by every adapter built for it.

A call that fails for want of the provider (`ProviderUnreachable`: no connection, no answer
in time, 408/429/5xx after the retries; its deadline (`domain.deadlines.within`) passing;
anything unexpected) counts; a refusal (any other `ProviderError`: the provider answered) does
not, nor does a call canceled for another reason (a shutdown, a canceled rollout), and like a
success they clear the count (only a probe canceled so counts, to be safe). After
`failures` counted failures in a row the circuit opens: calls raise `ProviderUnavailable` at
once, without reaching the adapter, until `reset_seconds` have passed. Then one call (the
probe) goes through while the others still fail fast: its success closes the circuit, its
failure opens it again for `reset_seconds`.

`on_state(provider, kind, state)` hears each circuit's state: closed when it is first used,
then every change (`closed`, `half_open`, `open`). At most `MAX_CIRCUITS` providers get a
circuit of their own; beyond, a kind's others share `<kind>@other`, so the names (the metric's
labels) stay bounded."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.messages.base import Event
from purgatory.domain.model import CLOSED, OPENED, OpenedState

from domain import deadlines
from domain.deployments.model import (
    Deployer,
    DeployRequest,
    LiveStatus,
    ProviderCapability,
    ProviderError,
    ProviderUnavailable,
    ProviderUnreachable,
    ProviderUpdate,
)
from domain.resources.model import Provisioner, ProvisionRequest, ResourceHealth, ResourceUpdate
from domain.resources.ports import ProvisionerKinds

T = TypeVar("T")
StateHook = Callable[[str, str, str], None]
"""(provider, kind, state): state is `closed`, `half_open` or `open`."""

MAX_CIRCUITS: Final = 256
_URL_SETTINGS: Final = ("url", "serverUrl", "apiUrl")
_STATES: Final = {"closed": "closed", "half-opened": "half_open", "opened": "open"}


def provider_name(kind: str, settings: Mapping[str, Any]) -> str:
    """`webhook@deploy.example.com:8443`: the kind and the host (and port) its settings call;
    the kind alone when they name none (a simulated provider, a kubeconfig's cluster)."""
    for key in _URL_SETTINGS:
        value = settings.get(key)
        if not isinstance(value, str):
            continue
        try:
            parts = urlsplit(value)
            host, port = parts.hostname, parts.port
        except ValueError:
            continue
        if host:
            return f"{kind}@{host}:{port}" if port is not None else f"{kind}@{host}"
    return kind


_probing: ContextVar[bool] = ContextVar("circuit_probe", default=False)


def _answered(error: BaseException) -> bool:
    """A refusal: the provider answered, so the call does not count against it."""
    return not isinstance(error, ProviderUnreachable)


def _interrupted(error: BaseException) -> bool:
    """Canceled, not by its deadline: the call says nothing about the provider."""
    return not deadlines.passed() and not _probing.get()


class ProviderCircuits:
    def __init__(
        self,
        *,
        failures: int = 5,
        reset_seconds: float = 30.0,
        on_state: StateHook | None = None,
    ) -> None:
        self._failures = failures
        self._reset = reset_seconds
        self._on_state = on_state
        self._factory = self._breakers()
        self._kinds: dict[str, str] = {}
        self._probing: set[str] = set()

    def _breakers(self) -> AsyncCircuitBreakerFactory:
        factory = AsyncCircuitBreakerFactory(
            default_threshold=self._failures,
            default_ttl=self._reset,
            exclude=[(ProviderError, _answered), (asyncio.CancelledError, _interrupted)],
        )
        factory.add_listener(self._heard)
        return factory

    def forget(self) -> None:
        """Close every circuit and forget its failures (tests, whose providers start afresh)."""
        self._factory = self._breakers()
        self._probing.clear()
        if self._on_state is not None:
            for name, kind in self._kinds.items():
                self._on_state(name, kind, "closed")

    def name(self, kind: str, settings: Mapping[str, Any]) -> str:
        """The circuit `kind`'s adapter with `settings` goes through."""
        name = provider_name(kind, settings)
        if name not in self._kinds and len(self._kinds) >= MAX_CIRCUITS:
            name = f"{kind}@other"
        self._kinds.setdefault(name, kind)
        return name

    def state(self, name: str) -> str | None:
        """`closed`, `half_open` or `open`; None before its first call."""
        context = self._factory.uow.contexts.breakers.get(name)  # type: ignore[attr-defined]
        return None if context is None else _STATES[context.state]

    async def call(self, name: str, call: Callable[[], Awaitable[T]]) -> T:
        """`call()` through the circuit `name`; `ProviderUnavailable` while it is open."""
        breaker = await self._factory.get_breaker(name)
        context = breaker.context
        now = time.time()
        probe = False
        if context.state == OPENED:
            retry_at = (context.opened_at or now) + self._reset
            if now <= retry_at:
                raise self._unavailable(name, retry_at)
            probe = True
        elif context.state != CLOSED:
            probe = True
        if probe:
            if name in self._probing:
                raise self._unavailable(name, now + self._reset)
            self._probing.add(name)
        token = _probing.set(probe)
        try:
            async with breaker:
                return await call()
        except OpenedState as opened:
            raise self._unavailable(name, opened.opened_at + self._reset) from None
        finally:
            _probing.reset(token)
            if probe:
                self._probing.discard(name)

    def _unavailable(self, name: str, retry_at: float) -> ProviderUnavailable:
        at = datetime.fromtimestamp(retry_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return ProviderUnavailable(f"provider {name} unavailable, retrying after {at}", retry_at)

    def _heard(self, name: str, what: str, event: Event) -> None:
        if self._on_state is None:
            return
        kind = self._kinds.get(name, name)
        if what == "circuit_breaker_created":
            self._on_state(name, kind, "closed")
        elif what == "state_changed":
            self._on_state(name, kind, _STATES[getattr(event, "state", "closed")])

    # --- the adapters behind their circuits -------------------------------------------------

    def deployer(self, inner: Deployer, settings: Mapping[str, Any]) -> Deployer:
        return CircuitDeployer(inner, self, self.name(inner.kind, settings))

    def provisioner_kinds(self, inner: ProvisionerKinds) -> ProvisionerKinds:
        return CircuitProvisionerKinds(inner, self)


class CircuitDeployer:
    def __init__(self, inner: Deployer, circuits: ProviderCircuits, name: str) -> None:
        self.inner = inner
        self.kind = inner.kind
        self.capabilities: frozenset[ProviderCapability] = inner.capabilities
        self._circuits = circuits
        self._name = name

    async def start(self, request: DeployRequest) -> ProviderUpdate:
        return await self._circuits.call(self._name, lambda: self.inner.start(request))

    async def poll(self, request: DeployRequest, external_id: str | None) -> ProviderUpdate:
        return await self._circuits.call(self._name, lambda: self.inner.poll(request, external_id))

    async def cancel(self, request: DeployRequest, external_id: str | None) -> ProviderUpdate:
        return await self._circuits.call(
            self._name, lambda: self.inner.cancel(request, external_id)
        )

    async def live_status(
        self, service_slug: str, environment_slug: str, settings: Mapping[str, Any]
    ) -> LiveStatus | None:
        return await self._circuits.call(
            self._name,
            lambda: self.inner.live_status(service_slug, environment_slug, settings),
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class CircuitProvisioner:
    def __init__(self, inner: Provisioner, circuits: ProviderCircuits, name: str) -> None:
        self.inner = inner
        self.kind = inner.kind
        self._circuits = circuits
        self._name = name

    async def apply(self, request: ProvisionRequest) -> ResourceUpdate:
        return await self._circuits.call(self._name, lambda: self.inner.apply(request))

    async def poll(self, request: ProvisionRequest) -> ResourceUpdate | None:
        return await self._circuits.call(self._name, lambda: self.inner.poll(request))

    async def delete(self, request: ProvisionRequest) -> ResourceUpdate:
        return await self._circuits.call(self._name, lambda: self.inner.delete(request))

    async def live(self, request: ProvisionRequest) -> ResourceHealth | None:
        return await self._circuits.call(self._name, lambda: self.inner.live(request))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class CircuitProvisionerKinds:
    """A `ProvisionerKinds` whose adapters go through their provider's circuit."""

    def __init__(self, inner: ProvisionerKinds, circuits: ProviderCircuits) -> None:
        self.inner = inner
        self._circuits = circuits

    def build(
        self, kind: str, settings: Mapping[str, Any], *, clock: Callable[[], float] = time.time
    ) -> Provisioner:
        built = self.inner.build(kind, settings, clock=clock)
        return CircuitProvisioner(built, self._circuits, self._circuits.name(kind, settings))

    async def check(self, kind: str, settings: Mapping[str, Any]) -> None:
        await self.inner.check(kind, settings)

    def capabilities(self, kind: str, settings: Mapping[str, Any]) -> list[ProviderCapability]:
        return self.inner.capabilities(kind, settings)

    def kinds(self) -> Collection[str]:
        return self.inner.kinds()
