"""The kubernetes provider: sets a container's image on a Deployment and follows the rollout,
through kubernetes-asyncio's `AppsV1Api` (`providers/deployers/kubernetes_client.py`).

Settings (the cluster's: `providers/deployers/kubernetes_cluster.py`): the cluster is reached
one way, either
- `apiUrl` (https, with `caFile` for a private CA; http only on a loopback address, e.g.
  `kubectl proxy`) with `tokenEnv` or `tokenFile` (where the bearer token is read at each call;
  service-account tokens are rotated on disk), or
- a kubeconfig, read at each call: `kubeconfigFile` (its path) or `kubeconfigEnv` (the name of
  an environment variable holding the kubeconfig's YAML text, not a path), and `context` (one of
  its contexts; default: its `current-context`). Its server (same rule as `apiUrl`), CA
  (`certificate-authority(-data)`) and user (`token`/`tokenFile`, or `client-certificate(-data)`
  and `client-key(-data)`) are used; users with an `exec` plugin or an `auth-provider`, and
  `insecure-skip-tls-verify`, are refused (`providers/deployers/kubernetes_kubeconfig.py`).
  `apiUrl`, `tokenEnv`, `tokenFile` and `caFile` are refused beside a kubeconfig;

secrets come only from the allow-list of `providers/deployers/secret_sources.py`
(`tokenEnv` and `kubeconfigEnv`: `PAVED_SECRET_*` variables; `tokenFile` and `kubeconfigFile`:
files under `PAVED_SECRETS_DIR`), and the API server (`apiUrl`, or the kubeconfig's server)
follows the address rule of `providers/outbound/addresses.py` (`apiUrl` when saved too);

then `namespace`, `deploymentName` (a template with `{service}`, default `{service}`),
`container` (default: the one named like the Deployment, else the first), `image` (a template
with `{version}` and optionally `{service}`), `timeoutSeconds` (one API call, default 10).

- `start()` reads the Deployment, then sets the image on the container with a strategic merge
  patch, and records the cause in the `kubernetes.io/change-cause` annotation (what `kubectl
  rollout history` shows). The external id is `<namespace>/<name>@<metadata.generation after
  the patch>`. Setting an image that is already set changes no generation, so starting a
  deployment again is the same rollout.
- A ROLLBACK does what `kubectl rollout undo --to-revision` does: among the ReplicaSets the
  Deployment controls (listed by its selector, kept by the `controller` owner reference), it
  takes the one with the highest `deployment.kubernetes.io/revision` whose template's container
  runs the requested version's image, and puts that whole pod template back (without the
  controller's `pod-template-hash` label) with a JSON patch; the controller then brings that
  ReplicaSet back as the newest revision. Its message names the revision. When no ReplicaSet
  in the history runs that image (pruned by `revisionHistoryLimit`, or never deployed here),
  it falls back to setting the image as a deployment would, and says so in its message. Done
  again, it finds the same template in place and changes no generation: the same rollout.
- `poll()` reads the Deployment: SUCCEEDED once the controller observed that generation and
  every replica is updated and available with no old ones left; FAILED when its `Progressing`
  condition says `ProgressDeadlineExceeded`, or when the container's image was changed by
  someone else meanwhile; IN_PROGRESS otherwise (`rawStatus` like `2/3 updated, 1/3
  available`). An outcome, once seen, is kept.
- Cancel is not supported (pausing a Deployment would leave it half rolled out).
- `live_status()` reads the Deployment: HEALTHY when every replica is available, PROGRESSING
  during a rollout, DEGRADED when replicas are missing or the deadline passed, SUSPENDED when
  paused or scaled to zero, MISSING when there is no such Deployment; the version comes from
  the container's image.

The account (the token's, or the kubeconfig user's) needs `get` and `patch` on `deployments` and
`list` on `replicasets` (for rollbacks) in the namespace. Neither the token nor the kubeconfig is
kept beyond a call; no message quotes the kubeconfig or an answer's body (a refusal is told by
its status, `providers/deployers/http_errors.py`). GETs (the Deployment, the ReplicaSet list)
are retried as `providers/deployers/retries.py` says (at most 3 attempts, exponential backoff
with jitter, on connection errors, timeouts, 408, 429 and 5xx); a PATCH is tried once.
"""

from __future__ import annotations

import re
import string
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from kubernetes_asyncio.client import V1Container, V1Deployment
from pydantic import Field, field_validator

from domain.deployments.model import (
    DeploymentKind,
    DeploymentState,
    DeployRequest,
    Health,
    LiveStatus,
    ProviderCapability,
    ProviderError,
    ProviderUpdate,
)
from providers.deployers import kubernetes_rollouts as rollouts
from providers.deployers.kubernetes_client import KubernetesApi, NotFound, Patch, connect
from providers.deployers.kubernetes_cluster import LABEL, ClusterSettings, check_template
from providers.deployers.kubernetes_rollouts import CHANGE_CAUSE
from providers.deployers.retries import Backoff
from providers.deployers.settings import STRICT, ProviderPolicy, parse_settings
from providers.memory import Recent

__all__ = ["CHANGE_CAUSE", "KIND", "KubernetesDeployer", "KubernetesSettings"]

KIND = "kubernetes"

_TERMINAL = frozenset({DeploymentState.SUCCEEDED, DeploymentState.FAILED})
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_SAMPLE = {"service": "svc", "version": "1.0.0"}

Clock = Callable[[], float]


class KubernetesSettings(ClusterSettings):
    """The cluster's settings (`providers/deployers/kubernetes_cluster.py`), then these."""

    namespace: str = Field(pattern=LABEL, max_length=63)
    deployment_name: str = Field(default="{service}", min_length=1, max_length=253)
    container: str | None = Field(default=None, pattern=LABEL, max_length=63)
    image: str = Field(min_length=1, max_length=500)
    timeout_seconds: float = Field(default=10.0, gt=0, le=60)

    @field_validator("deployment_name")
    @classmethod
    def _name_template(cls, value: str) -> str:
        check_template(value, allowed={"service"}, required=set())
        if not _SUBDOMAIN.match(value.format(**_SAMPLE)):
            raise ValueError("must give a Kubernetes name (lowercase letters, digits, '-', '.')")
        return value

    @field_validator("image")
    @classmethod
    def _image_template(cls, value: str) -> str:
        check_template(value, allowed={"service", "version"}, required={"version"})
        if any(char.isspace() for char in value):
            raise ValueError("must not contain whitespace")
        return value


class KubernetesDeployer:
    kind: str = KIND
    capabilities: frozenset[ProviderCapability] = frozenset(
        {ProviderCapability.DEPLOY, ProviderCapability.ROLLBACK, ProviderCapability.LIVE_STATUS}
    )

    def __init__(
        self,
        settings: Mapping[str, Any],
        *,
        clock: Clock = time.time,
        backoff_seconds: float = 0.5,
        policy: ProviderPolicy = STRICT,
    ) -> None:
        self._settings = parse_settings(KubernetesSettings, KIND, settings, policy)
        self._policy = policy
        self._clock = clock
        self._backoff = Backoff(first_wait=backoff_seconds)
        self._outcomes: Recent[str, ProviderUpdate] = Recent()
        self._notes: Recent[str, str] = Recent()
        """What a rollback said about the revision it went back to, by external id."""

    def __repr__(self) -> str:
        settings = self._settings
        return f"KubernetesDeployer({settings.where()}, namespace={settings.namespace!r})"

    async def start(self, request: DeployRequest) -> ProviderUpdate:
        name = self._name(request.service_slug)
        image = self._image(request.service_slug, request.version)
        cause = (
            f"paved deployment {request.deployment_id}: {request.kind.value.lower()} "
            f"{request.service_slug} {request.version}"
        )
        async with self._api() as api:
            deployment = await api.read_deployment(name)
            container = self._container(deployment, name)
            patch: Patch = rollouts.set_image_patch(container, image, cause)
            note = None
            if request.kind is DeploymentKind.ROLLBACK:
                patch, note = await self._rollback(api, deployment, container, image, cause)
            patched = await api.patch_deployment(name, patch)
        generation = rollouts.generation(patched)
        external_id = f"{self._settings.namespace}/{name}@{generation}"
        if note is not None:
            self._notes.remember(external_id, note)
        known = self._outcomes.get(external_id)
        if known is not None:
            return known
        update = rollouts.rollout(patched, generation, container, image, external_id)
        return self._remember(update)

    async def poll(self, request: DeployRequest, external_id: str | None) -> ProviderUpdate:
        known = self._outcomes.get(external_id) if external_id is not None else None
        if known is not None:
            return known
        name = self._name(request.service_slug)
        image = self._image(request.service_slug, request.version)
        async with self._api() as api:
            deployment = await api.read_deployment(name)
        prefix = f"{self._settings.namespace}/{name}@"
        generation: int | None = None
        if external_id is not None and external_id.startswith(prefix):
            tail = external_id.removeprefix(prefix)
            generation = int(tail) if tail.isdigit() else None
        if generation is None:
            generation = rollouts.generation(deployment)
        container = self._container(deployment, name)
        followed = f"{prefix}{generation}"
        return self._remember(rollouts.rollout(deployment, generation, container, image, followed))

    async def cancel(self, request: DeployRequest, external_id: str | None) -> ProviderUpdate:
        raise ProviderError(
            "the kubernetes provider cannot cancel a rollout; roll back to the previous version"
        )

    async def live_status(
        self, service_slug: str, environment_slug: str, settings: Mapping[str, Any]
    ) -> LiveStatus | None:
        name = self._name(service_slug)
        async with self._api() as api:
            try:
                deployment = await api.read_deployment(name)
            except NotFound:
                observed_at = datetime.fromtimestamp(self._clock(), UTC)
                message = f"no deployment {self._settings.namespace}/{name}"
                return LiveStatus(Health.MISSING, observed_at, KIND, message=message)
        observed_at = datetime.fromtimestamp(self._clock(), UTC)
        found = self._find(deployment, name)
        version = self._version(service_slug, found.image) if found else None
        return rollouts.health(deployment, observed_at, version)

    # --- helpers ------------------------------------------------------------------------

    async def _rollback(
        self, api: KubernetesApi, deployment: V1Deployment, container: str, image: str, cause: str
    ) -> tuple[Patch, str]:
        """The patch going back to the newest revision running `image`, and what to say."""
        selector = rollouts.label_selector(deployment.spec.selector if deployment.spec else None)
        history = await api.replica_sets(selector) if selector else []
        found = rollouts.revision_running(history, deployment, container, image)
        if found is None or found.spec is None:
            note = (
                f"no ReplicaSet in the revision history runs {image} (pruned by "
                "revisionHistoryLimit, or never rolled out here): the image was set instead"
            )
            return rollouts.set_image_patch(container, image, cause), note
        template = api.as_json(found.spec.template)
        annotated = bool(deployment.metadata and deployment.metadata.annotations)
        replica_set = found.metadata.name if found.metadata else None
        note = f"rolled back to revision {rollouts.revision(found)} (ReplicaSet {replica_set})"
        return rollouts.rollback_patch(template, cause, annotated), note

    def _remember(self, update: ProviderUpdate) -> ProviderUpdate:
        note = self._notes.get(update.external_id or "")
        if note is not None and update.message is None:
            update = replace(update, message=note)
        if update.state in _TERMINAL and update.external_id is not None:
            self._outcomes.remember(update.external_id, update)
        return update

    def _name(self, service: str) -> str:
        name = self._settings.deployment_name.format(service=service)
        if len(name) > 253 or not _SUBDOMAIN.match(name):
            raise ProviderError(
                f"deploymentName gives {name[:60]!r} for service {service[:60]!r}, "
                "which is not a Kubernetes name"
            )
        return name

    def _image(self, service: str, version: str) -> str:
        if not version or any(char.isspace() or not char.isprintable() for char in version):
            raise ProviderError(f"version {version[:60]!r} cannot be part of an image reference")
        return self._settings.image.format(service=service, version=version)

    def _container(self, deployment: V1Deployment, name: str) -> str:
        wanted = self._settings.container
        found = self._find(deployment, name)
        if found is None:
            where = f"deployment {self._settings.namespace}/{name}"
            raise ProviderError(
                f"{where} has no container {wanted!r}" if wanted else f"{where} has no container"
            )
        return str(found.name or "")

    def _find(self, deployment: V1Deployment, name: str) -> V1Container | None:
        """The `container` setting's container; without it, the one named like the
        Deployment, else the first."""
        wanted = self._settings.container
        template = deployment.spec.template if deployment.spec else None
        return rollouts.find_container(template, wanted or name, first=wanted is None)

    def _version(self, service: str, image: object) -> str | None:
        if not isinstance(image, str) or not image:
            return None
        pattern = "".join(
            re.escape(literal)
            + {"service": re.escape(service), "version": "(?P<version>.+)", None: ""}[field]
            for literal, field, _, _ in string.Formatter().parse(self._settings.image)
        )
        matched = re.fullmatch(pattern, image)
        if matched:
            return matched.group("version")
        reference = image.split("@", 1)[0]
        last = reference.rsplit("/", 1)[-1]
        return last.rsplit(":", 1)[1] if ":" in last else None

    @asynccontextmanager
    async def _api(self) -> AsyncIterator[KubernetesApi]:
        async with connect(self._settings, self._policy, self._backoff) as api:
            yield api
