"""What the kubernetes provider reads from Deployments and ReplicaSets (kubernetes-asyncio
models), and the patches it sends: no I/O here.

- `rollout()`: where a rollout to a generation stands (`KubernetesDeployer.poll`).
- `health()`: the live status of a Deployment.
- `revision_running()`: the newest ReplicaSet in a Deployment's revision history whose pod
  template runs an image, and `rollback_patch()`, which copies that template back, as
  `kubectl rollout undo --to-revision` does.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any, Final

from kubernetes_asyncio.client import (
    V1Container,
    V1Deployment,
    V1DeploymentStatus,
    V1LabelSelector,
    V1PodTemplateSpec,
    V1ReplicaSet,
)

from domain.deployments.model import DeploymentState, Health, LiveStatus, ProviderUpdate

SOURCE: Final = "kubernetes"
CHANGE_CAUSE: Final = "kubernetes.io/change-cause"
REVISION: Final = "deployment.kubernetes.io/revision"
POD_TEMPLATE_HASH: Final = "pod-template-hash"
"""The label the controller adds to a ReplicaSet's template; not part of the Deployment's."""


def generation(deployment: V1Deployment) -> int:
    return (deployment.metadata.generation if deployment.metadata else None) or 0


def find_container(
    template: V1PodTemplateSpec | None, name: str, *, first: bool = False
) -> V1Container | None:
    """The container called `name`, else (with `first`) the first."""
    containers = list(template.spec.containers or []) if template and template.spec else []
    for container in containers:
        if container.name == name:
            return container
    return containers[0] if containers and first else None


def set_image_patch(container: str, image: str, cause: str) -> dict[str, Any]:
    """A strategic merge patch setting one container's image, with the change cause."""
    return {
        "metadata": {"annotations": {CHANGE_CAUSE: cause}},
        "spec": {"template": {"spec": {"containers": [{"name": container, "image": image}]}}},
    }


def rollout(
    deployment: V1Deployment, generation: int, container: str, image: str, external_id: str
) -> ProviderUpdate:
    """SUCCEEDED once the controller observed `generation` and every replica is updated and
    available with no old one left; FAILED past the progress deadline, or when `container`
    no longer runs `image`; IN_PROGRESS otherwise."""
    status = deployment.status or V1DeploymentStatus()
    running = find_container(deployment.spec.template if deployment.spec else None, container)
    running_image = running.image if running else None
    if running_image != image:
        message = f"container {container} was set to image {running_image} outside this deployment"
        return ProviderUpdate(DeploymentState.FAILED, "Superseded", message, external_id)
    if (status.observed_generation or 0) < generation:
        raw = f"waiting for generation {generation} to be observed"
        return ProviderUpdate(DeploymentState.IN_PROGRESS, raw, external_id=external_id)
    deadline = deadline_exceeded(status)
    if deadline is not None:
        return ProviderUpdate(
            DeploymentState.FAILED, "ProgressDeadlineExceeded", deadline, external_id
        )
    wanted = _wanted(deployment)
    updated, available = status.updated_replicas or 0, status.available_replicas or 0
    raw = f"{updated}/{wanted} updated, {available}/{wanted} available"
    done = updated >= wanted and available >= wanted and (status.replicas or 0) <= updated
    state = DeploymentState.SUCCEEDED if done else DeploymentState.IN_PROGRESS
    return ProviderUpdate(state, raw, external_id=external_id)


def health(deployment: V1Deployment, observed_at: datetime, version: str | None) -> LiveStatus:
    status = deployment.status or V1DeploymentStatus()
    wanted = _wanted(deployment)
    updated, available = status.updated_replicas or 0, status.available_replicas or 0
    ready = status.ready_replicas or 0
    observed = (status.observed_generation or 0) >= generation(deployment)
    deadline = deadline_exceeded(status) if observed else None

    def live(health: Health, message: str | None) -> LiveStatus:
        return LiveStatus(health, observed_at, SOURCE, version, wanted, ready, message)

    if deployment.spec and deployment.spec.paused:
        return live(Health.SUSPENDED, "rollout paused")
    if wanted == 0:
        return live(Health.SUSPENDED, "scaled to zero replicas")
    if deadline is not None:
        return live(Health.DEGRADED, deadline)
    if not observed or updated < wanted or (status.replicas or 0) > updated:
        return live(Health.PROGRESSING, f"{updated}/{wanted} updated, {available} available")
    if available >= wanted:
        return live(Health.HEALTHY, None)
    return live(Health.DEGRADED, f"{available}/{wanted} available")


def deadline_exceeded(status: V1DeploymentStatus) -> str | None:
    """The Progressing condition's message when it says the progress deadline passed."""
    for condition in status.conditions or []:
        if condition.type == "Progressing" and condition.reason == "ProgressDeadlineExceeded":
            return short(str(condition.message or "progress deadline exceeded"))
    return None


# --- revision history ---------------------------------------------------------------------


def label_selector(selector: V1LabelSelector | None) -> str:
    """A `labelSelector` query for a Deployment's `spec.selector`."""
    if selector is None:
        return ""
    terms = [f"{key}={value}" for key, value in sorted((selector.match_labels or {}).items())]
    for requirement in selector.match_expressions or []:
        values = ",".join(requirement.values or [])
        terms.append(
            {
                "In": f"{requirement.key} in ({values})",
                "NotIn": f"{requirement.key} notin ({values})",
                "Exists": requirement.key,
                "DoesNotExist": f"!{requirement.key}",
            }.get(requirement.operator, requirement.key)
        )
    return ",".join(terms)


def revision(replica_set: V1ReplicaSet) -> int | None:
    annotations = (replica_set.metadata.annotations if replica_set.metadata else None) or {}
    text = annotations.get(REVISION, "")
    return int(text) if text.isdigit() else None


def revision_running(
    replica_sets: list[V1ReplicaSet], deployment: V1Deployment, container: str, image: str
) -> V1ReplicaSet | None:
    """Among the ReplicaSets the Deployment controls, the one with the highest revision whose
    template's `container` runs `image`."""
    uid = deployment.metadata.uid if deployment.metadata else None
    found: tuple[int, V1ReplicaSet] | None = None
    for replica_set in replica_sets:
        references = (replica_set.metadata.owner_references if replica_set.metadata else None) or []
        controlled = any(ref.controller and ref.uid == uid for ref in references)
        number = revision(replica_set)
        template = replica_set.spec.template if replica_set.spec else None
        running = find_container(template, container)
        if (
            controlled
            and number is not None
            and running is not None
            and running.image == image
            and (found is None or number > found[0])
        ):
            found = (number, replica_set)
    return found[1] if found else None


def rollback_patch(template: dict[str, Any], cause: str, annotated: bool) -> list[dict[str, Any]]:
    """A JSON patch putting a ReplicaSet's pod template (as JSON) back into its Deployment,
    without the controller's `pod-template-hash` label, and recording the change cause;
    `annotated` says whether the Deployment has annotations already."""
    template = copy.deepcopy(template)
    labels = template.get("metadata", {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(POD_TEMPLATE_HASH, None)
    cause_op = (
        {"op": "add", "path": "/metadata/annotations/" + _pointer(CHANGE_CAUSE), "value": cause}
        if annotated
        else {"op": "add", "path": "/metadata/annotations", "value": {CHANGE_CAUSE: cause}}
    )
    return [{"op": "replace", "path": "/spec/template", "value": template}, cause_op]


def _pointer(key: str) -> str:
    """`key` as one JSON-pointer segment."""
    return key.replace("~", "~0").replace("/", "~1")


def _wanted(deployment: V1Deployment) -> int:
    replicas = deployment.spec.replicas if deployment.spec else None
    return 1 if replicas is None else replicas


def short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
