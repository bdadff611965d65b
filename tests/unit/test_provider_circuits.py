"""The providers' circuit breakers (`providers/circuits.py`) in front of a fake adapter: how
many failures open a circuit, what counts, calls refused without reaching the adapter, the one
probe after the reset delay, and the states and openings the metrics show."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from typing import Any

import pytest

from api.observability.metrics import Metrics
from api.observability.provider_calls import ProviderCalls
from domain import deadlines
from domain.deployments.model import (
    DeploymentKind,
    DeploymentState,
    DeployRequest,
    LiveStatus,
    ProviderCapability,
    ProviderError,
    ProviderUnavailable,
    ProviderUnreachable,
    ProviderUpdate,
)
from providers.circuits import MAX_CIRCUITS, ProviderCircuits, provider_name

SETTINGS = {"url": "https://deploy.example.com:8443/hook?token=secret", "secretEnv": "X"}
NAME = "webhook@deploy.example.com:8443"
REQUEST = DeployRequest(1, "svc", "prod", "1.0", None, DeploymentKind.DEPLOY, SETTINGS, None)
RESET = 0.2


class FakeDeployer:
    """Answers as `mode` says; counts the calls that reached it. `gate`, when set, holds each
    call until it is set."""

    kind = "webhook"
    capabilities = frozenset({ProviderCapability.LIVE_STATUS})

    def __init__(self) -> None:
        self.mode = "ok"
        self.calls = 0
        self.gate: asyncio.Event | None = None

    async def _answer(self) -> ProviderUpdate:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.mode == "unreachable":
            raise ProviderUnreachable("deploy failed after 3 attempts: HTTP 503")
        if self.mode == "refused":
            raise ProviderError("deploy refused: HTTP 422 Unprocessable Content")
        if self.mode == "broken":
            raise RuntimeError("a bug")
        if self.mode == "hang":
            await asyncio.Event().wait()
        return ProviderUpdate(DeploymentState.IN_PROGRESS, "Accepted")

    async def start(self, request: DeployRequest) -> ProviderUpdate:
        return await self._answer()

    async def poll(self, request: DeployRequest, external_id: str | None) -> ProviderUpdate:
        return await self._answer()

    async def cancel(self, request: DeployRequest, external_id: str | None) -> ProviderUpdate:
        return await self._answer()

    async def live_status(
        self, service_slug: str, environment_slug: str, settings: Mapping[str, Any]
    ) -> LiveStatus | None:
        await self._answer()
        return None


def _circuits(metrics: Metrics | None = None, failures: int = 3) -> ProviderCircuits:
    return ProviderCircuits(
        failures=failures,
        reset_seconds=RESET,
        on_state=metrics.provider_circuit if metrics is not None else None,
    )


def _state(metrics: Metrics, name: str = NAME) -> float | None:
    return metrics.registry.get_sample_value(
        "paved_provider_circuit_state", {"provider": name, "kind": "webhook"}
    )


def _openings(metrics: Metrics) -> float | None:
    return metrics.registry.get_sample_value(
        "paved_provider_circuit_openings_total", {"provider": NAME, "kind": "webhook"}
    )


async def _fail(deployer: Any, times: int) -> None:
    for _ in range(times):
        with pytest.raises(ProviderUnreachable):
            await deployer.start(REQUEST)


def test_a_provider_is_named_by_its_kind_and_the_host_it_calls() -> None:
    assert provider_name("webhook", SETTINGS) == NAME
    assert provider_name("argocd", {"serverUrl": "https://argo.internal"}) == "argocd@argo.internal"
    assert provider_name("kubernetes", {"apiUrl": "https://10.0.0.1:6443"}) == (
        "kubernetes@10.0.0.1:6443"
    )
    assert provider_name("webhook", {"url": "https://user:pw@host.example/x"}) == (
        "webhook@host.example"
    )
    assert provider_name("webhook", {"url": "http://host:99999"}) == "webhook"  # a bad port
    assert provider_name("simulated", {"durationSeconds": 1}) == "simulated"


async def test_the_circuit_opens_after_the_failures_in_a_row_and_refuses_without_calling() -> None:
    metrics = Metrics()
    circuits = _circuits(metrics)
    fake = FakeDeployer()
    deployer = circuits.deployer(fake, SETTINGS)
    await deployer.start(REQUEST)
    assert _state(metrics) == 0
    fake.mode = "unreachable"
    await _fail(deployer, 2)
    assert circuits.state(NAME) == "closed"
    await _fail(deployer, 1)
    assert circuits.state(NAME) == "open"
    assert fake.calls == 4
    for call in (
        deployer.start(REQUEST),
        deployer.poll(REQUEST, "x"),
        deployer.cancel(REQUEST, "x"),
        deployer.live_status("svc", "prod", SETTINGS),
    ):
        with pytest.raises(ProviderUnavailable) as refused:
            await call
        assert re.fullmatch(
            rf"provider {re.escape(NAME)} unavailable, retrying after "
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ",
            refused.value.message,
        ), refused.value.message
        assert "secret" not in refused.value.message
    assert fake.calls == 4
    assert _state(metrics) == 2
    assert _openings(metrics) == 1


async def test_a_success_clears_the_count() -> None:
    circuits = _circuits()
    fake = FakeDeployer()
    deployer = circuits.deployer(fake, SETTINGS)
    for _ in range(3):
        fake.mode = "unreachable"
        await _fail(deployer, 2)
        fake.mode = "ok"
        await deployer.poll(REQUEST, None)
    assert circuits.state(NAME) == "closed"


async def test_refusals_do_not_count_and_timeouts_and_bugs_do() -> None:
    circuits = _circuits()
    fake = FakeDeployer()
    deployer = circuits.deployer(fake, SETTINGS)
    fake.mode = "refused"
    for _ in range(10):
        with pytest.raises(ProviderError) as refused:
            await deployer.start(REQUEST)
        assert not isinstance(refused.value, ProviderUnavailable)
    assert circuits.state(NAME) == "closed"
    fake.mode = "hang"
    for _ in range(2):
        with pytest.raises(TimeoutError):
            async with deadlines.within(0.01):
                await deployer.start(REQUEST)
    fake.mode = "broken"
    with pytest.raises(RuntimeError):
        await deployer.start(REQUEST)
    assert circuits.state(NAME) == "open"


async def test_after_the_reset_delay_one_probe_goes_through_and_its_success_closes() -> None:
    metrics = Metrics()
    circuits = _circuits(metrics)
    fake = FakeDeployer()
    deployer = circuits.deployer(fake, SETTINGS)
    fake.mode = "unreachable"
    await _fail(deployer, 3)
    await asyncio.sleep(RESET * 1.5)
    fake.mode = "ok"
    fake.gate = asyncio.Event()
    probe = asyncio.create_task(deployer.start(REQUEST))
    for _ in range(100):
        if fake.calls == 4:
            break
        await asyncio.sleep(0)
    assert fake.calls == 4
    assert circuits.state(NAME) == "half_open"
    with pytest.raises(ProviderUnavailable):
        await deployer.poll(REQUEST, None)  # while the probe is out, the others still wait
    assert fake.calls == 4
    fake.gate.set()
    assert (await probe).state is DeploymentState.IN_PROGRESS
    assert circuits.state(NAME) == "closed"
    assert _state(metrics) == 0
    fake.gate = None
    await deployer.poll(REQUEST, None)
    assert fake.calls == 5


async def test_a_failed_probe_opens_the_circuit_again() -> None:
    metrics = Metrics()
    circuits = _circuits(metrics)
    fake = FakeDeployer()
    deployer = circuits.deployer(fake, SETTINGS)
    fake.mode = "unreachable"
    await _fail(deployer, 3)
    await asyncio.sleep(RESET * 1.5)
    await _fail(deployer, 1)
    assert circuits.state(NAME) == "open"
    assert _openings(metrics) == 2
    with pytest.raises(ProviderUnavailable):
        await deployer.start(REQUEST)
    assert fake.calls == 4


async def test_adapters_of_one_provider_share_its_circuit_and_others_have_their_own() -> None:
    circuits = _circuits()
    fakes = [FakeDeployer(), FakeDeployer(), FakeDeployer()]
    first = circuits.deployer(fakes[0], SETTINGS)
    same = circuits.deployer(fakes[1], {**SETTINGS, "secretEnv": "OTHER"})
    other = circuits.deployer(fakes[2], {"url": "https://elsewhere.example", "secretEnv": "X"})
    fakes[0].mode = "unreachable"
    await _fail(first, 3)
    with pytest.raises(ProviderUnavailable):
        await same.start(REQUEST)
    assert fakes[1].calls == 0
    await other.start(REQUEST)
    assert fakes[2].calls == 1


async def test_the_calls_refused_are_counted_as_circuit_open() -> None:
    metrics = Metrics()
    circuits = _circuits(metrics, failures=1)
    fake = FakeDeployer()
    observed = ProviderCalls(metrics.provider_call, None).deployer(
        circuits.deployer(fake, SETTINGS)
    )
    fake.mode = "unreachable"
    await _fail(observed, 1)
    with pytest.raises(ProviderUnavailable):
        await observed.start(REQUEST)

    def count(outcome: str) -> float | None:
        labels = {"kind": "webhook", "operation": "deploy.start", "outcome": outcome}
        return metrics.registry.get_sample_value("paved_provider_calls_total", labels)

    assert count("provider_error") == 1
    assert count("circuit_open") == 1


def test_the_names_and_so_the_labels_are_bounded() -> None:
    circuits = _circuits()
    names = {
        circuits.name("webhook", {"url": f"https://h{i}.example"}) for i in range(MAX_CIRCUITS * 2)
    }
    assert len(names) == MAX_CIRCUITS + 1
    assert "webhook@other" in names
    assert circuits.name("webhook", {"url": "https://h0.example"}) == "webhook@h0.example"


async def test_forget_closes_every_circuit() -> None:
    metrics = Metrics()
    circuits = _circuits(metrics)
    fake = FakeDeployer()
    deployer = circuits.deployer(fake, SETTINGS)
    fake.mode = "unreachable"
    await _fail(deployer, 3)
    circuits.forget()
    assert _state(metrics) == 0
    fake.mode = "ok"
    await deployer.start(REQUEST)
    assert fake.calls == 4


async def test_a_call_canceled_by_its_caller_and_not_its_deadline_does_not_count() -> None:
    circuits = _circuits(failures=1)
    fake = FakeDeployer()
    deployer = circuits.deployer(fake, SETTINGS)
    fake.mode = "hang"
    for _ in range(3):
        call = asyncio.create_task(deployer.start(REQUEST))
        for _ in range(100):
            if fake.calls:
                break
            await asyncio.sleep(0)
        assert fake.calls == 1
        call.cancel()  # a shutdown, a canceled rollout
        with pytest.raises(asyncio.CancelledError):
            await call
        fake.calls = 0
    assert circuits.state(NAME) == "closed"


async def test_a_probe_canceled_by_its_caller_opens_the_circuit_again() -> None:
    circuits = _circuits()
    fake = FakeDeployer()
    deployer = circuits.deployer(fake, SETTINGS)
    fake.mode = "unreachable"
    await _fail(deployer, 3)
    await asyncio.sleep(RESET * 1.5)
    fake.mode = "hang"
    probe = asyncio.create_task(deployer.start(REQUEST))
    for _ in range(100):
        if fake.calls == 4:
            break
        await asyncio.sleep(0)
    assert circuits.state(NAME) == "half_open"
    probe.cancel()
    with pytest.raises(asyncio.CancelledError):
        await probe
    assert circuits.state(NAME) == "open"
