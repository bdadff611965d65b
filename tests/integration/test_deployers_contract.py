"""The contract every provider adapter passes: the same tests, run for each adapter over its
fake (simulated: a fake clock; webhook: a real local receiver whose reports are delivered as
`reportDeploymentStatus` would), plus the registry that builds them."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from domain.deployments.model import (
    Deployer,
    DeploymentKind,
    DeploymentState,
    DeployRequest,
    Health,
    InvalidProviderSettings,
    LiveStatus,
    ProviderCapability,
    ProviderError,
    ProviderUpdate,
)
from providers.deployers.argocd import ArgoCDDeployer
from providers.deployers.kubernetes import KubernetesDeployer
from providers.deployers.registry import KNOWN_KINDS, build_deployer, validate_settings
from providers.deployers.simulated import SimulatedDeployer
from providers.deployers.webhook import WebhookDeployer
from tests.support.clock import FakeClock
from tests.support.deployer_fakes.argocd_api import Reply as ArgoReply
from tests.support.deployer_fakes.argocd_api import running_argocd
from tests.support.deployer_fakes.kubernetes_api import running_kubernetes_api
from tests.support.deployer_fakes.policy import LOOPBACK, with_secrets_dir
from tests.support.deployer_fakes.receiver import Reply, running_receiver
from tests.support.deployer_fakes.retries import instant_retries

TERMINAL = {DeploymentState.SUCCEEDED, DeploymentState.FAILED, DeploymentState.CANCELED}
RANK = {DeploymentState.QUEUED: 0, DeploymentState.IN_PROGRESS: 1} | dict.fromkeys(TERMINAL, 2)
REFUSED_VERSION = "2.0.0-broken"


@dataclass
class Case:
    deployer: Deployer
    finish: Callable[[], None]
    """Let every rollout started so far reach its end."""
    break_provider: Callable[[], None] | None
    """Make the provider fail the next call, if it can fail."""
    secrets: tuple[str, ...]
    gives_external_id: bool
    restart: Callable[[], Deployer]
    """A new adapter with the same settings over the same provider: the process restarted."""


def deploy_request(
    deployment_id: int = 1,
    version: str = "1.0.0",
    *,
    service: str = "payments",
    kind: DeploymentKind = DeploymentKind.DEPLOY,
) -> DeployRequest:
    return DeployRequest(deployment_id, service, "staging", version, "abc123", kind)


def simulated_case() -> Iterator[Case]:
    clock = FakeClock()
    settings = {"durationSeconds": 5, "failVersions": "-broken$"}

    def build() -> SimulatedDeployer:
        return SimulatedDeployer(settings, clock=clock)

    yield Case(build(), lambda: clock.advance(10), None, (), True, build)


def webhook_case(monkeypatch: pytest.MonkeyPatch, *, cancel: bool) -> Iterator[Case]:
    secret = "whsec_" + secrets.token_hex(16)
    monkeypatch.setenv("PAVED_SECRET_TEST_WEBHOOK", secret)
    with running_receiver(secret) as receiver:
        settings = {
            "url": f"{receiver.url}/deploy",
            "secretEnv": "PAVED_SECRET_TEST_WEBHOOK",
            "timeoutSeconds": 1,
        }
        if cancel:
            settings["cancelUrl"] = f"{receiver.url}/cancel"
        adapters: list[WebhookDeployer] = []

        def build() -> WebhookDeployer:
            adapters.append(WebhookDeployer(settings, backoff_seconds=0.01, policy=LOOPBACK))
            return adapters[-1]

        def finish() -> None:
            # reportDeploymentStatus reaches the process running now: the newest adapter
            for deployment_id, update in receiver.take_reports():
                adapters[-1].record_report(deployment_id, update)

        def break_provider() -> None:
            receiver.script.extend([Reply(503)] * 3)

        yield Case(build(), finish, break_provider, (secret,), True, build)


def kubernetes_case(
    monkeypatch: pytest.MonkeyPatch, kubeconfig: Path | None = None
) -> Iterator[Case]:
    """Through `apiUrl` and `tokenEnv`, or through a kubeconfig file written to `kubeconfig`."""
    token = "k8s-" + secrets.token_urlsafe(24)
    monkeypatch.setenv("PAVED_SECRET_TEST_KUBE_TOKEN", token)
    with running_kubernetes_api(token) as api:
        api.add_deployment("staging", "payments", "registry.example.com/payments:0.9.0")
        settings: dict[str, object] = {
            "apiUrl": api.url,
            "tokenEnv": "PAVED_SECRET_TEST_KUBE_TOKEN",
            "namespace": "staging",
            "image": "registry.example.com/{service}:{version}",
            "timeoutSeconds": 1,
        }
        if kubeconfig is not None:
            monkeypatch.delenv("PAVED_SECRET_TEST_KUBE_TOKEN")
            kubeconfig.write_text(
                f"""\
apiVersion: v1
kind: Config
current-context: staging
clusters:
- name: fake
  cluster: {{server: "{api.url}"}}
users:
- name: deployer
  user: {{token: {token}}}
contexts:
- name: staging
  context: {{cluster: fake, user: deployer, namespace: staging}}
"""
            )
            del settings["apiUrl"], settings["tokenEnv"]
            settings["kubeconfigFile"] = str(kubeconfig)

        policy = LOOPBACK if kubeconfig is None else with_secrets_dir(kubeconfig.parent)

        def build() -> KubernetesDeployer:
            return KubernetesDeployer(settings, backoff_seconds=0.01, policy=policy)

        yield Case(build(), api.finish, lambda: api.fail_next(500, 3), (token,), True, build)


def argocd_case(monkeypatch: pytest.MonkeyPatch) -> Iterator[Case]:
    token = "argocd-" + secrets.token_urlsafe(24)
    monkeypatch.setenv("PAVED_SECRET_TEST_ARGOCD_TOKEN", token)
    with running_argocd(token) as api:
        api.add_app("payments-staging")
        settings = {
            "serverUrl": api.url,
            "tokenEnv": "PAVED_SECRET_TEST_ARGOCD_TOKEN",
            "timeoutSeconds": 1,
        }

        def build() -> ArgoCDDeployer:
            return ArgoCDDeployer(settings, backoff_seconds=0.01, policy=LOOPBACK)

        def break_provider() -> None:
            api.script.extend([ArgoReply(503)] * 3)

        yield Case(build(), api.finish, break_provider, (token,), True, build)


@pytest.fixture(
    params=[
        "simulated",
        "webhook",
        "webhook-without-cancel",
        "kubernetes",
        "kubernetes-kubeconfig",
        "argocd",
    ]
)
def case(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Case]:
    with instant_retries():
        yield from _case(request.param, monkeypatch, tmp_path)


def _case(param: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Case]:
    if param == "simulated":
        yield from simulated_case()
    elif param == "kubernetes":
        yield from kubernetes_case(monkeypatch)
    elif param == "kubernetes-kubeconfig":
        yield from kubernetes_case(monkeypatch, tmp_path / "kubeconfig")
    elif param == "argocd":
        yield from argocd_case(monkeypatch)
    else:
        yield from webhook_case(monkeypatch, cancel=param == "webhook")


async def test_start_answers_a_state_and_an_external_id(case: Case) -> None:
    update = await case.deployer.start(deploy_request())
    assert isinstance(update, ProviderUpdate)
    assert update.state in {DeploymentState.QUEUED, DeploymentState.IN_PROGRESS, *TERMINAL}
    if case.gives_external_id:
        assert update.external_id


async def test_starting_the_same_deployment_again_is_the_same_rollout(case: Case) -> None:
    first = await case.deployer.start(deploy_request(7))
    again = await case.deployer.start(deploy_request(7))
    assert (again.state, again.external_id) == (first.state, first.external_id)


@pytest.mark.parametrize("kind", [DeploymentKind.DEPLOY, DeploymentKind.ROLLBACK])
async def test_starting_it_again_after_a_restart_is_the_same_rollout(
    case: Case, kind: DeploymentKind
) -> None:
    """The runner starts a QUEUED deployment again when the process restarted before it
    stored what `start()` answered."""
    for deployment_id, version in ((1, "1.0.0"), (2, "1.1.0")):
        earlier = await case.deployer.start(deploy_request(deployment_id, version))
        case.finish()
        assert (
            await case.deployer.poll(deploy_request(deployment_id, version), earlier.external_id)
        ).state is DeploymentState.SUCCEEDED
    request = deploy_request(3, "1.0.0", kind=kind)
    first = await case.deployer.start(request)
    restarted = case.restart()
    again = await restarted.start(request)
    assert (again.state, again.external_id) == (first.state, first.external_id)
    case.finish()
    done = await restarted.poll(request, again.external_id)
    assert (done.state, done.external_id) == (DeploymentState.SUCCEEDED, first.external_id)
    live = await restarted.live_status(request.service_slug, request.environment_slug, {})
    if ProviderCapability.LIVE_STATUS in restarted.capabilities:
        assert live is not None
        assert live.version == "1.0.0"


async def test_poll_is_idempotent(case: Case) -> None:
    request = deploy_request()
    started = await case.deployer.start(request)
    first = await case.deployer.poll(request, started.external_id)
    assert await case.deployer.poll(request, started.external_id) == first


async def test_poll_moves_forward_to_the_outcome_and_stays_there(case: Case) -> None:
    request = deploy_request()
    started = await case.deployer.start(request)
    seen = [started.state, (await case.deployer.poll(request, started.external_id)).state]
    for _ in range(3):
        case.finish()
        seen.append((await case.deployer.poll(request, started.external_id)).state)
    assert [RANK[state] for state in seen] == sorted(RANK[state] for state in seen)
    assert seen[-3:] == [DeploymentState.SUCCEEDED] * 3


async def test_a_version_the_provider_refuses_ends_failed_with_a_message(case: Case) -> None:
    request = deploy_request(version=REFUSED_VERSION)
    started = await case.deployer.start(request)
    case.finish()
    failed = await case.deployer.poll(request, started.external_id)
    assert failed.state is DeploymentState.FAILED
    assert failed.message


async def test_cancel_of_an_unfinished_deployment(case: Case) -> None:
    request = deploy_request()
    started = await case.deployer.start(request)
    if ProviderCapability.CANCEL not in case.deployer.capabilities:
        with pytest.raises(ProviderError):
            await case.deployer.cancel(request, started.external_id)
        return
    canceled = await case.deployer.cancel(request, started.external_id)
    assert canceled.state is DeploymentState.CANCELED
    case.finish()
    assert (await case.deployer.poll(request, started.external_id)).state is (
        DeploymentState.CANCELED
    )


async def test_cancel_of_a_finished_deployment_keeps_its_outcome(case: Case) -> None:
    request = deploy_request()
    started = await case.deployer.start(request)
    case.finish()
    assert (await case.deployer.poll(request, started.external_id)).state is (
        DeploymentState.SUCCEEDED
    )
    if ProviderCapability.CANCEL not in case.deployer.capabilities:
        with pytest.raises(ProviderError):
            await case.deployer.cancel(request, started.external_id)
        return
    after = await case.deployer.cancel(request, started.external_id)
    assert after.state is DeploymentState.SUCCEEDED


async def test_capabilities_match_what_works(case: Case) -> None:
    capabilities = case.deployer.capabilities
    assert ProviderCapability.DEPLOY in capabilities
    request = deploy_request(version="1.4.2")
    started = await case.deployer.start(request)
    case.finish()
    assert (await case.deployer.poll(request, started.external_id)).state is (
        DeploymentState.SUCCEEDED
    )
    live = await case.deployer.live_status(request.service_slug, request.environment_slug, {})
    if ProviderCapability.LIVE_STATUS in capabilities:
        assert isinstance(live, LiveStatus)
        assert (live.health, live.version) == (Health.HEALTHY, "1.4.2")
    else:
        assert live is None
    if ProviderCapability.ROLLBACK in capabilities:
        rollback = deploy_request(2, "1.4.1", kind=DeploymentKind.ROLLBACK)
        rollback_started = await case.deployer.start(rollback)
        case.finish()
        assert (await case.deployer.poll(rollback, rollback_started.external_id)).state is (
            DeploymentState.SUCCEEDED
        )


async def test_live_status_is_a_live_status_or_none(case: Case) -> None:
    for service in ("payments", "never-deployed"):
        live = await case.deployer.live_status(service, "staging", {})
        assert live is None or isinstance(live, LiveStatus)


async def test_a_failing_provider_raises_provider_error(case: Case) -> None:
    if case.break_provider is None:
        pytest.skip("this adapter has no way to fail")
    case.break_provider()
    with pytest.raises(ProviderError) as raised:
        await case.deployer.start(deploy_request(3))
    assert raised.value.message


async def test_secrets_stay_out_of_errors_reprs_and_state(case: Case) -> None:
    texts = [repr(case.deployer), str(case.deployer), repr(vars(case.deployer))]
    request = deploy_request()
    started = await case.deployer.start(request)
    texts += [repr(started), repr(await case.deployer.poll(request, started.external_id))]
    errors: list[ProviderError] = []
    if ProviderCapability.CANCEL not in case.deployer.capabilities:
        with pytest.raises(ProviderError) as raised:
            await case.deployer.cancel(request, started.external_id)
        errors.append(raised.value)
    if case.break_provider is not None:
        case.break_provider()
        with pytest.raises(ProviderError) as raised:
            await case.deployer.start(deploy_request(4))
        errors.append(raised.value)
    texts += [text for error in errors for text in (str(error), repr(error), error.message)]
    for secret in case.secrets:
        assert not [text for text in texts if secret in text]


def test_known_kinds() -> None:
    assert frozenset({"argocd", "kubernetes", "simulated", "webhook"}) == KNOWN_KINDS


def test_build_deployer_builds_each_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    simulated = build_deployer("simulated", {}, clock=clock)
    webhook = build_deployer(
        "webhook", {"url": "https://deploy.example.com/hook", "secretEnv": "PAVED_SECRET_HOOK"}
    )
    assert (simulated.kind, webhook.kind) == ("simulated", "webhook")
    assert webhook.capabilities == {ProviderCapability.DEPLOY}


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(InvalidProviderSettings) as raised:
        build_deployer("helm", {})
    assert isinstance(raised.value, ValueError)
    assert isinstance(raised.value, ProviderError)
    assert raised.value.setting == "kind"
    assert "'helm'" in raised.value.message
    assert "simulated, webhook" in raised.value.message


@pytest.mark.parametrize(
    ("kind", "settings", "setting"),
    [
        ("simulated", {"durationSeconds": -1}, "durationSeconds"),
        ("simulated", {"durationSeconds": "soon"}, "durationSeconds"),
        ("simulated", {"failVersions": "(unclosed"}, "failVersions"),
        ("simulated", {"duration": 5}, "duration"),
        ("webhook", {"secretEnv": "PAVED_SECRET_HOOK"}, "url"),
        ("webhook", {"url": "ftp://example.com", "secretEnv": "PAVED_SECRET_HOOK"}, "url"),
        ("webhook", {"url": "https://example.com"}, "secretEnv"),
        ("webhook", {"url": "https://example.com", "secretEnv": "not a name"}, "secretEnv"),
        ("webhook", {"url": "https://example.com", "secretEnv": "HOOK_SECRET"}, "secretEnv"),
        ("webhook", {"url": "https://example.com", "secretEnv": "PAVED_SECRET_"}, "secretEnv"),
        (
            "webhook",
            {"url": "http://169.254.169.254/latest/meta-data", "secretEnv": "PAVED_SECRET_S"},
            "url",
        ),
        (
            "webhook",
            {"url": "https://metadata.google.internal./", "secretEnv": "PAVED_SECRET_S"},
            "url",
        ),
        (
            "webhook",
            {"url": "https://example.com", "secretEnv": "PAVED_SECRET_S", "timeoutSeconds": 0},
            "timeoutSeconds",
        ),
        (
            "webhook",
            {"url": "https://example.com", "secretEnv": "PAVED_SECRET_S", "cancelUrl": "nowhere"},
            "cancelUrl",
        ),
        (
            "webhook",
            {
                "url": "https://example.com",
                "secretEnv": "PAVED_SECRET_S",
                "cancelUrl": "http://[fd00:ec2::254]/",
            },
            "cancelUrl",
        ),
    ],
)
def test_bad_settings_are_refused_naming_the_setting(
    kind: str, settings: dict[str, object], setting: str
) -> None:
    with pytest.raises(InvalidProviderSettings) as raised:
        build_deployer(kind, settings)
    assert raised.value.setting == setting
    assert f"setting {setting}:" in raised.value.message
    with pytest.raises(InvalidProviderSettings):
        validate_settings(kind, settings)


def test_settings_errors_do_not_repeat_the_values() -> None:
    settings = {"url": "https://deployer:hunter2@example.com/hook", "secretEnv": "PAVED_SECRET_S"}
    with pytest.raises(InvalidProviderSettings) as raised:
        build_deployer("webhook", settings)
    assert raised.value.setting == "url"
    assert "hunter2" not in str(raised.value)
