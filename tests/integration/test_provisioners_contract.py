"""The contract every resource provider adapter passes: the same tests, run for each adapter
over its fake (simulated: a fake clock; webhook: a real local receiver whose reports stand for
`reportResourceStatus`; crossplane: the fake Kubernetes API server with Crossplane's claim
controller played by the test), plus the registry that builds them."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from domain.deployments.model import InvalidProviderSettings, ProviderCapability, ProviderError
from domain.resources.model import (
    ProvisionRequest,
    ResourceHealth,
    ResourceState,
    ResourceUpdate,
    SecretRef,
)
from domain.resources.ports import ProvisionerKinds
from providers.resources.crossplane import CrossplaneProvisioner
from providers.resources.registry import (
    KNOWN_KINDS,
    DeclaringProvisioner,
    ProvisionerRegistry,
    build_provisioner,
    validate_settings,
)
from providers.resources.simulated import SimulatedProvisioner
from providers.resources.webhook import WebhookProvisioner
from tests.support.clock import FakeClock
from tests.support.deployer_fakes.kubernetes_api import running_kubernetes_api
from tests.support.deployer_fakes.policy import LOOPBACK, with_secrets_dir
from tests.support.deployer_fakes.receiver import Reply
from tests.support.deployer_fakes.resource_receiver import running_resource_receiver
from tests.support.deployer_fakes.retries import instant_retries

S = ResourceState
IN_PROGRESS = {S.PROVISIONING, S.UPDATING}
RANK = {S.PROVISIONING: 0, S.UPDATING: 0, S.READY: 1, S.FAILED: 1}
REFUSED = {"size": "broken"}
"""Parameters every provider here refuses."""
CLAIMS = "database.example.org/v1alpha1"
SECRET_LOOKING = re.compile(r"pass|secret|token|credential|private", re.IGNORECASE)


@dataclass
class Case:
    provisioner: DeclaringProvisioner
    finish: Callable[[], None]
    """Let every action asked for so far reach its end."""
    outcome: Callable[[ProvisionRequest], Awaitable[ResourceUpdate | None]]
    """What is known of the resource now: `poll()`, or the receiver's latest report."""
    effects: Callable[[], int]
    """How many resources the provider holds, or actions it carried out."""
    slow_provider: Callable[[], None] | None
    """Make the provider answer the next calls later than the adapter's deadline."""
    break_provider: Callable[[], None] | None
    """Make the provider fail the next calls (5xx)."""
    secrets: tuple[str, ...]
    restart: Callable[[], DeclaringProvisioner]
    """A new adapter with the same settings over the same provider: the process restarted."""


def request(
    resource_id: int = 1,
    parameters: dict[str, Any] | None = None,
    *,
    name: str = "main-db",
    service: str = "payments",
    environment: str = "staging",
) -> ProvisionRequest:
    return ProvisionRequest(
        resource_id,
        name,
        service,
        environment,
        "postgres-small",
        "postgres",
        {"size": "small", "version": 16} if parameters is None else parameters,
    )


def simulated_case() -> Iterator[Case]:
    clock = FakeClock()
    settings = {"durationSeconds": 5, "failParameters": "broken"}
    adapters: list[SimulatedProvisioner] = []

    def build() -> SimulatedProvisioner:
        adapters.append(SimulatedProvisioner(settings, clock=clock))
        return adapters[-1]

    async def outcome(resource: ProvisionRequest) -> ResourceUpdate | None:
        return await adapters[-1].poll(resource)

    def effects() -> int:
        return len(adapters[-1]._actions)

    yield Case(build(), lambda: clock.advance(10), outcome, effects, None, None, (), build)


def webhook_case(monkeypatch: pytest.MonkeyPatch) -> Iterator[Case]:
    secret = "whsec_" + secrets.token_hex(16)
    monkeypatch.setenv("PAVED_SECRET_TEST_RESOURCES", secret)
    with running_resource_receiver(secret) as receiver:
        settings = {
            "url": f"{receiver.url}/resources",
            "secretEnv": "PAVED_SECRET_TEST_RESOURCES",
            "statusUrl": f"{receiver.url}/status",
            "timeoutSeconds": 1,
        }
        reported: dict[int, ResourceUpdate] = {}

        def build() -> WebhookProvisioner:
            return WebhookProvisioner(settings, backoff_seconds=0.01, policy=LOOPBACK)

        def finish() -> None:
            reported.update(receiver.take_reports())

        async def outcome(resource: ProvisionRequest) -> ResourceUpdate | None:
            return reported.get(resource.resource_id)

        def slow() -> None:
            receiver.script.extend([Reply(202, {}, delay=1.3)] * 3)

        def broken() -> None:
            receiver.script.extend([Reply(503)] * 3)

        yield Case(
            build(), finish, outcome, lambda: receiver.effects, slow, broken, (secret,), build
        )


def crossplane_case(
    monkeypatch: pytest.MonkeyPatch, kubeconfig: Path | None = None
) -> Iterator[Case]:
    """Through `apiUrl` and `tokenEnv`, or through a kubeconfig file written to `kubeconfig`."""
    token = "k8s-" + secrets.token_urlsafe(24)
    monkeypatch.setenv("PAVED_SECRET_TEST_KUBE_TOKEN", token)
    with running_kubernetes_api(token) as api:
        api.add_custom_resource(CLAIMS, "PostgreSQLInstance")
        settings: dict[str, object] = {
            "apiUrl": api.url,
            "tokenEnv": "PAVED_SECRET_TEST_KUBE_TOKEN",
            "apiVersion": CLAIMS,
            "kind": "PostgreSQLInstance",
            "namespace": "claims-{environment}",
            "failAfterSeconds": 60,
            "timeoutSeconds": 1,
        }
        policy = LOOPBACK
        if kubeconfig is not None:
            monkeypatch.delenv("PAVED_SECRET_TEST_KUBE_TOKEN")
            kubeconfig.write_text(
                f"""\
apiVersion: v1
kind: Config
current-context: platform
clusters:
- name: fake
  cluster: {{server: "{api.url}"}}
users:
- name: crossplane
  user: {{token: {token}}}
contexts:
- name: platform
  context: {{cluster: fake, user: crossplane}}
"""
            )
            del settings["apiUrl"], settings["tokenEnv"]
            settings["kubeconfigFile"] = str(kubeconfig)
            policy = with_secrets_dir(kubeconfig.parent)
        adapters: list[CrossplaneProvisioner] = []

        def build() -> CrossplaneProvisioner:
            adapters.append(CrossplaneProvisioner(settings, backoff_seconds=0.01, policy=policy))
            return adapters[-1]

        async def outcome(resource: ProvisionRequest) -> ResourceUpdate | None:
            return await adapters[-1].poll(resource)

        yield Case(
            build(),
            lambda: api.finish_claims("broken"),
            outcome,
            lambda: len(api.claims()),
            lambda: api.delay_next(1.3, 3),
            lambda: api.fail_next(500, 3),
            (token,),
            build,
        )


@pytest.fixture(params=["simulated", "webhook", "crossplane", "crossplane-kubeconfig"])
def case(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Case]:
    with instant_retries():
        if request.param == "simulated":
            yield from simulated_case()
        elif request.param == "webhook":
            yield from webhook_case(monkeypatch)
        elif request.param == "crossplane":
            yield from crossplane_case(monkeypatch)
        else:
            yield from crossplane_case(monkeypatch, tmp_path / "kubeconfig")


async def ready(case: Case, resource: ProvisionRequest) -> ResourceUpdate:
    await case.provisioner.apply(resource)
    case.finish()
    reached = await case.outcome(resource)
    assert reached is not None
    assert reached.state is S.READY, reached
    return reached


# --- building -------------------------------------------------------------------------------


async def test_apply_answers_progress_or_an_outcome(case: Case) -> None:
    answered = await case.provisioner.apply(request())
    assert isinstance(answered, ResourceUpdate)
    assert answered.state in {*IN_PROGRESS, S.READY, S.FAILED}
    assert ProviderCapability.PROVISION in case.provisioner.capabilities


async def test_apply_is_idempotent(case: Case) -> None:
    first = await case.provisioner.apply(request(7))
    again = await case.provisioner.apply(request(7))
    assert again.state is first.state
    assert case.effects() == 1  # one claim, one action carried out


async def test_apply_again_after_a_restart_is_the_same_action(case: Case) -> None:
    """The runner applies again when the process restarted before it stored the answer."""
    first = await case.provisioner.apply(request(3))
    again = await case.restart().apply(request(3))
    assert again.state is first.state
    assert case.effects() == 1


async def test_it_reaches_ready_with_outputs_that_hold_no_secret(case: Case) -> None:
    reached = await ready(case, request())
    assert reached.outputs
    json.dumps(reached.outputs)  # plain JSON values
    for key, value in reached.outputs.items():
        assert not SECRET_LOOKING.search(key), key
        assert not [secret for secret in case.secrets if secret in str(value)]
    assert reached.secret_refs
    assert all(isinstance(ref, SecretRef) and ref.name and ref.store for ref in reached.secret_refs)


async def test_progress_only_moves_forward_and_the_outcome_stays(case: Case) -> None:
    resource = request()
    seen = [(await case.provisioner.apply(resource)).state]
    for _ in range(3):
        case.finish()
        known = await case.outcome(resource)
        assert known is not None
        seen.append(known.state)
    assert [RANK[state] for state in seen] == sorted(RANK[state] for state in seen)
    assert seen[-3:] == [S.READY] * 3


async def test_poll_is_idempotent(case: Case) -> None:
    resource = request()
    await case.provisioner.apply(resource)
    first = await case.provisioner.poll(resource)
    assert await case.provisioner.poll(resource) == first


async def test_parameters_the_provider_refuses_end_failed_with_its_message(case: Case) -> None:
    resource = request(parameters=REFUSED)
    await case.provisioner.apply(resource)
    case.finish()
    failed = await case.outcome(resource)
    assert failed is not None
    assert failed.state is S.FAILED
    assert failed.message
    assert not failed.outputs


# --- removing -------------------------------------------------------------------------------


async def test_delete_reaches_deleted(case: Case) -> None:
    resource = request()
    await ready(case, resource)
    deleting = await case.provisioner.delete(resource)
    assert deleting.state in {S.DELETING, S.DELETED}
    assert (await case.provisioner.delete(resource)).state is deleting.state  # idempotent
    case.finish()
    gone = await case.outcome(resource)
    assert gone is not None
    assert gone.state is S.DELETED


async def test_deleting_what_was_never_built_ends_deleted(case: Case) -> None:
    resource = request(9, name="never-built")
    answered = await case.provisioner.delete(resource)
    assert answered.state in {S.DELETING, S.DELETED}
    case.finish()
    gone = await case.outcome(resource)
    assert gone is not None
    assert gone.state is S.DELETED


# --- health ---------------------------------------------------------------------------------


async def test_live_answers_as_its_capabilities_say(case: Case) -> None:
    resource = request()
    await ready(case, resource)
    health = await case.provisioner.live(resource)
    if ProviderCapability.LIVE_STATUS in case.provisioner.capabilities:
        assert isinstance(health, ResourceHealth)
        assert health.healthy
        assert health.source == case.provisioner.kind
        assert health.observed_at.tzinfo is not None
    else:
        assert health is None


# --- failures -------------------------------------------------------------------------------


async def test_a_provider_past_the_deadline_raises_provider_error(case: Case) -> None:
    if case.slow_provider is None:
        pytest.skip("this adapter calls nothing")
    case.slow_provider()
    with pytest.raises(ProviderError) as raised:
        await case.provisioner.apply(request(4))
    assert "no answer within" in raised.value.message


async def test_a_failing_provider_raises_provider_error(case: Case) -> None:
    if case.break_provider is None:
        pytest.skip("this adapter calls nothing")
    case.break_provider()
    with pytest.raises(ProviderError) as raised:
        await case.provisioner.apply(request(5))
    assert "HTTP 5" in raised.value.message


async def test_secrets_stay_out_of_errors_reprs_and_answers(case: Case) -> None:
    texts = [repr(case.provisioner), str(case.provisioner), repr(vars(case.provisioner))]
    resource = request()
    texts += [repr(await case.provisioner.apply(resource))]
    texts += [
        repr(await case.provisioner.poll(resource)),
        repr(await case.provisioner.live(resource)),
    ]
    for breaking in (case.break_provider, case.slow_provider):
        if breaking is not None:
            breaking()
            with pytest.raises(ProviderError) as raised:
                await case.provisioner.apply(request(6))
            texts += [str(raised.value), repr(raised.value), raised.value.message]
    for secret in case.secrets:
        assert not [text for text in texts if secret in text]


# --- the registry ---------------------------------------------------------------------------


def test_the_registry_is_the_provisioner_kinds_port() -> None:
    registry: ProvisionerKinds = ProvisionerRegistry(LOOPBACK)
    assert set(registry.kinds()) == {"crossplane", "simulated", "webhook"} == KNOWN_KINDS
    clock = FakeClock()
    simulated = registry.build("simulated", {"durationSeconds": 0}, clock=clock)
    assert (simulated.kind, type(simulated)) == ("simulated", SimulatedProvisioner)


def test_capabilities_follow_the_settings() -> None:
    registry = ProvisionerRegistry()
    webhook = {"url": "https://hooks.example.com/resources", "secretEnv": "PAVED_SECRET_HOOK"}
    crossplane = {
        "apiUrl": "https://k8s.example.com",
        "tokenEnv": "PAVED_SECRET_KUBE",
        "apiVersion": CLAIMS,
        "kind": "PostgreSQLInstance",
        "namespace": "claims",
    }
    both = [ProviderCapability.LIVE_STATUS, ProviderCapability.PROVISION]
    assert registry.capabilities("simulated", {}) == both
    assert registry.capabilities("crossplane", crossplane) == both
    assert registry.capabilities("webhook", webhook) == [ProviderCapability.PROVISION]
    with_status = {**webhook, "statusUrl": "https://hooks.example.com/status"}
    assert registry.capabilities("webhook", with_status) == both
    assert registry.capabilities("webhook", {"url": "nowhere"}) == []
    assert registry.capabilities("helm", {}) == []


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(InvalidProviderSettings) as raised:
        build_provisioner("terraform", {})
    assert isinstance(raised.value, ValueError)
    assert raised.value.setting == "kind"
    assert "'terraform'" in raised.value.message
    assert "crossplane, simulated, webhook" in raised.value.message


CROSSPLANE = {
    "apiUrl": "https://k8s.example.com",
    "tokenEnv": "PAVED_SECRET_KUBE",
    "apiVersion": CLAIMS,
    "kind": "PostgreSQLInstance",
    "namespace": "claims",
}
WEBHOOK = {"url": "https://hooks.example.com/resources", "secretEnv": "PAVED_SECRET_HOOK"}


@pytest.mark.parametrize(
    ("kind", "settings", "setting"),
    [
        ("simulated", {"durationSeconds": -1}, "durationSeconds"),
        ("simulated", {"durationSeconds": "soon"}, "durationSeconds"),
        ("simulated", {"failParameters": "(unclosed"}, "failParameters"),
        ("simulated", {"failParameters": ""}, "failParameters"),
        ("simulated", {"duration": 5}, "duration"),
        ("webhook", {"secretEnv": "PAVED_SECRET_HOOK"}, "url"),
        ("webhook", {**WEBHOOK, "url": "ftp://hooks.example.com"}, "url"),
        ("webhook", {**WEBHOOK, "url": "https://ops:hunter2@hooks.example.com"}, "url"),
        ("webhook", {**WEBHOOK, "url": "http://169.254.169.254/latest/meta-data"}, "url"),
        ("webhook", {**WEBHOOK, "url": "http://10.0.0.8/hook"}, "url"),
        ("webhook", {**WEBHOOK, "statusUrl": "https://metadata.google.internal/"}, "statusUrl"),
        ("webhook", {"url": WEBHOOK["url"]}, "secretEnv"),
        ("webhook", {**WEBHOOK, "secretEnv": "DATABASE_URL"}, "secretEnv"),
        ("webhook", {**WEBHOOK, "secretFile": "/etc/passwd"}, "secretFile"),
        ("webhook", {**WEBHOOK, "timeoutSeconds": 0}, "timeoutSeconds"),
        ("webhook", {**WEBHOOK, "timeoutSeconds": 61}, "timeoutSeconds"),
        ("crossplane", {**CROSSPLANE, "apiVersion": "v1"}, "apiVersion"),
        ("crossplane", {k: v for k, v in CROSSPLANE.items() if k != "kind"}, "kind"),
        ("crossplane", {**CROSSPLANE, "kind": "postgres instance"}, "kind"),
        ("crossplane", {**CROSSPLANE, "namespace": "Claims_Prod"}, "namespace"),
        ("crossplane", {**CROSSPLANE, "namespace": "claims-{service}"}, "namespace"),
        ("crossplane", {**CROSSPLANE, "claimName": "{service}"}, "claimName"),
        ("crossplane", {**CROSSPLANE, "plural": "Postgres"}, "plural"),
        ("crossplane", {**CROSSPLANE, "statusOutputs": {"password": "pw"}}, "statusOutputs"),
        ("crossplane", {**CROSSPLANE, "statusOutputs": {"host": "a..b"}}, "statusOutputs"),
        ("crossplane", {**CROSSPLANE, "apiUrl": "http://k8s.example.com"}, "apiUrl"),
        ("crossplane", {**CROSSPLANE, "apiUrl": "https://169.254.169.254"}, "apiUrl"),
        ("crossplane", {**CROSSPLANE, "tokenEnv": "HOME"}, "tokenEnv"),
        (
            "crossplane",
            {k: v for k, v in CROSSPLANE.items() if k not in {"apiUrl", "tokenEnv"}},
            "apiUrl",
        ),
        ("crossplane", {**CROSSPLANE, "failAfterSeconds": -1}, "failAfterSeconds"),
        ("crossplane", {**CROSSPLANE, "timeoutSeconds": 0}, "timeoutSeconds"),
    ],
)
def test_bad_settings_are_refused_naming_the_setting(
    kind: str, settings: dict[str, object], setting: str
) -> None:
    with pytest.raises(InvalidProviderSettings) as raised:
        build_provisioner(kind, settings)
    assert raised.value.setting == setting
    assert f"setting {setting}:" in raised.value.message
    assert "hunter2" not in raised.value.message
    with pytest.raises(InvalidProviderSettings):
        validate_settings(kind, settings)


async def test_check_resolves_the_names_of_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    """Saving a class resolves its URLs' host names: `localhost` is refused as written, and
    a name that resolves to a private address when saved is refused naming its setting."""
    registry = ProvisionerRegistry()
    with pytest.raises(InvalidProviderSettings) as raised:
        await registry.check("webhook", {**WEBHOOK, "url": "http://localhost:8080/hook"})
    assert raised.value.setting == "url"

    async def private(host: str, port: int, family: int = 0) -> list[Any]:
        import ipaddress

        return [ipaddress.ip_address("10.1.2.3")]

    monkeypatch.setattr("providers.outbound.addresses._lookup", private)
    with pytest.raises(InvalidProviderSettings) as raised:
        await registry.check("crossplane", {**CROSSPLANE, "apiUrl": "https://k8s.corp.example"})
    assert raised.value.setting == "apiUrl"
    assert "resolves to a private address" in raised.value.message
    await ProvisionerRegistry(LOOPBACK).check("crossplane", CROSSPLANE)
