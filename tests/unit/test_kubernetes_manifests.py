"""deploy/kubernetes: every overlay renders with `kubectl kustomize`, every object is valid
against the Kubernetes API's schemas (kubernetes-validate, offline, strict: an unknown or
misspelt field fails), and what the manifests promise holds: pods that run as non-root on a
read-only root filesystem, probes on /readyz and /healthz, secrets only from Secrets, the
migration Job before the rollout, two replicas at least in production, and the optional
ServiceMonitor component in the shape Prometheus Operator reads.

Needs `kubectl` 1.21 or newer (Kustomize components); without one the module is skipped in
one line, unless PAVED_K8S_CHECK=required (`make k8s-check`), which makes that a failure.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from api.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "deploy" / "kubernetes"
OVERLAYS = MANIFESTS / "overlays"
SERVICE_MONITOR = MANIFESTS / "components" / "service-monitor"

# The oldest Kubernetes the manifests are written for (matchLabelKeys in topology spread
# constraints, unhealthyPodEvictionPolicy) and the newest whose schemas the package bundles.
KUBERNETES_VERSIONS = ("1.27", kubernetes_validate.latest_version())
MIN_KUBECTL_MINOR = 21
"""Kustomize components and directories under `resources:` (kubectl 1.21 embeds Kustomize 4)."""

CUSTOM_RESOURCES = {("monitoring.coreos.com/v1", "ServiceMonitor")}
"""Kinds of CRDs: their schemas are not Kubernetes', so kubernetes-validate has none."""

POD_OWNERS = {"Deployment", "Job"}
RUN_AS_USER = 10001
"""The image's user (Dockerfile: `USER 10001:10001`)."""
SECRET_NAME = "paved"
SECRET_LOOKING = re.compile(r"(KEY|SECRET|TOKEN|PASSWORD|DATABASE_URL)$")

Manifest = dict[str, Any]


def _kubectl() -> str:
    """A kubectl able to render the overlays, or the reason the module cannot run."""
    kubectl = shutil.which("kubectl")
    problem = None
    if kubectl is None:
        problem = "kubectl not found (make k8s-check installs it)"
    else:
        shown = subprocess.run(
            [kubectl, "version", "--client", "-o", "json"],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        version = json.loads(shown.stdout or "{}").get("clientVersion", {})
        minor = int(re.sub(r"\D", "", version.get("minor", "")) or 0)
        if version.get("major") != "1" or minor < MIN_KUBECTL_MINOR:
            problem = (
                f"kubectl {version.get('gitVersion', '?')} is too old: its Kustomize cannot "
                f"render components or directories in `resources:` (1.{MIN_KUBECTL_MINOR}+ needed)"
            )
    if problem is None:
        assert kubectl is not None
        return kubectl
    if os.environ.get("PAVED_K8S_CHECK") == "required":
        pytest.fail(problem, pytrace=False)
    pytest.skip(problem)


def _render(kubectl: str, directory: Path) -> list[Manifest]:
    rendered = subprocess.run(
        [kubectl, "kustomize", str(directory)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert rendered.returncode == 0, rendered.stderr
    # Deprecated fields are warned about on stderr: the manifests use none.
    assert "Warning" not in rendered.stderr, rendered.stderr
    return [document for document in yaml.safe_load_all(rendered.stdout) if document]


def _overlay_names() -> list[str]:
    return sorted(
        entry.name for entry in OVERLAYS.iterdir() if (entry / "kustomization.yaml").is_file()
    )


@pytest.fixture(scope="module")
def kubectl() -> str:
    return _kubectl()


@pytest.fixture(scope="module")
def rendered(kubectl: str) -> dict[str, list[Manifest]]:
    return {name: _render(kubectl, OVERLAYS / name) for name in _overlay_names()}


@pytest.fixture(scope="module")
def monitored(kubectl: str, tmp_path_factory: pytest.TempPathFactory) -> list[Manifest]:
    """Production with the ServiceMonitor component, as an overlay that adds it renders it."""
    folder = tmp_path_factory.mktemp("monitored")
    production = yaml.safe_load((OVERLAYS / "production" / "kustomization.yaml").read_text())
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": production["namespace"],
        # Kustomize takes no absolute path to a directory.
        "resources": [os.path.relpath(OVERLAYS / "production", folder)],
        "components": [os.path.relpath(SERVICE_MONITOR, folder)],
    }
    (folder / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    return _render(kubectl, folder)


def _one(objects: list[Manifest], kind: str, name: str | None = None) -> Manifest:
    found = [
        item
        for item in objects
        if item["kind"] == kind and (name is None or item["metadata"]["name"] == name)
    ]
    assert len(found) == 1, f"{len(found)} {kind} {name or ''}"
    return found[0]


def _pod_specs(objects: list[Manifest]) -> Iterator[tuple[str, Manifest]]:
    for item in objects:
        if item["kind"] in POD_OWNERS:
            yield f"{item['kind']}/{item['metadata']['name']}", item["spec"]["template"]["spec"]


def _env(container: Manifest) -> dict[str, Manifest]:
    return {entry["name"]: entry for entry in container.get("env", [])}


def _api_container(objects: list[Manifest]) -> Manifest:
    containers = _one(objects, "Deployment", "paved")["spec"]["template"]["spec"]["containers"]
    assert [container["name"] for container in containers] == ["paved"]
    return dict(containers[0])


def _known_settings() -> set[str]:
    """The environment variables api/settings.py reads."""
    names = {"DATABASE_URL"}
    for field in Settings.model_fields:
        names.add(f"PAVED_{field.upper()}")
    return names


def test_the_overlays_are_there() -> None:
    assert {"development", "production"} <= set(_overlay_names())


def test_every_object_is_valid_against_the_kubernetes_schemas(
    rendered: dict[str, list[Manifest]], monitored: list[Manifest]
) -> None:
    checked, problems = 0, []
    for objects in [*rendered.values(), monitored]:
        for item in objects:
            if (item["apiVersion"], item["kind"]) in CUSTOM_RESOURCES:
                continue
            for version in KUBERNETES_VERSIONS:
                try:
                    kubernetes_validate.validate(item, version, strict=True)
                except kubernetes_validate.ValidationError as error:
                    where = "/".join(str(part) for part in error.path)
                    name = f"{item['kind']}/{item['metadata']['name']}"
                    problems.append(f"{name} on {version}: {where}: {error.message}")
                checked += 1
    assert not problems, "\n".join(sorted(set(problems)))
    assert checked > 0


def test_the_validation_catches_a_misspelt_field(rendered: dict[str, list[Manifest]]) -> None:
    """Strict: a field the API does not know fails, as the API server would refuse it."""
    deployment = copy.deepcopy(_one(rendered["production"], "Deployment", "paved"))
    probe = deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
    probe["httpGet"]["pth"] = probe["httpGet"].pop("path")
    with pytest.raises(kubernetes_validate.ValidationError, match="pth"):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[0], strict=True)


@pytest.mark.parametrize("overlay", _overlay_names())
def test_pods_run_unprivileged_on_a_read_only_root(
    rendered: dict[str, list[Manifest]], overlay: str
) -> None:
    """The Pod Security Standards' `restricted` profile, and a bit more."""
    specs = list(_pod_specs(rendered[overlay]))
    assert {name.split("/")[0] for name, _ in specs} == POD_OWNERS
    for name, spec in specs:
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True, name
        assert pod["runAsUser"] == RUN_AS_USER, name
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert spec["automountServiceAccountToken"] is False, name
        assert spec["enableServiceLinks"] is False, name
        for field in ("hostNetwork", "hostPID", "hostIPC"):
            assert not spec.get(field), name
        for volume in spec.get("volumes", []):
            assert set(volume) <= {"name", "emptyDir", "secret", "configMap", "projected"}, name
        for container in spec["containers"] + spec.get("initContainers", []):
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["runAsNonRoot"] is True, name
            assert context.get("privileged", False) is False, name
            assert context["capabilities"] == {"drop": ["ALL"]}, name
            assert context["seccompProfile"] == {"type": "RuntimeDefault"}, name
            resources = container["resources"]
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources[bound]), f"{name} {bound}"


@pytest.mark.parametrize("overlay", _overlay_names())
def test_the_api_is_probed_served_and_spread(
    rendered: dict[str, list[Manifest]], overlay: str
) -> None:
    objects = rendered[overlay]
    deployment = _one(objects, "Deployment", "paved")
    container = _api_container(objects)
    assert container["args"] == ["serve"]
    assert container["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    # /readyz waits PAVED_READY_TIMEOUT_SECONDS (2 s) for the database: the probe waits longer.
    assert container["readinessProbe"]["timeoutSeconds"] > 2
    # The only writable place is /tmp, an emptyDir.
    spec = deployment["spec"]["template"]["spec"]
    assert container["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
    assert spec["volumes"] == [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}]

    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    spread = {item["topologyKey"]: item for item in spec["topologySpreadConstraints"]}
    assert set(spread) == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}
    assert spread["kubernetes.io/hostname"]["whenUnsatisfiable"] == "DoNotSchedule"
    for constraint in spread.values():
        assert constraint["labelSelector"]["matchLabels"].items() <= pod_labels.items()

    service = _one(objects, "Service", "paved")
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert [port["targetPort"] for port in service["spec"]["ports"]] == ["http"]

    budget = _one(objects, "PodDisruptionBudget", "paved")
    assert budget["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert budget["spec"]["maxUnavailable"] == 1

    # SIGTERM comes after the preStop pause; in-flight requests then get
    # PAVED_SHUTDOWN_SECONDS, and the leases are released, all within the grace period.
    pause = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
    config = _config(objects)
    assert spec["terminationGracePeriodSeconds"] > pause + int(config["PAVED_SHUTDOWN_SECONDS"])


def _config(objects: list[Manifest]) -> dict[str, str]:
    """The ConfigMap the API reads its settings from (its generated, hashed name)."""
    container = _api_container(objects)
    names = [
        item["configMapRef"]["name"] for item in container["envFrom"] if "configMapRef" in item
    ]
    assert len(names) == 1
    return dict(_one(objects, "ConfigMap", names[0])["data"])


@pytest.mark.parametrize("overlay", _overlay_names())
def test_settings_come_from_the_config_map_and_secrets_from_the_secret(
    rendered: dict[str, list[Manifest]], overlay: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    objects = rendered[overlay]
    container = _api_container(objects)
    config = _config(objects)
    env = _env(container)
    known = _known_settings()
    assert set(config) <= known, set(config) - known
    assert set(env) <= known, set(env) - known
    assert not [name for name in config if SECRET_LOOKING.search(name)]
    for name, entry in env.items():
        if SECRET_LOOKING.search(name):
            assert "value" not in entry, f"{name} is written in the manifest"
    # Required ones: the pod does not start without them (no embedded PostgreSQL, ever).
    for name in ("DATABASE_URL", "PAVED_WEBHOOK_ENCRYPTION_KEY"):
        assert env[name]["valueFrom"] == {"secretKeyRef": {"name": SECRET_NAME, "key": name}}
    # Provider credentials only as PAVED_SECRET_* variables, the ones providers may read.
    secret_refs = [item for item in container["envFrom"] if "secretRef" in item]
    assert all(item["prefix"] == "PAVED_SECRET_" for item in secret_refs)
    assert int(config["PAVED_PORT"]) == container["ports"][0]["containerPort"]

    # What the pod's environment amounts to is a valid production configuration.
    for name in list(os.environ):
        if name.startswith("PAVED_") or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    for name, value in config.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATABASE_URL", "postgresql://paved@db.internal:5432/paved")
    monkeypatch.setenv("PAVED_WEBHOOK_ENCRYPTION_KEY", "x" * 43 + "=")
    settings = Settings()
    assert settings.production
    assert settings.host == "0.0.0.0"
    assert settings.database_url is not None


def test_production_runs_two_replicas_at_least(rendered: dict[str, list[Manifest]]) -> None:
    objects = rendered["production"]
    deployment = _one(objects, "Deployment", "paved")
    autoscaler = _one(objects, "HorizontalPodAutoscaler", "paved")
    assert autoscaler["apiVersion"] == "autoscaling/v2"
    assert autoscaler["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "paved",
    }
    assert autoscaler["spec"]["minReplicas"] == 2
    assert autoscaler["spec"]["maxReplicas"] > 2
    # The autoscaler owns the count: an apply must not set it back.
    assert "replicas" not in deployment["spec"]
    assert _one(objects, "Job", "paved-migrate")["metadata"]["namespace"] == "paved"
    image = _api_container(objects)["image"]
    assert not image.endswith((":latest", ":dev")), image


def test_development_runs_one_replica_without_autoscaler(
    rendered: dict[str, list[Manifest]],
) -> None:
    objects = rendered["development"]
    assert _one(objects, "Deployment", "paved")["spec"]["replicas"] == 1
    assert not [item for item in objects if item["kind"] == "HorizontalPodAutoscaler"]
    assert _config(objects)["PAVED_DEMO"] == "true"


@pytest.mark.parametrize("overlay", _overlay_names())
def test_the_migration_job_runs_before_the_rollout(
    rendered: dict[str, list[Manifest]], overlay: str
) -> None:
    objects = rendered[overlay]
    job = _one(objects, "Job", "paved-migrate")
    annotations = job["metadata"]["annotations"]
    assert annotations["argocd.argoproj.io/hook"] == "PreSync"
    assert annotations["argocd.argoproj.io/hook-delete-policy"] == "BeforeHookCreation"
    spec = job["spec"]["template"]["spec"]
    assert spec["restartPolicy"] == "Never"
    [container] = spec["containers"]
    assert container["args"] == ["migrate"]
    assert container["image"] == _api_container(objects)["image"]
    # A PreSync hook runs before the sync creates anything: it may need only the Secret that
    # exists beforehand (no ConfigMap, no ServiceAccount of the sync's own).
    assert "serviceAccountName" not in spec
    assert "envFrom" not in container
    assert _env(container) == {
        "DATABASE_URL": {
            "name": "DATABASE_URL",
            "valueFrom": {"secretKeyRef": {"name": SECRET_NAME, "key": "DATABASE_URL"}},
        }
    }


def _allows(rule: Manifest, port: int | str, protocol: str = "TCP") -> bool:
    return any(
        item.get("port") == port and item.get("protocol", "TCP") == protocol
        for item in rule.get("ports", [])
    )


@pytest.mark.parametrize("overlay", _overlay_names())
def test_network_policies(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    objects = rendered[overlay]
    policies = [item for item in objects if item["kind"] == "NetworkPolicy"]

    def applying(labels: dict[str, str]) -> list[Manifest]:
        return [
            item["spec"]
            for item in policies
            if item["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
        ]

    api_labels = _one(objects, "Deployment", "paved")["spec"]["template"]["metadata"]["labels"]
    job_labels = _one(objects, "Job", "paved-migrate")["spec"]["template"]["metadata"]["labels"]
    for labels in (api_labels, job_labels):
        specs = applying(labels)
        assert specs, labels
        assert all(set(spec["policyTypes"]) == {"Ingress", "Egress"} for spec in specs)
        egress = [rule for spec in specs for rule in spec["egress"]]
        assert any(_allows(rule, 53, "UDP") and _allows(rule, 53, "TCP") for rule in egress)
        assert any(_allows(rule, 5432) for rule in egress)
    api_ingress = [rule for spec in applying(api_labels) for rule in spec["ingress"]]
    assert any(_allows(rule, "http") for rule in api_ingress)
    assert any(_allows(rule, 443) for spec in applying(api_labels) for rule in spec["egress"])
    # The migration takes no connection and reaches nothing but DNS and PostgreSQL.
    job_specs = applying(job_labels)
    assert [rule for spec in job_specs for rule in spec["ingress"]] == []
    assert not any(_allows(rule, 443) for spec in job_specs for rule in spec["egress"])


_SERVICE_MONITOR_SHAPE: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "ServiceMonitor"},
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["selector", "endpoints"],
            "properties": {
                "selector": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["matchLabels"],
                    "properties": {
                        "matchLabels": {
                            "type": "object",
                            "additionalProperties": {"type": "string"},
                        }
                    },
                },
                "endpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["port", "path"],
                        "properties": {
                            "port": {"type": "string"},
                            "path": {"type": "string", "pattern": "^/"},
                            "scheme": {"enum": ["http", "https"]},
                            "interval": {"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$"},
                            "scrapeTimeout": {"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$"},
                            "authorization": {
                                "type": "object",
                                "additionalProperties": False,
                                "required": ["type", "credentials"],
                                "properties": {
                                    "type": {"const": "Bearer"},
                                    "credentials": {
                                        "type": "object",
                                        "additionalProperties": False,
                                        "required": ["name", "key"],
                                        "properties": {
                                            "name": {"type": "string"},
                                            "key": {"type": "string"},
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}
"""The part of Prometheus Operator's ServiceMonitor CRD these manifests use (its fields
spelt as the CRD does): a misspelt field fails here, as kubernetes-validate cannot say."""


def test_the_service_monitor_component(monitored: list[Manifest]) -> None:
    monitor = _one(monitored, "ServiceMonitor", "paved")
    jsonschema.validate(monitor, _SERVICE_MONITOR_SHAPE)
    service = _one(monitored, "Service", "paved")
    assert monitor["metadata"]["namespace"] == service["metadata"]["namespace"]
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    [endpoint] = monitor["spec"]["endpoints"]
    assert endpoint["port"] in {port["name"] for port in service["spec"]["ports"]}
    assert endpoint["path"] == "/metrics"
    # Prometheus sends the token the API expects: both read the same key of one Secret.
    token = _env(_api_container(monitored))["PAVED_METRICS_TOKEN"]
    assert token["valueFrom"]["secretKeyRef"] == endpoint["authorization"]["credentials"]


def test_the_image_matches_the_manifests() -> None:
    """The Dockerfile's runtime stage: the user the pods run as, the port they probe, and no
    bytecode written at run time (the root filesystem is read-only)."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    runtime = dockerfile[dockerfile.rindex("\nFROM ") :]
    assert f"\nUSER {RUN_AS_USER}:{RUN_AS_USER}\n" in runtime
    assert "\nEXPOSE 8000\n" in runtime
    assert "PYTHONDONTWRITEBYTECODE=1" in runtime
    assert '\nENTRYPOINT ["paved"]\n' in runtime
