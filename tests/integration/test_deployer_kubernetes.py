"""The kubernetes provider against a fake API server on 127.0.0.1 speaking the real JSON."""

from __future__ import annotations

import base64
import json
import logging
import re
import secrets
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from kubernetes_asyncio.config import kube_config

from domain.deployments.model import (
    DeploymentKind,
    DeploymentState,
    DeployRequest,
    Health,
    InvalidProviderSettings,
    ProviderCapability,
    ProviderError,
)
from providers.deployers.kubernetes import CHANGE_CAUSE, KubernetesDeployer
from providers.deployers.registry import build_deployer, validate_settings
from providers.deployers.secret_sources import SecretSources
from providers.deployers.settings import ProviderPolicy
from tests.support.clock import FakeClock
from tests.support.deployer_fakes.kubernetes_api import FakeKubernetesApi, running_kubernetes_api
from tests.support.deployer_fakes.kubernetes_objects import (
    POD_TEMPLATE_HASH,
    REVISION,
    REVISION_HISTORY,
)
from tests.support.deployer_fakes.policy import LOOPBACK, with_secrets_dir

TOKEN_ENV = "PAVED_SECRET_TEST_KUBE_TOKEN"
NS = "prod"
IMAGE = "registry.example.com/{service}:{version}"


def request(
    version: str = "1.1.0",
    deployment_id: int = 1,
    service: str = "payments",
    kind: DeploymentKind = DeploymentKind.DEPLOY,
) -> DeployRequest:
    return DeployRequest(deployment_id, service, "production", version, "abc", kind)


pytestmark = pytest.mark.usefixtures("retries_without_waiting")


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> str:
    value = "kube-" + secrets.token_urlsafe(24)
    monkeypatch.setenv(TOKEN_ENV, value)
    return value


@pytest.fixture
def api(token: str) -> Iterator[FakeKubernetesApi]:
    with running_kubernetes_api(token) as api:
        api.add_deployment(NS, "payments", "registry.example.com/payments:1.0.0")
        yield api


def deployer(
    api: FakeKubernetesApi, *, policy: ProviderPolicy = LOOPBACK, **settings: object
) -> KubernetesDeployer:
    base: dict[str, object] = {
        "apiUrl": api.url,
        "tokenEnv": TOKEN_ENV,
        "namespace": NS,
        "image": IMAGE,
        "timeoutSeconds": 2,
    }
    return KubernetesDeployer(
        {**base, **settings}, backoff_seconds=0.01, clock=FakeClock(), policy=policy
    )


async def test_happy_path_patches_the_image_and_follows_the_rollout(
    api: FakeKubernetesApi, token: str
) -> None:
    kube = deployer(api)
    assert kube.capabilities == {
        ProviderCapability.DEPLOY,
        ProviderCapability.ROLLBACK,
        ProviderCapability.LIVE_STATUS,
    }
    started = await kube.start(request())
    assert started.state is DeploymentState.IN_PROGRESS
    assert started.external_id == f"{NS}/payments@2"
    get, patch = api.requests
    path = f"/apis/apps/v1/namespaces/{NS}/deployments/payments"
    assert (get.method, get.path, patch.method, patch.path) == ("GET", path, "PATCH", path)
    assert patch.headers["content-type"] == "application/strategic-merge-patch+json"
    assert patch.headers["authorization"] == f"Bearer {token}"
    assert patch.body["spec"] == {
        "template": {
            "spec": {
                "containers": [{"name": "payments", "image": "registry.example.com/payments:1.1.0"}]
            }
        }
    }
    stored = api.deployment(NS, "payments")
    assert stored["metadata"]["annotations"][CHANGE_CAUSE] == (
        "paved deployment 1: deploy payments 1.1.0"
    )
    # the port stays as it was, only the image changed
    assert stored["spec"]["template"]["spec"]["containers"][0]["ports"] == [
        {"containerPort": 8080, "protocol": "TCP"}
    ]

    polled = await kube.poll(request(), started.external_id)
    assert (polled.state, polled.raw_status) == (
        DeploymentState.IN_PROGRESS,
        "waiting for generation 2 to be observed",
    )
    live = await kube.live_status("payments", "production", {})
    assert live is not None
    assert (live.health, live.version) == (Health.PROGRESSING, "1.1.0")

    api.observe(NS, "payments")
    api.progress(NS, "payments", updated=2, available=1)
    polled = await kube.poll(request(), started.external_id)
    assert (polled.state, polled.raw_status) == (
        DeploymentState.IN_PROGRESS,
        "2/3 updated, 1/3 available",
    )
    api.progress(NS, "payments", updated=3, available=3, old=1)  # one old pod left
    assert (await kube.poll(request(), started.external_id)).state is DeploymentState.IN_PROGRESS

    api.finish()
    done = await kube.poll(request(), started.external_id)
    assert (done.state, done.raw_status) == (
        DeploymentState.SUCCEEDED,
        "3/3 updated, 3/3 available",
    )
    live = await kube.live_status("payments", "production", {})
    assert live is not None
    assert (live.health, live.version, live.replicas, live.ready_replicas) == (
        Health.HEALTHY,
        "1.1.0",
        3,
        3,
    )
    # starting it again is the same rollout, and patches no new generation
    again = await kube.start(request())
    assert (again.state, again.external_id) == (DeploymentState.SUCCEEDED, started.external_id)


def app_container(api: FakeKubernetesApi) -> dict[str, Any]:
    container: dict[str, Any] = api.deployment(NS, "payments")["spec"]["template"]["spec"][
        "containers"
    ][0]
    return container


def set_env(api: FakeKubernetesApi, **env: str) -> None:
    """Someone changes the pod template by hand (a new revision, same image)."""
    variables = [{"name": name, "value": value} for name, value in env.items()]
    patch = {
        "spec": {"template": {"spec": {"containers": [{"name": "payments", "env": variables}]}}}
    }
    api.patch_by_hand(NS, "payments", patch)


async def test_rollback_puts_the_revisions_whole_pod_template_back(
    api: FakeKubernetesApi,
) -> None:
    kube = deployer(api)
    set_env(api, LOG_LEVEL="info")  # revision 2: 1.0.0 with LOG_LEVEL
    await kube.start(request("1.1.0"))  # revision 3: 1.1.0 with LOG_LEVEL
    api.finish()
    set_env(api, LOG_LEVEL="info", FEATURE_X="on")  # revision 4: 1.1.0 with FEATURE_X
    revisions = {
        rs["metadata"]["annotations"][REVISION]: rs for rs in api.owned_replica_sets(NS, "payments")
    }
    assert sorted(revisions) == ["1", "2", "3", "4"]
    api.requests.clear()

    rollback = request("1.0.0", 2, kind=DeploymentKind.ROLLBACK)
    started = await kube.start(rollback)
    get, listing, patch = api.requests
    assert (get.method, listing.method, patch.method) == ("GET", "GET", "PATCH")
    assert urlsplit(listing.path).path == f"/apis/apps/v1/namespaces/{NS}/replicasets"
    assert parse_qs(urlsplit(listing.path).query) == {"labelSelector": ["app=payments"]}
    assert patch.headers["content-type"] == "application/json-patch+json"
    replace_template, cause = patch.body
    assert (replace_template["op"], replace_template["path"]) == ("replace", "/spec/template")
    # the newest revision running 1.0.0, without the controller's hash label
    expected = revisions["2"]["spec"]["template"]
    assert replace_template["value"]["spec"] == expected["spec"]
    assert replace_template["value"]["metadata"]["labels"] == {"app": "payments"}
    assert cause == {
        "op": "add",
        "path": "/metadata/annotations/kubernetes.io~1change-cause",
        "value": "paved deployment 2: rollback payments 1.0.0",
    }
    assert started.external_id == f"{NS}/payments@5"
    assert (
        started.message
        == f"rolled back to revision 2 (ReplicaSet {revisions['2']['metadata']['name']})"
    )
    assert app_container(api)["image"] == "registry.example.com/payments:1.0.0"
    assert app_container(api)["env"] == [{"name": "LOG_LEVEL", "value": "info"}]
    # the controller brought revision 2's ReplicaSet back as the newest revision
    stored = api.deployment(NS, "payments")
    assert stored["metadata"]["annotations"][REVISION] == "5"
    back = [
        rs
        for rs in api.owned_replica_sets(NS, "payments")
        if rs["metadata"]["name"] == revisions["2"]["metadata"]["name"]
    ]
    assert back[0]["metadata"]["annotations"][REVISION] == "5"
    assert back[0]["metadata"]["annotations"][REVISION_HISTORY] == "2"
    assert back[0]["metadata"]["labels"][POD_TEMPLATE_HASH]

    api.finish()
    done = await kube.poll(rollback, started.external_id)
    assert (done.state, done.message) == (DeploymentState.SUCCEEDED, started.message)
    live = await kube.live_status("payments", "production", {})
    assert live is not None
    assert (live.health, live.version) == (Health.HEALTHY, "1.0.0")


async def test_a_rollback_started_again_after_a_restart_is_the_same_rollout(
    api: FakeKubernetesApi,
) -> None:
    await deployer(api).start(request("1.1.0"))
    api.finish()
    rollback = request("1.0.0", 2, kind=DeploymentKind.ROLLBACK)
    started = await deployer(api).start(rollback)
    revisions = [
        rs["metadata"]["annotations"][REVISION] for rs in api.owned_replica_sets(NS, "payments")
    ]
    restarted = deployer(api)
    again = await restarted.start(rollback)
    assert (again.state, again.external_id) == (started.state, started.external_id)
    assert api.deployment(NS, "payments")["metadata"]["generation"] == 3
    assert [
        rs["metadata"]["annotations"][REVISION] for rs in api.owned_replica_sets(NS, "payments")
    ] == revisions
    api.finish()
    assert (await restarted.poll(rollback, again.external_id)).state is DeploymentState.SUCCEEDED


async def test_a_rollback_past_the_revision_history_sets_the_image_and_says_so(
    token: str,
) -> None:
    with running_kubernetes_api(token) as api:
        api.add_deployment(
            NS, "payments", "registry.example.com/payments:1.0.0", revision_history_limit=1
        )
        kube = deployer(api)
        for version in ("1.1.0", "1.2.0"):
            await kube.start(request(version))
            api.finish()
        images = [
            rs["spec"]["template"]["spec"]["containers"][0]["image"]
            for rs in api.owned_replica_sets(NS, "payments")
        ]
        assert images == [
            "registry.example.com/payments:1.1.0",
            "registry.example.com/payments:1.2.0",
        ]
        rollback = request("1.0.0", 3, kind=DeploymentKind.ROLLBACK)
        started = await kube.start(rollback)
        assert api.requests[-1].headers["content-type"] == "application/strategic-merge-patch+json"
        assert started.message == (
            "no ReplicaSet in the revision history runs registry.example.com/payments:1.0.0 "
            "(pruned by revisionHistoryLimit, or never rolled out here): the image was set instead"
        )
        assert app_container(api)["image"] == "registry.example.com/payments:1.0.0"
        api.finish()
        done = await kube.poll(rollback, started.external_id)
        assert (done.state, done.message) == (DeploymentState.SUCCEEDED, started.message)


async def test_a_rollback_ignores_replica_sets_of_other_deployments(token: str) -> None:
    with running_kubernetes_api(token) as api:
        api.add_deployment(NS, "payments", "registry.example.com/payments:1.0.0")
        # another Deployment whose pods carry the same label, once on 0.9.0
        canary = [{"name": "payments", "image": "registry.example.com/payments:0.9.0"}]
        other = api.add_deployment(NS, "payments-canary", "", containers=canary)
        other_rs = api.owned_replica_sets(NS, "payments-canary")[0]
        other_rs["metadata"]["labels"]["app"] = "payments"
        api.replica_sets[(NS, other_rs["metadata"]["name"])] = other_rs
        assert other["metadata"]["uid"] != api.deployment(NS, "payments")["metadata"]["uid"]
        kube = deployer(api, container="payments")
        started = await kube.start(request("0.9.0", 2, kind=DeploymentKind.ROLLBACK))
        assert started.message is not None
        assert started.message.startswith("no ReplicaSet in the revision history runs")


async def test_progress_deadline_exceeded_fails_with_the_condition_message(
    api: FakeKubernetesApi,
) -> None:
    kube = deployer(api)
    started = await kube.start(request("1.2.0"))
    api.exceed_deadline(NS, "payments")
    failed = await kube.poll(request("1.2.0"), started.external_id)
    assert (failed.state, failed.raw_status) == (
        DeploymentState.FAILED,
        "ProgressDeadlineExceeded",
    )
    assert failed.message is not None
    assert "has timed out progressing" in failed.message
    live = await kube.live_status("payments", "production", {})
    assert live is not None
    assert live.health is Health.DEGRADED
    assert live.message == failed.message
    # an outcome stays, whatever happens to the Deployment later
    api.finish()
    assert await kube.poll(request("1.2.0"), started.external_id) == failed


async def test_an_image_changed_by_someone_else_fails_the_rollout(api: FakeKubernetesApi) -> None:
    kube = deployer(api)
    started = await kube.start(request("1.2.0"))
    await kube.start(request("1.3.0", 2))
    failed = await kube.poll(request("1.2.0"), started.external_id)
    assert failed.state is DeploymentState.FAILED
    assert failed.message is not None
    assert "payments:1.3.0" in failed.message


async def test_a_missing_deployment(api: FakeKubernetesApi) -> None:
    kube = deployer(api)
    with pytest.raises(ProviderError) as raised:
        await kube.start(request(service="ledger"))
    # the status and its standard phrase, nothing of the answer's body
    assert raised.value.message == (
        f"kubernetes API refused GET deployment {NS}/ledger: HTTP 404 Not Found"
    )
    assert [seen.method for seen in api.requests] == ["GET"]  # 404 is not retried
    live = await kube.live_status("ledger", "production", {})
    assert live is not None
    assert live.health is Health.MISSING
    assert (live.version, live.source) == (None, "kubernetes")


async def test_the_container_setting_and_the_name_template(token: str) -> None:
    with running_kubernetes_api(token) as api:
        api.add_deployment(
            NS,
            "web-payments",
            "",
            containers=[
                {"name": "proxy", "image": "envoy:1.30"},
                {"name": "app", "image": "registry.example.com/payments:1.0.0"},
            ],
        )
        kube = deployer(api, deploymentName="web-{service}", container="app")
        started = await kube.start(request("2.0.0"))
        assert started.external_id == f"{NS}/web-payments@2"
        containers = api.deployment(NS, "web-payments")["spec"]["template"]["spec"]["containers"]
        assert containers == [
            {"name": "proxy", "image": "envoy:1.30"},
            {"name": "app", "image": "registry.example.com/payments:2.0.0"},
        ]
        live = await kube.live_status("payments", "production", {})
        assert live is not None
        assert live.version == "2.0.0"

        wrong = deployer(api, deploymentName="web-{service}", container="worker")
        with pytest.raises(ProviderError, match="has no container 'worker'"):
            await wrong.start(request("2.0.1"))


async def test_only_gets_are_retried(api: FakeKubernetesApi) -> None:
    kube = deployer(api)
    api.fail_next(503, 2)
    live = await kube.live_status("payments", "production", {})
    assert live is not None
    assert live.health is Health.HEALTHY
    api.requests.clear()
    api.fail_next(500, message="etcdserver: request timed out", method="PATCH")
    with pytest.raises(ProviderError) as raised:
        await kube.start(request())
    assert raised.value.message == (
        f"kubernetes PATCH deployment {NS}/payments failed: HTTP 500 Internal Server Error"
    )
    assert "etcdserver" not in raised.value.message
    assert [seen.method for seen in api.requests] == ["GET", "PATCH"]


async def test_refusals_carry_the_status_but_never_the_body_nor_the_token(
    api: FakeKubernetesApi, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    kube = deployer(api)
    api.fail_next(403, message=f'deployments.apps "payments" is forbidden, token {token}')
    with pytest.raises(ProviderError) as forbidden:
        await kube.start(request())
    assert forbidden.value.message == (
        f"kubernetes API refused GET deployment {NS}/payments: HTTP 403 Forbidden"
    )
    api.fail_next(500, 3)
    with pytest.raises(ProviderError) as failing:
        await kube.poll(request(), None)
    assert "after 3 attempts: HTTP 500 Internal Server Error" in failing.value.message
    monkeypatch.setenv(TOKEN_ENV, token + "-wrong")
    with pytest.raises(ProviderError) as unauthorized:
        await kube.live_status("payments", "production", {})
    assert "HTTP 401 Unauthorized" in unauthorized.value.message
    monkeypatch.delenv(TOKEN_ENV)
    with pytest.raises(ProviderError, match=f"environment variable {TOKEN_ENV} is not set"):
        await kube.start(request())
    for error in (forbidden.value, failing.value, unauthorized.value):
        for text in (str(error), repr(error), error.message):
            assert token not in text
    assert token not in repr(kube)
    assert token not in repr(vars(kube))


async def test_a_token_file_and_a_ca_file_over_tls(tmp_path: Path) -> None:
    token = "sa-" + secrets.token_urlsafe(24)
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    with running_kubernetes_api(token, tls=True) as api:
        assert api.url.startswith("https://")
        api.add_deployment(NS, "payments", "registry.example.com/payments:1.0.0")
        settings = {"tokenEnv": None, "tokenFile": str(token_file), "caFile": api.ca_file}
        policy = with_secrets_dir(tmp_path)
        kube = deployer(api, policy=policy, **settings)
        started = await kube.start(request())
        assert started.state is DeploymentState.IN_PROGRESS
        without_ca = deployer(api, policy=policy, tokenEnv=None, tokenFile=str(token_file))
        with pytest.raises(ProviderError, match="connection failed"):
            await without_ca.live_status("payments", "production", {})
    missing = deployer(api, policy=policy, tokenEnv=None, tokenFile=str(tmp_path / "absent"))
    with pytest.raises(ProviderError, match=r"tokenFile .* cannot be read"):
        await missing.start(request())


async def test_an_api_server_that_never_answers(token: str) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # connections are accepted by the kernel, and never answered
        port = silent.getsockname()[1]
        settings = {
            "apiUrl": f"http://127.0.0.1:{port}",
            "tokenEnv": TOKEN_ENV,
            "namespace": NS,
            "image": IMAGE,
            "timeoutSeconds": 0.2,
        }
        kube = KubernetesDeployer(settings, backoff_seconds=0.01, policy=LOOPBACK)
        with pytest.raises(ProviderError) as raised:
            await kube.poll(request(), None)
    assert raised.value.message == (
        f"kubernetes GET deployment {NS}/payments failed after 3 attempts: no answer within 0.2 s"
    )
    assert token not in repr(raised.value)


async def test_cancel_is_refused(api: FakeKubernetesApi) -> None:
    with pytest.raises(ProviderError, match="cannot cancel"):
        await deployer(api).cancel(request(), None)


GOOD = {
    "apiUrl": "https://kubernetes.default.svc",
    "tokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/token",
    "namespace": "payments-prod",
    "image": "registry.example.com/{service}:{version}",
}
IN_A_POD = ProviderPolicy(SecretSources(Path("/var/run/secrets/kubernetes.io/serviceaccount")))
"""The strict policy, with the service account's directory as PAVED_SECRETS_DIR."""


def test_good_settings_build_a_deployer() -> None:
    kube = build_deployer("kubernetes", GOOD, policy=IN_A_POD)
    assert kube.kind == "kubernetes"
    local = {**GOOD, "apiUrl": "http://127.0.0.1:8001", "tokenFile": None}
    validate_settings("kubernetes", {**local, "tokenEnv": "PAVED_SECRET_T"}, policy=LOOPBACK)


@pytest.mark.parametrize(
    ("change", "setting"),
    [
        ({"apiUrl": None}, "apiUrl"),
        ({"apiUrl": "http://kubernetes.example.com"}, "apiUrl"),
        ({"apiUrl": "https://admin:secret@kubernetes.example.com"}, "apiUrl"),
        ({"apiUrl": "ftp://kubernetes.example.com"}, "apiUrl"),
        ({"tokenFile": None}, "tokenEnv"),
        ({"tokenEnv": "KUBE_TOKEN"}, "tokenEnv"),
        ({"tokenFile": None, "tokenEnv": "not a name"}, "tokenEnv"),
        ({"tokenFile": None, "tokenEnv": "DATABASE_URL"}, "tokenEnv"),
        ({"tokenFile": None, "tokenEnv": "PAVED_ENV"}, "tokenEnv"),
        ({"tokenFile": "/etc/passwd"}, "tokenFile"),
        (
            {"tokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/../../../../etc/passwd"},
            "tokenFile",
        ),
        ({"tokenFile": "/var/run/secrets/kubernetes.io/serviceaccount"}, "tokenFile"),
        ({"apiUrl": "https://169.254.169.254"}, "apiUrl"),
        ({"apiUrl": "https://10.0.0.1:6443"}, "apiUrl"),
        ({"apiUrl": "https://[::ffff:127.0.0.1]:6443"}, "apiUrl"),
        ({"apiUrl": "http://localhost:8001"}, "apiUrl"),
        ({"tokenFile": ""}, "tokenFile"),
        ({"caFile": ""}, "caFile"),
        ({"namespace": None}, "namespace"),
        ({"namespace": "Payments"}, "namespace"),
        ({"deploymentName": "{service}_{version}"}, "deploymentName"),
        ({"deploymentName": "{service!r}"}, "deploymentName"),
        ({"deploymentName": "Web-{service}"}, "deploymentName"),
        ({"container": "App"}, "container"),
        ({"image": None}, "image"),
        ({"image": "registry.example.com/{service}:latest"}, "image"),
        ({"image": "registry.example.com/{service.__class__}:{version}"}, "image"),
        ({"image": "registry.example.com/{service}:{version}-{version}"}, "image"),
        ({"image": "registry.example.com/{service:{version}"}, "image"),
        ({"timeoutSeconds": 0}, "timeoutSeconds"),
        ({"kubeconfig": "~/.kube/config"}, "kubeconfig"),
        ({"context": "production"}, "context"),
    ],
)
def test_bad_settings_are_refused_naming_the_setting(
    change: dict[str, object], setting: str
) -> None:
    settings = {key: value for key, value in {**GOOD, **change}.items() if value is not None}
    with pytest.raises(InvalidProviderSettings) as raised:
        build_deployer("kubernetes", settings, policy=IN_A_POD)
    assert raised.value.setting == setting
    assert f"setting {setting}:" in raised.value.message
    assert "secret" not in raised.value.message


# --- through a kubeconfig -----------------------------------------------------------------

KUBECONFIG_ENV = "PAVED_SECRET_TEST_KUBECONFIG"


def kubeconfig(
    server: str,
    *,
    token: str | None = None,
    cluster: dict[str, Any] | None = None,
    user: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A kubeconfig whose current context `paved` reaches `server` as user `deployer`."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "paved",
        "clusters": [{"name": "fake", "cluster": {"server": server, **(cluster or {})}}],
        "users": [{"name": "deployer", "user": ({"token": token} if token else {}) | (user or {})}],
        "contexts": [
            {"name": "paved", "context": {"cluster": "fake", "user": "deployer", "namespace": NS}}
        ],
    }


def write(path: Path, document: dict[str, Any]) -> str:
    """The kubeconfig as JSON, which is YAML too."""
    path.write_text(json.dumps(document))
    return str(path)


def kubeconfig_deployer(
    *, policy: ProviderPolicy = LOOPBACK, **settings: object
) -> KubernetesDeployer:
    base: dict[str, object] = {"namespace": NS, "image": IMAGE, "timeoutSeconds": 2}
    return KubernetesDeployer(
        {**base, **settings}, backoff_seconds=0.01, clock=FakeClock(), policy=policy
    )


def data(path: str | None) -> str:
    assert path is not None
    return base64.b64encode(Path(path).read_bytes()).decode()


async def test_a_kubeconfig_file_deploys_and_is_read_again_at_each_call(
    api: FakeKubernetesApi, token: str, tmp_path: Path
) -> None:
    path = write(tmp_path / "kubeconfig", kubeconfig(api.url, token=token))
    kube = kubeconfig_deployer(kubeconfigFile=path, policy=with_secrets_dir(tmp_path))
    assert repr(kube) == f"KubernetesDeployer(kubeconfigFile={path!r}, namespace='prod')"
    started = await kube.start(request())
    assert (started.state, started.external_id) == (DeploymentState.IN_PROGRESS, f"{NS}/payments@2")
    assert [seen.headers["authorization"] for seen in api.requests] == [f"Bearer {token}"] * 2
    assert app_container(api)["image"] == "registry.example.com/payments:1.1.0"
    api.finish()
    assert (await kube.poll(request(), started.external_id)).state is DeploymentState.SUCCEEDED

    # the kubeconfig is rotated: the next call reads the new token
    rotated = "kube-" + secrets.token_urlsafe(24)
    with api.lock:
        api.token = rotated
    with pytest.raises(ProviderError, match="HTTP 401 Unauthorized"):
        await kube.live_status("payments", "production", {})
    write(tmp_path / "kubeconfig", kubeconfig(api.url, token=rotated))
    live = await kube.live_status("payments", "production", {})
    assert live is not None
    assert (live.health, live.version) == (Health.HEALTHY, "1.1.0")
    assert api.requests[-1].headers["authorization"] == f"Bearer {rotated}"

    # an answer quoting the kubeconfig's token is told by its status only
    api.fail_next(403, message=f'deployments.apps "payments" is forbidden, token {rotated}')
    with pytest.raises(ProviderError) as forbidden:
        await kube.start(request("1.2.0", 2))
    assert forbidden.value.message == (
        f"kubernetes API refused GET deployment {NS}/payments: HTTP 403 Forbidden"
    )
    assert rotated not in repr(forbidden.value)
    assert rotated not in repr(vars(kube))


async def test_a_kubeconfig_in_an_environment_variable_and_its_contexts(
    api: FakeKubernetesApi, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    staging_token = "staging-" + secrets.token_urlsafe(24)
    with running_kubernetes_api(staging_token) as staging:
        staging.add_deployment(NS, "payments", "registry.example.com/payments:0.9.0")
        text = f"""\
apiVersion: v1
kind: Config
current-context: staging
clusters:
- name: staging
  cluster:
    server: {staging.url}
- name: production
  cluster:
    server: {api.url}/
users:
- name: staging-deployer
  user:
    token: {staging_token}
- name: production-deployer
  user:
    token: {token}
contexts:
- name: staging
  context: {{cluster: staging, user: staging-deployer}}
- name: production
  context: {{cluster: production, user: production-deployer}}
"""
        monkeypatch.setenv(KUBECONFIG_ENV, text)
        current = kubeconfig_deployer(kubeconfigEnv=KUBECONFIG_ENV)
        chosen = kubeconfig_deployer(kubeconfigEnv=KUBECONFIG_ENV, context="production")
        assert repr(chosen) == (
            f"KubernetesDeployer(kubeconfigEnv={KUBECONFIG_ENV!r}, context='production', "
            "namespace='prod')"
        )
        live = await current.live_status("payments", "production", {})
        assert live is not None
        assert live.version == "0.9.0"  # the current-context's cluster
        live = await chosen.live_status("payments", "production", {})
        assert live is not None
        assert live.version == "1.0.0"
        started = await chosen.start(request())
        assert started.external_id == f"{NS}/payments@2"
        assert app_container(api)["image"] == "registry.example.com/payments:1.1.0"
        staged = staging.deployment(NS, "payments")["spec"]["template"]["spec"]["containers"]
        assert staged[0]["image"] == "registry.example.com/payments:0.9.0"
        assert len(staging.requests) == 1
        assert {seen.headers["authorization"] for seen in api.requests} == {f"Bearer {token}"}

        absent = kubeconfig_deployer(kubeconfigEnv=KUBECONFIG_ENV, context="absent")
        with pytest.raises(ProviderError) as raised:
            await absent.start(request())
        assert raised.value.message == (
            f"kubernetes kubeconfigEnv {KUBECONFIG_ENV} has no context 'absent'"
        )
        monkeypatch.delenv(KUBECONFIG_ENV)
        with pytest.raises(ProviderError) as unset:
            await chosen.poll(request(), started.external_id)
        assert unset.value.message == (
            f"kubernetes kubeconfig: environment variable {KUBECONFIG_ENV} is not set"
        )


async def test_a_kubeconfig_with_a_ca_and_a_client_certificate_over_tls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    cached = dict(kube_config._temp_files)
    with running_kubernetes_api("not-used", tls=True, client_certificates=True) as api:
        monkeypatch.setattr(tempfile, "tempdir", str(temporary))
        api.add_deployment(NS, "payments", "registry.example.com/payments:1.0.0")
        certificate = {
            "client-certificate-data": data(api.client_cert_file),
            "client-key-data": data(api.client_key_file),
        }
        ca_data = {"certificate-authority-data": data(api.ca_file)}
        with_data = kubeconfig(api.url, cluster=ca_data, user=certificate)
        policy = with_secrets_dir(tmp_path)
        kube = kubeconfig_deployer(
            kubeconfigFile=write(tmp_path / "with-data", with_data), policy=policy
        )
        started = await kube.start(request())
        assert started.state is DeploymentState.IN_PROGRESS
        assert [(seen.user, seen.headers.get("authorization")) for seen in api.requests] == [
            ("paved-deployer", None)
        ] * 2
        assert app_container(api)["image"] == "registry.example.com/payments:1.1.0"
        # the certificates and the key were on disk for the call only, and are cached nowhere
        assert list(temporary.iterdir()) == []
        assert kube_config._temp_files == cached

        # the same as files, relative ones from the kubeconfig's directory
        directory = tmp_path / "kube"
        directory.mkdir()
        assert api.ca_file is not None
        assert api.client_key_file is not None
        shutil.copy(api.ca_file, directory / "ca.crt")
        shutil.copy(api.client_key_file, directory / "client.key")
        files = {"client-certificate": api.client_cert_file, "client-key": "client.key"}
        with_files = kubeconfig(api.url, cluster={"certificate-authority": "ca.crt"}, user=files)
        from_files = kubeconfig_deployer(
            kubeconfigFile=write(directory / "config", with_files), policy=policy
        )
        polled = await from_files.poll(request(), started.external_id)
        assert polled.state is DeploymentState.IN_PROGRESS
        assert api.requests[-1].user == "paved-deployer"

        # without the client certificate the server does not know the caller
        anonymous = kubeconfig_deployer(
            kubeconfigFile=write(tmp_path / "anonymous", kubeconfig(api.url, cluster=ca_data)),
            policy=policy,
        )
        with pytest.raises(ProviderError, match="HTTP 401 Unauthorized"):
            await anonymous.live_status("payments", "production", {})
        assert api.requests[-1].user is None
        # without the CA, the server's certificate is not trusted
        untrusted = kubeconfig_deployer(
            kubeconfigFile=write(tmp_path / "untrusted", kubeconfig(api.url, user=certificate)),
            policy=policy,
        )
        with pytest.raises(ProviderError, match="connection failed"):
            await untrusted.live_status("payments", "production", {})
    assert list(temporary.iterdir()) == []


def pem(secret: str) -> str:
    """certificate-authority-data that is no certificate, holding `secret`."""
    fake = f"-----BEGIN CERTIFICATE-----\n{secret}\n-----END CERTIFICATE-----\n"
    return base64.b64encode(fake.encode()).decode()


Document = dict[str, Any]
BREAKS: dict[str, Callable[[Document, Document, Document, str, Path], object]] = {
    "no current-context": lambda kubeconfig, cluster, user, secret, tmp: kubeconfig.pop(
        "current-context"
    ),
    "no cluster": lambda kubeconfig, cluster, user, secret, tmp: kubeconfig["contexts"][0][
        "context"
    ].update(cluster="gone"),
    "exec": lambda kubeconfig, cluster, user, secret, tmp: user.update(
        exec={
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": "aws",
            "env": [{"name": "AWS_SECRET_ACCESS_KEY", "value": secret}],
        }
    ),
    "auth-provider": lambda kubeconfig, cluster, user, secret, tmp: user.update(
        {"auth-provider": {"name": "oidc", "config": {"id-token": secret}}}
    ),
    "http": lambda kubeconfig, cluster, user, secret, tmp: cluster.update(
        server="http://kubernetes.example.com"
    ),
    "credentials": lambda kubeconfig, cluster, user, secret, tmp: cluster.update(
        server=f"https://admin:{secret}@kubernetes.example.com"
    ),
    "insecure": lambda kubeconfig, cluster, user, secret, tmp: cluster.update(
        {"server": "https://127.0.0.1:9", "insecure-skip-tls-verify": True}
    ),
    "not base64": lambda kubeconfig, cluster, user, secret, tmp: user.update(
        {"client-key-data": "abcde"}
    ),
    "two contexts of one name": lambda kubeconfig, cluster, user, secret, tmp: kubeconfig.update(
        contexts=kubeconfig["contexts"] * 2
    ),
    "bad CA": lambda kubeconfig, cluster, user, secret, tmp: cluster.update(
        {"server": "https://127.0.0.1:9", "certificate-authority-data": pem(secret)}
    ),
    "missing tokenFile": lambda kubeconfig, cluster, user, secret, tmp: (
        user.pop("token"),
        user.update(tokenFile=str(tmp / "absent")),
    ),
}
"""How to break a kubeconfig holding `secret` (as its user's token at least)."""


def broken_kubeconfig(case: str, secret: str, tmp_path: Path) -> str:
    """A kubeconfig file broken as `case` says, holding `secret`."""
    path = tmp_path / "kubeconfig"
    if case == "yaml":
        path.write_text(f"users:\n- name: deployer\n  user: {{token: {secret}\n")
    elif case == "not a mapping":
        path.write_text(f"- token: {secret}\n")
    elif case != "missing":
        document = kubeconfig("http://127.0.0.1:9", token=secret)
        cluster = document["clusters"][0]["cluster"]
        BREAKS[case](document, cluster, document["users"][0]["user"], secret, tmp_path)
        if case == "missing tokenFile":  # the token is elsewhere: in the CA
            cluster["certificate-authority-data"] = pem(secret)
        write(path, document)
    return str(path)


@pytest.mark.parametrize(
    ("case", "settings", "expected"),
    [
        ("yaml", {}, r" cannot be used \((Scanner|Parser)Error at line \d+\)$"),
        ("not a mapping", {}, " is not a kubeconfig$"),
        ("no current-context", {}, " has no current-context; name one in the context setting$"),
        ("no current-context", {"context": "absent"}, " has no context 'absent'$"),
        ("no cluster", {}, ": context 'paved' names no cluster of the kubeconfig$"),
        ("exec", {}, ": context 'paved': the user authenticates with an exec plugin, which"),
        ("auth-provider", {}, ": context 'paved': the user authenticates with an auth-provider"),
        ("http", {}, r"the cluster's server must be an https URL \(http only on loopback"),
        ("credentials", {}, "server must not carry credentials; give them as the user of the"),
        ("insecure", {}, ": the cluster sets insecure-skip-tls-verify, which is refused"),
        ("not base64", {}, ": client-key-data of context 'paved' is not base64$"),
        ("two contexts of one name", {}, r" cannot be used \(ConfigException\)$"),
        ("bad CA", {}, r": the certificates of context 'paved' cannot be used \(SSLError\)$"),
        ("missing tokenFile", {}, r" cannot be used \(FileNotFoundError\)$"),
        ("missing", {}, r" cannot be read \(FileNotFoundError\)$"),
    ],
)
async def test_a_kubeconfig_that_cannot_be_used_is_named_without_its_secrets(
    case: str,
    settings: dict[str, str],
    expected: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "kube-" + secrets.token_urlsafe(24)
    path = broken_kubeconfig(case, secret, tmp_path)
    kube = kubeconfig_deployer(kubeconfigFile=path, policy=with_secrets_dir(tmp_path), **settings)
    with pytest.raises(ProviderError) as raised:
        await kube.start(request())
    error = raised.value
    assert error.message.startswith(f"kubernetes kubeconfigFile {path}")
    assert re.search(expected, error.message), error.message
    for text in (str(error), repr(error), error.message, caplog.text, repr(vars(kube))):
        assert secret not in text
    # nothing of the loader's own exception is attached to what is raised or logged
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__


KUBECONFIG = {
    "kubeconfigFile": "/etc/paved/kubeconfig",
    "namespace": "payments-prod",
    "image": "registry.example.com/{service}:{version}",
}
ETC_PAVED = ProviderPolicy(SecretSources(Path("/etc/paved")))
"""The strict policy, with /etc/paved as PAVED_SECRETS_DIR."""


def test_good_kubeconfig_settings_build_a_deployer() -> None:
    assert build_deployer("kubernetes", KUBECONFIG, policy=ETC_PAVED).kind == "kubernetes"
    validate_settings("kubernetes", {**KUBECONFIG, "context": "prod-eu@admin"}, policy=ETC_PAVED)
    from_env = {**KUBECONFIG, "kubeconfigFile": None, "kubeconfigEnv": "PAVED_SECRET_KUBECONFIG"}
    kube = build_deployer("kubernetes", from_env)
    assert repr(kube) == (
        "KubernetesDeployer(kubeconfigEnv='PAVED_SECRET_KUBECONFIG', namespace='payments-prod')"
    )
    # given as null, the other way's settings are not given
    validate_settings(
        "kubernetes", {**KUBECONFIG, "apiUrl": None, "tokenEnv": None}, policy=ETC_PAVED
    )


@pytest.mark.parametrize(
    ("change", "setting"),
    [
        ({"apiUrl": "https://kubernetes.default.svc"}, "apiUrl"),
        ({"tokenEnv": "KUBE_TOKEN"}, "tokenEnv"),
        ({"tokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/token"}, "tokenFile"),
        ({"caFile": "/etc/paved/ca.crt"}, "caFile"),
        ({"kubeconfigEnv": "KUBECONFIG_TEXT"}, "kubeconfigEnv"),
        ({"kubeconfigFile": ""}, "kubeconfigFile"),
        ({"kubeconfigFile": None, "kubeconfigEnv": "not a name"}, "kubeconfigEnv"),
        ({"kubeconfigFile": None, "kubeconfigEnv": "KUBECONFIG"}, "kubeconfigEnv"),
        ({"kubeconfigFile": "/etc/shadow"}, "kubeconfigFile"),
        ({"kubeconfigFile": "/etc/paved/../shadow"}, "kubeconfigFile"),
        ({"context": ""}, "context"),
        ({"context": "prod\nadmin"}, "context"),
        ({"kubeconfigFile": None}, "apiUrl"),
        ({"kubeconfigFile": None, "context": "prod"}, "context"),
    ],
)
def test_bad_kubeconfig_settings_are_refused_naming_the_setting(
    change: dict[str, object], setting: str
) -> None:
    settings = {key: value for key, value in {**KUBECONFIG, **change}.items() if value is not None}
    with pytest.raises(InvalidProviderSettings) as raised:
        build_deployer("kubernetes", settings, policy=ETC_PAVED)
    assert raised.value.setting == setting
    assert f"setting {setting}:" in raised.value.message
    if setting in {"apiUrl", "tokenEnv", "tokenFile", "caFile"} and "kubeconfigFile" in settings:
        assert "not with kubeconfigFile or kubeconfigEnv" in raised.value.message
    with pytest.raises(InvalidProviderSettings):
        validate_settings("kubernetes", settings, policy=ETC_PAVED)
