"""The argocd provider against a fake Argo CD API on 127.0.0.1."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from domain.deployments.model import (
    DeploymentKind,
    DeploymentState,
    DeployRequest,
    Health,
    InvalidProviderSettings,
    ProviderCapability,
    ProviderError,
)
from providers.deployers.argocd import INFO_NAME, ROLLBACK_MARK, ArgoCDDeployer
from providers.deployers.registry import build_deployer
from tests.support.deployer_fakes.argocd_api import FakeArgoCD, Reply, error_body, running_argocd
from tests.support.deployer_fakes.policy import LOOPBACK
from tests.support.network import free_port

TOKEN_ENV = "PAVED_SECRET_TEST_ARGOCD_TOKEN"
APP = "payments-production"


def request(
    deployment_id: int = 42,
    version: str = "1.2.3",
    *,
    kind: DeploymentKind = DeploymentKind.DEPLOY,
    rollback_to: str | None = None,
) -> DeployRequest:
    return DeployRequest(
        deployment_id,
        "payments",
        "production",
        version,
        "f00dcafe",
        kind,
        rollback_to_external_id=rollback_to,
    )


pytestmark = pytest.mark.usefixtures("retries_without_waiting")


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> str:
    value = "argocd-" + secrets.token_hex(16)
    monkeypatch.setenv(TOKEN_ENV, value)
    return value


@pytest.fixture
def argocd(token: str) -> Iterator[FakeArgoCD]:
    with running_argocd(token) as fake:
        fake.add_app(APP)
        yield fake


def deployer(fake: FakeArgoCD, **settings: object) -> ArgoCDDeployer:
    return ArgoCDDeployer(
        {"serverUrl": fake.url, "tokenEnv": TOKEN_ENV, "timeoutSeconds": 2, **settings},
        backoff_seconds=0.01,
        policy=LOOPBACK,
    )


def helm_tag(fake: FakeArgoCD) -> str:
    parameters = fake.apps[APP]["spec"]["source"]["helm"]["parameters"]
    return str(next(p["value"] for p in parameters if p["name"] == "image.tag"))


async def test_happy_path_sets_the_helm_parameter_syncs_and_succeeds(
    argocd: FakeArgoCD, token: str
) -> None:
    adapter = deployer(argocd)
    started = await adapter.start(request())
    assert started.state is DeploymentState.IN_PROGRESS
    assert (
        started.external_id == f"{APP}@" + argocd.apps[APP]["status"]["operationState"]["startedAt"]
    )
    assert helm_tag(argocd) == "1.2.3"
    parameters = argocd.apps[APP]["spec"]["source"]["helm"]["parameters"]
    assert {"name": "replicaCount", "value": "2"} in parameters
    methods = [(r.method, r.path) for r in argocd.requests]
    assert methods == [
        ("GET", f"/api/v1/applications/{APP}"),
        ("PATCH", f"/api/v1/applications/{APP}"),
        ("POST", f"/api/v1/applications/{APP}/sync"),
    ]
    assert all(r.headers["authorization"] == f"Bearer {token}" for r in argocd.requests)
    patch = argocd.requests[1].body
    assert (patch["name"], patch["patchType"]) == (APP, "merge")
    assert json.loads(patch["patch"])["spec"]["source"]["helm"]["parameters"][-1] == {
        "name": "image.tag",
        "value": "1.2.3",
    }
    assert argocd.requests[2].body == {
        "name": APP,
        "revision": "main",
        "prune": False,
        "infos": [{"name": INFO_NAME, "value": "42"}],
    }
    polled = await adapter.poll(request(), started.external_id)
    assert (polled.state, polled.raw_status) == (
        DeploymentState.IN_PROGRESS,
        "OutOfSync/Progressing",
    )

    argocd.finish()
    done = await adapter.poll(request(), started.external_id)
    assert (done.state, done.raw_status) == (DeploymentState.SUCCEEDED, "Synced/Healthy")
    assert done.external_id == started.external_id
    live = await adapter.live_status("payments", "production", {})
    assert live is not None
    assert (live.health, live.version, live.source) == (Health.HEALTHY, "1.2.3", "argocd")


async def test_succeeded_but_still_progressing_is_in_progress(argocd: FakeArgoCD) -> None:
    adapter = deployer(argocd)
    started = await adapter.start(request())
    argocd.finish()
    argocd.set_health(APP, "Progressing")
    polled = await adapter.poll(request(), started.external_id)
    assert (polled.state, polled.raw_status) == (DeploymentState.IN_PROGRESS, "Synced/Progressing")


async def test_a_restarted_adapter_recognises_its_operation(argocd: FakeArgoCD) -> None:
    started = await deployer(argocd).start(request())
    fresh = deployer(argocd)
    again = await fresh.start(request())
    assert (again.state, again.external_id) == (DeploymentState.IN_PROGRESS, started.external_id)
    assert [r.method for r in argocd.requests].count("POST") == 1
    argocd.finish()
    assert (await fresh.poll(request(), None)).state is DeploymentState.SUCCEEDED


async def test_kustomize_mode_sets_the_image(argocd: FakeArgoCD) -> None:
    argocd.add_app(APP, mode="kustomize", image="ghcr.io/acme/payments")
    adapter = deployer(argocd, mode="kustomize", image="ghcr.io/acme/{service}")
    started = await adapter.start(request(version="2.0.1"))
    images = argocd.apps[APP]["spec"]["source"]["kustomize"]["images"]
    assert images == ["busybox:1.36", "ghcr.io/acme/payments:2.0.1"]
    argocd.finish()
    assert (await adapter.poll(request(), started.external_id)).state is DeploymentState.SUCCEEDED
    live = await adapter.live_status("payments", "production", {})
    assert live is not None
    assert (live.health, live.version) == (Health.HEALTHY, "2.0.1")


async def test_a_failed_sync_is_failed_with_argos_message(argocd: FakeArgoCD) -> None:
    adapter = deployer(argocd)
    started = await adapter.start(request(version="2.0.0-broken"))
    argocd.finish()
    failed = await adapter.poll(request(), started.external_id)
    assert (failed.state, failed.raw_status) == (DeploymentState.FAILED, "Failed")
    assert failed.message is not None
    assert "one or more objects failed to apply" in failed.message


async def test_an_error_phase_is_failed(argocd: FakeArgoCD) -> None:
    adapter = deployer(argocd)
    started = await adapter.start(request())
    argocd.set_operation(APP, "Error", "ComparisonError: repository not accessible")
    failed = await adapter.poll(request(), started.external_id)
    assert (failed.state, failed.message) == (
        DeploymentState.FAILED,
        "ComparisonError: repository not accessible",
    )


async def test_degraded_after_the_sync_is_failed(argocd: FakeArgoCD) -> None:
    adapter = deployer(argocd)
    started = await adapter.start(request())
    argocd.set_health(APP, "Degraded", "Deployment has timed out progressing")
    assert (await adapter.poll(request(), started.external_id)).state is (
        DeploymentState.IN_PROGRESS
    )
    argocd.finish()
    argocd.set_health(APP, "Degraded", "Deployment has timed out progressing")
    failed = await adapter.poll(request(), started.external_id)
    assert (failed.state, failed.raw_status) == (DeploymentState.FAILED, "Synced/Degraded")
    assert failed.message == (
        "application is Degraded after the sync: Deployment has timed out progressing"
    )
    live = await adapter.live_status("payments", "production", {})
    assert live is not None
    assert (live.health, live.message) == (Health.DEGRADED, "Deployment has timed out progressing")


async def test_cancel_terminates_the_operation(argocd: FakeArgoCD) -> None:
    adapter = deployer(argocd)
    assert ProviderCapability.CANCEL in adapter.capabilities
    started = await adapter.start(request())
    canceled = await adapter.cancel(request(), started.external_id)
    assert (canceled.state, canceled.raw_status) == (DeploymentState.CANCELED, "Terminating")
    assert (argocd.requests[-1].method, argocd.requests[-1].path) == (
        "DELETE",
        f"/api/v1/applications/{APP}/operation",
    )
    assert (await adapter.poll(request(), started.external_id)).state is DeploymentState.CANCELED
    argocd.finish()
    after = await adapter.poll(request(), started.external_id)
    assert (after.state, after.message) == (DeploymentState.CANCELED, "Operation terminated")


async def test_cancel_after_the_end_changes_nothing(argocd: FakeArgoCD) -> None:
    adapter = deployer(argocd)
    started = await adapter.start(request())
    argocd.finish()
    after = await adapter.cancel(request(), started.external_id)
    assert after.state is DeploymentState.SUCCEEDED
    assert "DELETE" not in [r.method for r in argocd.requests]


async def test_rollback_to_the_history_id_of_an_external_id(argocd: FakeArgoCD) -> None:
    adapter = deployer(argocd)
    first = await adapter.start(request(1, "1.0.0"))
    argocd.finish()
    second = await adapter.start(request(2, "1.1.0"))
    argocd.finish()
    assert (await adapter.poll(request(2, "1.1.0"), second.external_id)).state is (
        DeploymentState.SUCCEEDED
    )
    history = argocd.apps[APP]["status"]["history"]
    [target] = [h for h in history if f"{APP}@{h['deployStartedAt']}" == first.external_id]

    rollback = request(3, "1.0.0", kind=DeploymentKind.ROLLBACK, rollback_to=first.external_id)
    started = await adapter.start(rollback)
    assert started.state is DeploymentState.IN_PROGRESS
    assert argocd.requests[-1].path == f"/api/v1/applications/{APP}/rollback"
    assert argocd.requests[-1].body == {"name": APP, "id": target["id"], "prune": False}
    # before it, only the mark that recognises the rollback after a restart
    mark = argocd.requests[-2]
    assert (mark.method, mark.body["patchType"]) == ("PATCH", "merge")
    assert json.loads(mark.body["patch"]) == {
        "metadata": {
            "annotations": {
                ROLLBACK_MARK: json.dumps({"deployment": 3, "after": second_started_at(second)})
            }
        }
    }
    again = await adapter.start(rollback)
    assert again.external_id == started.external_id
    argocd.finish()
    done = await adapter.poll(rollback, started.external_id)
    assert done.state is DeploymentState.SUCCEEDED
    live = await adapter.live_status("payments", "production", {})
    assert live is not None
    assert live.version == "1.0.0"


def second_started_at(started: Any) -> str:
    return str(started.external_id).rpartition("@")[2]


def rollback_posts(fake: FakeArgoCD) -> list[Any]:
    return [r.body for r in fake.requests if r.path.endswith("/rollback")]


async def live_version(fake: FakeArgoCD) -> str | None:
    live = await deployer(fake).live_status("payments", "production", {})
    assert live is not None
    return live.version


async def deploy_two_versions(fake: FakeArgoCD) -> None:
    adapter = deployer(fake)
    for deployment_id, version in ((1, "1.0.0"), (2, "1.1.0")):
        await adapter.start(request(deployment_id, version))
        fake.finish()


async def test_a_rollback_started_again_after_a_restart_is_not_asked_for_twice(
    argocd: FakeArgoCD,
) -> None:
    await deploy_two_versions(argocd)
    rollback = request(3, "1.0.0", kind=DeploymentKind.ROLLBACK)
    started = await deployer(argocd).start(rollback)
    # the process restarts while the rollback runs; the runner starts it again
    running = await deployer(argocd).start(rollback)
    assert (running.state, running.external_id) == (started.state, started.external_id)
    argocd.finish()
    # ...and again once it has succeeded
    restarted = deployer(argocd)
    done = await restarted.start(rollback)
    assert (done.state, done.external_id) == (DeploymentState.SUCCEEDED, started.external_id)
    assert (await restarted.poll(rollback, None)).state is DeploymentState.SUCCEEDED
    assert rollback_posts(argocd) == [{"name": APP, "id": 1, "prune": False}]
    assert [r.method for r in argocd.requests].count("PATCH") == 3  # two deploys, one mark
    assert await live_version(argocd) == "1.0.0"


async def test_a_rollback_marked_but_never_asked_for_is_asked_for_on_the_next_start(
    argocd: FakeArgoCD,
) -> None:
    await deploy_two_versions(argocd)
    rollback = request(3, "1.0.0", kind=DeploymentKind.ROLLBACK)
    argocd.script.extend([Reply(200, argocd.apps[APP]), Reply(200, argocd.apps[APP])])
    argocd.script.append(Reply(503, error_body("the process died here", 14)))
    with pytest.raises(ProviderError):
        await deployer(argocd).start(rollback)
    assert rollback_posts(argocd) == [{"name": APP, "id": 1, "prune": False}]  # refused
    argocd.apps[APP]["metadata"].setdefault("annotations", {})[ROLLBACK_MARK] = json.dumps(
        {"deployment": 3, "after": argocd.apps[APP]["status"]["operationState"]["startedAt"]}
    )
    started = await deployer(argocd).start(rollback)
    assert started.state is DeploymentState.IN_PROGRESS
    assert len(rollback_posts(argocd)) == 2
    argocd.finish()
    assert (await deployer(argocd).poll(rollback, started.external_id)).state is (
        DeploymentState.SUCCEEDED
    )
    assert await live_version(argocd) == "1.0.0"


async def test_a_rollback_naming_the_deployment_it_replaces_goes_to_its_version(
    argocd: FakeArgoCD,
) -> None:
    """The runner passes the external id of the deployment rolled back (the current one):
    only a history entry holding the requested version is a target."""
    adapter = deployer(argocd)
    await adapter.start(request(1, "1.0.0"))
    argocd.finish()
    current = await adapter.start(request(2, "1.1.0"))
    argocd.finish()
    rollback = request(3, "1.0.0", kind=DeploymentKind.ROLLBACK, rollback_to=current.external_id)
    await adapter.start(rollback)
    assert rollback_posts(argocd) == [{"name": APP, "id": 1, "prune": False}]
    argocd.finish()
    assert await live_version(argocd) == "1.0.0"


async def test_rollback_by_version_found_in_history(argocd: FakeArgoCD) -> None:
    adapter = deployer(argocd)
    await adapter.start(request(1, "1.1.0"))
    argocd.finish()
    started = await adapter.start(request(2, "0.9.0", kind=DeploymentKind.ROLLBACK))
    assert argocd.requests[-1].body == {"name": APP, "id": 0, "prune": False}
    argocd.finish()
    assert (
        await adapter.poll(request(2, "0.9.0", kind=DeploymentKind.ROLLBACK), started.external_id)
    ).state is (DeploymentState.SUCCEEDED)


async def test_rollback_to_an_unknown_version_deploys_it(argocd: FakeArgoCD) -> None:
    adapter = deployer(argocd)
    await adapter.start(request(5, "0.8.0", kind=DeploymentKind.ROLLBACK))
    assert [r.method for r in argocd.requests][-2:] == ["PATCH", "POST"]
    assert argocd.requests[-1].path.endswith("/sync")
    assert helm_tag(argocd) == "0.8.0"


async def test_rollback_refused_by_argo_cd_is_a_provider_error(argocd: FakeArgoCD) -> None:
    adapter = deployer(argocd)
    argocd.apps[APP]["spec"]["syncPolicy"] = {"automated": {"prune": False}}
    with pytest.raises(ProviderError) as raised:
        await adapter.start(request(2, "0.9.0", kind=DeploymentKind.ROLLBACK))
    # told by its status only: Argo CD's words stay out of the stored status message
    refused = f"Argo CD POST application {APP}/rollback refused: HTTP 400 Bad Request"
    assert raised.value.message == refused
    assert "auto-sync" not in raised.value.message


async def test_another_running_operation_refuses_a_start(argocd: FakeArgoCD) -> None:
    adapter = deployer(argocd)
    await adapter.start(request(1))
    with pytest.raises(ProviderError) as raised:
        await adapter.start(request(2, "1.3.0"))
    assert "another operation is in progress" in raised.value.message


async def test_a_replaced_operation(argocd: FakeArgoCD) -> None:
    adapter = deployer(argocd)
    first = await adapter.start(request(1, "1.0.0"))
    argocd.finish()
    second = await adapter.start(request(2, "1.1.0"))
    superseded = await adapter.poll(request(1, "1.0.0"), first.external_id)
    assert (superseded.state, superseded.raw_status) == (DeploymentState.SUCCEEDED, "Superseded")
    await adapter.cancel(request(2, "1.1.0"), second.external_id)
    argocd.finish()
    await adapter.start(request(3, "1.2.0"))
    lost = await adapter.poll(request(2, "1.1.0"), "elsewhere@2020-01-01T00:00:00Z")
    assert (lost.state, lost.raw_status) == (DeploymentState.FAILED, "Superseded")


async def test_a_missing_application(argocd: FakeArgoCD) -> None:
    adapter = deployer(argocd, application="{service}-{environment}-eu")
    live = await adapter.live_status("payments", "production", {})
    assert live is not None
    assert (live.health, live.version) == (Health.MISSING, None)
    assert live.message == "Argo CD application payments-production-eu not found"
    with pytest.raises(ProviderError) as raised:
        await adapter.start(request())
    assert raised.value.message == "Argo CD application payments-production-eu not found"
    assert [r.method for r in argocd.requests] == ["GET", "GET"]


async def test_gets_are_retried_and_writes_are_not(argocd: FakeArgoCD) -> None:
    adapter = deployer(argocd)
    argocd.script.extend([Reply(503), Reply(502)])
    live = await adapter.live_status("payments", "production", {})
    assert live is not None
    assert live.health is Health.HEALTHY
    assert len(argocd.requests) == 3
    argocd.requests.clear()
    argocd.script.extend([Reply(200, argocd.apps[APP]), Reply(503, error_body("busy", 14))])
    with pytest.raises(ProviderError) as raised:
        await adapter.start(request())
    assert [r.method for r in argocd.requests] == ["GET", "PATCH"]
    assert raised.value.message == (
        f"Argo CD PATCH application {APP} failed: HTTP 503 Service Unavailable"
    )


async def test_it_gives_up_after_three_gets(argocd: FakeArgoCD) -> None:
    argocd.script.extend([Reply(500)] * 3)
    with pytest.raises(ProviderError) as raised:
        await deployer(argocd).poll(request(), None)
    assert raised.value.message == (
        f"Argo CD GET application {APP} failed after 3 attempts: HTTP 500 Internal Server Error"
    )


async def test_the_token_never_shows(argocd: FakeArgoCD, token: str) -> None:
    adapter = deployer(argocd)
    argocd.script.append(Reply(403, error_body(f"token {token} lacks permission", 7)))
    with pytest.raises(ProviderError) as raised:
        await adapter.start(request())
    texts = [str(raised.value), repr(raised.value), raised.value.message]
    assert raised.value.message == f"Argo CD GET application {APP} refused: HTTP 403 Forbidden"
    texts += [repr(adapter), str(adapter), repr(vars(adapter))]
    started = await adapter.start(request())
    texts += [repr(started), repr(await adapter.poll(request(), started.external_id))]
    assert not [text for text in texts if token in text]


async def test_a_wrong_token_is_refused(
    argocd: FakeArgoCD, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, "wrong")
    with pytest.raises(ProviderError) as raised:
        await deployer(argocd).start(request())
    assert raised.value.message == f"Argo CD GET application {APP} refused: HTTP 401 Unauthorized"


async def test_an_unset_token_variable(argocd: FakeArgoCD, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_ENV)
    with pytest.raises(ProviderError) as raised:
        await deployer(argocd).start(request())
    assert raised.value.message == f"Argo CD token: environment variable {TOKEN_ENV} is not set"
    assert argocd.requests == []


async def test_an_unreachable_server(token: str) -> None:
    port = free_port()
    adapter = ArgoCDDeployer(
        {"serverUrl": f"http://127.0.0.1:{port}", "tokenEnv": TOKEN_ENV},
        backoff_seconds=0.01,
        policy=LOOPBACK,
    )
    with pytest.raises(ProviderError) as raised:
        await adapter.poll(request(), None)
    assert "failed after 3 attempts: connection failed" in raised.value.message


def test_build_deployer_builds_it() -> None:
    built = build_deployer(
        "argocd", {"serverUrl": "https://argocd.example.com", "tokenEnv": "PAVED_SECRET_ARGOCD"}
    )
    assert built.kind == "argocd"
    assert built.capabilities == set(ProviderCapability) - {ProviderCapability.PROVISION}
    assert repr(built) == "ArgoCDDeployer(serverUrl='https://argocd.example.com')"


GOOD: dict[str, Any] = {
    "serverUrl": "https://argocd.example.com",
    "tokenEnv": "PAVED_SECRET_ARGOCD",
}


@pytest.mark.parametrize(
    ("settings", "setting"),
    [
        ({"tokenEnv": "PAVED_SECRET_T"}, "serverUrl"),
        ({**GOOD, "serverUrl": "http://argocd.example.com"}, "serverUrl"),
        ({**GOOD, "serverUrl": "https://admin:pw@argocd.example.com"}, "serverUrl"),
        ({**GOOD, "serverUrl": "https://argocd.example.com/?x=1"}, "serverUrl"),
        ({"serverUrl": "https://argocd.example.com"}, "tokenEnv"),
        ({**GOOD, "tokenEnv": "not a name"}, "tokenEnv"),
        ({**GOOD, "tokenEnv": "ARGOCD_TOKEN"}, "tokenEnv"),
        ({**GOOD, "tokenEnv": "DATABASE_URL"}, "tokenEnv"),
        ({**GOOD, "serverUrl": "https://169.254.169.254"}, "serverUrl"),
        ({**GOOD, "serverUrl": "https://10.0.0.1"}, "serverUrl"),
        ({**GOOD, "serverUrl": "https://[::ffff:127.0.0.1]:8080"}, "serverUrl"),
        ({**GOOD, "serverUrl": "http://localhost:8080"}, "serverUrl"),
        ({**GOOD, "token": "abc"}, "token"),
        ({**GOOD, "application": "{service}-{region}"}, "application"),
        ({**GOOD, "mode": "jsonnet"}, "mode"),
        ({**GOOD, "mode": "kustomize"}, "settings"),
        ({**GOOD, "mode": "kustomize", "image": "ghcr.io/{team}"}, "image"),
        ({**GOOD, "timeoutSeconds": 0}, "timeoutSeconds"),
        ({**GOOD, "insecure": "maybe"}, "insecure"),
    ],
)
def test_bad_settings_are_refused_naming_the_setting(
    settings: dict[str, Any], setting: str
) -> None:
    with pytest.raises(InvalidProviderSettings) as raised:
        build_deployer("argocd", settings)
    assert raised.value.setting == setting
    assert f"setting {setting}:" in raised.value.message


def test_good_settings() -> None:
    ArgoCDDeployer({**GOOD, "mode": "kustomize", "image": "ghcr.io/acme/{service}"})
    ArgoCDDeployer({**GOOD, "serverUrl": "https://10.0.0.1", "insecure": True}, policy=LOOPBACK)
    ArgoCDDeployer({**GOOD, "serverUrl": "http://localhost:8080"}, policy=LOOPBACK)


def test_settings_errors_do_not_repeat_the_values() -> None:
    with pytest.raises(InvalidProviderSettings) as raised:
        build_deployer("argocd", {**GOOD, "serverUrl": "https://admin:hunter2@argocd.example.com"})
    assert "hunter2" not in str(raised.value)
