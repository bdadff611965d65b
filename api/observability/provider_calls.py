"""Provider adapters observed: every call of a deployer or a provisioner counted by kind,
operation and outcome with its duration (`paved_provider_calls_total`,
`paved_provider_call_duration_seconds`) and, when tracing is on, made inside a span of its own,
whose context the adapters' HTTP requests carry to the provider (`traceparent`,
`providers/outbound/http.py`). The wrappers stand in for the adapters they wrap (the
composition root builds the runners on them), and pass anything else through."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any, TypeVar

from opentelemetry.trace import SpanKind, Tracer

from domain.deployments.model import (
    Deployer,
    DeployRequest,
    LiveStatus,
    ProviderCapability,
    ProviderError,
    ProviderUnavailable,
    ProviderUpdate,
)
from domain.resources.model import Provisioner, ProvisionRequest, ResourceHealth, ResourceUpdate
from domain.resources.ports import ProvisionerKinds

T = TypeVar("T")
Record = Callable[[str, str, str, float], None]
"""(kind, operation, outcome, seconds): `Metrics.provider_call`."""


class ProviderCalls:
    def __init__(self, record: Record | None, tracer: Tracer | None) -> None:
        self._record = record
        self._tracer = tracer

    async def call(self, kind: str, operation: str, call: Awaitable[T]) -> T:
        """Await `call`: ok, circuit_open (refused at once: `ProviderUnavailable`),
        provider_error (another `ProviderError`), timeout (its deadline passed, or it was
        cancelled), error (anything else)."""
        span: AbstractContextManager[Any] = nullcontext()
        if self._tracer is not None:
            span = self._tracer.start_as_current_span(
                f"provider {operation}",
                kind=SpanKind.CLIENT,
                attributes={"paved.provider.kind": kind, "paved.provider.operation": operation},
            )
        outcome = "error"
        started = time.perf_counter()
        try:
            with span:
                result = await call
            outcome = "ok"
            return result
        except ProviderUnavailable:
            outcome = "circuit_open"
            raise
        except ProviderError:
            outcome = "provider_error"
            raise
        except (TimeoutError, asyncio.CancelledError):
            outcome = "timeout"
            raise
        finally:
            if self._record is not None:
                self._record(kind, operation, outcome, time.perf_counter() - started)

    def deployer(self, inner: Deployer) -> Deployer:
        return ObservedDeployer(inner, self)

    def provisioner_kinds(self, inner: ProvisionerKinds) -> ProvisionerKinds:
        return ObservedProvisionerKinds(inner, self)


class ObservedDeployer:
    def __init__(self, inner: Deployer, calls: ProviderCalls) -> None:
        self.inner = inner
        self.kind = inner.kind
        self.capabilities: frozenset[ProviderCapability] = inner.capabilities
        self._calls = calls

    async def start(self, request: DeployRequest) -> ProviderUpdate:
        return await self._calls.call(self.kind, "deploy.start", self.inner.start(request))

    async def poll(self, request: DeployRequest, external_id: str | None) -> ProviderUpdate:
        return await self._calls.call(
            self.kind, "deploy.poll", self.inner.poll(request, external_id)
        )

    async def cancel(self, request: DeployRequest, external_id: str | None) -> ProviderUpdate:
        return await self._calls.call(
            self.kind, "deploy.cancel", self.inner.cancel(request, external_id)
        )

    async def live_status(
        self, service_slug: str, environment_slug: str, settings: Mapping[str, Any]
    ) -> LiveStatus | None:
        return await self._calls.call(
            self.kind,
            "deploy.live_status",
            self.inner.live_status(service_slug, environment_slug, settings),
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class ObservedProvisioner:
    def __init__(self, inner: Provisioner, calls: ProviderCalls) -> None:
        self.inner = inner
        self.kind = inner.kind
        self._calls = calls

    async def apply(self, request: ProvisionRequest) -> ResourceUpdate:
        return await self._calls.call(self.kind, "resource.apply", self.inner.apply(request))

    async def poll(self, request: ProvisionRequest) -> ResourceUpdate | None:
        return await self._calls.call(self.kind, "resource.poll", self.inner.poll(request))

    async def delete(self, request: ProvisionRequest) -> ResourceUpdate:
        return await self._calls.call(self.kind, "resource.delete", self.inner.delete(request))

    async def live(self, request: ProvisionRequest) -> ResourceHealth | None:
        return await self._calls.call(self.kind, "resource.live", self.inner.live(request))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class ObservedProvisionerKinds:
    """The runner's `ProvisionerKinds`: the adapters it builds are observed."""

    def __init__(self, inner: ProvisionerKinds, calls: ProviderCalls) -> None:
        self.inner = inner
        self._calls = calls

    def build(
        self, kind: str, settings: Mapping[str, Any], *, clock: Callable[[], float] = time.time
    ) -> Provisioner:
        return ObservedProvisioner(self.inner.build(kind, settings, clock=clock), self._calls)

    async def check(self, kind: str, settings: Mapping[str, Any]) -> None:
        await self.inner.check(kind, settings)

    def capabilities(self, kind: str, settings: Mapping[str, Any]) -> list[ProviderCapability]:
        return self.inner.capabilities(kind, settings)

    def kinds(self) -> Collection[str]:
        return self.inner.kinds()
