"""The crossplane resource provider: one Crossplane claim per resource, in a namespace of a
cluster; Crossplane composes the infrastructure and writes the credentials to a Secret.

Settings: the cluster's, as the kubernetes deployer takes them (`apiUrl` with `tokenEnv` or
`tokenFile` and `caFile`, or `kubeconfigFile`/`kubeconfigEnv` and `context`:
`providers/deployers/kubernetes_cluster.py`); then `apiVersion` (the claim's,
`<group>/<version>`), `kind` (the claim's), `plural` (default: the kind in lowercase + `s`),
`namespace` (a name, or a template with `{environment}`, e.g. `claims-{environment}`),
`claimName` (a template of `{service}`, `{name}` and `{environment}`, default
`{service}-{name}`, made a DNS label of at most 63 characters), `compositionName` (optional:
`spec.compositionRef.name`), `statusOutputs` (optional: output name -> dotted path under the
claim's `status`, for non-secret outputs such as an endpoint), `failAfterSeconds` (how long
`Synced` may stay False before the resource is FAILED, default 120) and `timeoutSeconds` (one
API call, default 10, at most 60).

- `apply()` reads the claim, refuses one that another resource (or someone else) made (its
  `paved.dev/resource-id` label), then server-side applies the whole claim: labels naming the
  service, environment and resource, `spec.parameters` (the resource's parameters) and
  `spec.writeConnectionSecretToRef.name` = `<claim>-conn`. Applying it again changes nothing.
  It answers PROVISIONING for a new claim, UPDATING when its spec changed, else what the
  claim's conditions say.
- `poll()` reads the claim (`providers/resources/crossplane_claims.py`): READY (with the
  outputs `claim`, `namespace` and `statusOutputs`, and a `SecretRef` to the connection
  Secret) once `Ready` is True; FAILED with Crossplane's reason and message once `Synced` has
  been False for `failAfterSeconds`; DELETING while it is being deleted; DELETED once it is
  gone (FAILED instead if this instance made it and saw no deletion: someone removed it).
- `delete()` deletes this resource's claim (a precondition on its uid): DELETING, or DELETED
  when there is none.
- `live()`: healthy when `Ready` and `Synced` are True.

The account needs `get`, `patch` and `delete` on the claims' resource in the namespace.
Neither a token nor the kubeconfig is kept beyond a call; no message quotes an answer's body.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, Final

from pydantic import Field, field_validator

from domain.deployments.model import ProviderCapability, ProviderError
from domain.resources.model import ProvisionRequest, ResourceHealth, ResourceState, ResourceUpdate
from providers.deployers.kubernetes_client import connected
from providers.deployers.kubernetes_cluster import LABEL, ClusterSettings, check_template
from providers.deployers.retries import Backoff
from providers.deployers.settings import STRICT, ProviderPolicy, parse_settings
from providers.memory import Recent
from providers.resources import crossplane_claims as claims
from providers.resources.crossplane_claims import Claim, ClaimKind
from providers.resources.crossplane_client import Claims

KIND = "crossplane"

_API_VERSION: Final = (
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+"
    r"/v[1-9][0-9]*((alpha|beta)[1-9][0-9]*)?$"
)
_OUTPUT_NAME: Final = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")
_STATUS_PATH: Final = re.compile(r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+){0,7}$")
_SECRET_WORDS: Final = re.compile(r"pass|secret|token|key|credential|cert", re.IGNORECASE)
_SUBDOMAIN: Final = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
_SAMPLE: Final = {"service": "payments", "name": "db", "environment": "staging"}

Clock = Callable[[], float]


class CrossplaneSettings(ClusterSettings):
    """The cluster's settings (`providers/deployers/kubernetes_cluster.py`), then these."""

    api_version: str = Field(max_length=253)
    kind: str = Field(pattern=r"^[A-Z][A-Za-z0-9]*$", max_length=63)
    plural: str | None = Field(default=None, pattern=LABEL, max_length=63)
    namespace: str = Field(min_length=1, max_length=100)
    claim_name: str = Field(default="{service}-{name}", min_length=1, max_length=200)
    composition_name: str | None = Field(default=None, pattern=_SUBDOMAIN, max_length=253)
    status_outputs: dict[str, str] = Field(default_factory=dict, max_length=20)
    fail_after_seconds: float = Field(default=120.0, ge=0, le=86_400)
    timeout_seconds: float = Field(default=10.0, gt=0, le=60)

    @field_validator("api_version")
    @classmethod
    def _custom_resource(cls, value: str) -> str:
        if not re.match(_API_VERSION, value):
            raise ValueError(
                "must be <group>/<version> of a custom resource, e.g. database.example.org/v1alpha1"
            )
        return value

    @field_validator("namespace")
    @classmethod
    def _namespace_template(cls, value: str) -> str:
        check_template(value, allowed={"environment"}, required=set())
        if not re.match(LABEL, value.format(**_SAMPLE)):
            raise ValueError("must give a namespace (lowercase letters, digits and '-')")
        return value

    @field_validator("claim_name")
    @classmethod
    def _claim_name_template(cls, value: str) -> str:
        check_template(value, allowed={"service", "name", "environment"}, required={"name"})
        return value

    @field_validator("status_outputs")
    @classmethod
    def _non_secret_outputs(cls, value: dict[str, str]) -> dict[str, str]:
        for output, path in value.items():
            if not _OUTPUT_NAME.match(output):
                raise ValueError(f"output names are identifiers; {output[:40]!r} is not")
            if _SECRET_WORDS.search(output) or _SECRET_WORDS.search(path):
                raise ValueError(
                    f"output {output!r} looks secret: outputs are shown to every reader; "
                    "credentials stay in the connection Secret"
                )
            if not _STATUS_PATH.match(path):
                raise ValueError(f"output {output!r}: a dotted path under status, e.g. address")
        return value

    def claim_kind(self) -> ClaimKind:
        group, version = self.api_version.split("/")
        plural = self.plural or f"{self.kind.lower()}s"
        return ClaimKind(group, version, self.kind, plural)


class CrossplaneProvisioner:
    kind: str = KIND
    capabilities: frozenset[ProviderCapability] = frozenset(
        {ProviderCapability.PROVISION, ProviderCapability.LIVE_STATUS}
    )

    def __init__(
        self,
        settings: Mapping[str, Any],
        *,
        clock: Clock = time.time,
        backoff_seconds: float = 0.5,
        policy: ProviderPolicy = STRICT,
    ) -> None:
        self._settings = parse_settings(CrossplaneSettings, KIND, settings, policy)
        self._claim_kind = self._settings.claim_kind()
        self._policy = policy
        self._clock = clock
        self._backoff = Backoff(first_wait=backoff_seconds)
        self._applied: Recent[int, bool] = Recent()
        """Whether this instance's last call for a resource was an apply (True) or a delete."""

    def __repr__(self) -> str:
        settings = self._settings
        return f"CrossplaneProvisioner({settings.where()}, kind={settings.kind!r})"

    async def apply(self, request: ProvisionRequest) -> ResourceUpdate:
        claim = self._claim(request)
        body = claims.claim_object(
            self._claim_kind, claim, request, self._settings.composition_name
        )
        async with self._claims(claim) as api:
            before = await api.read(claim.name)
            if before is not None:
                self._check_owner(before, claim, request)
            after = await api.apply(body)
        self._applied.remember(request.resource_id, True)
        if before is None:
            return ResourceUpdate(ResourceState.PROVISIONING, f"claim {claim} created")
        if claims.generation(after) != claims.generation(before):
            return ResourceUpdate(ResourceState.UPDATING, f"claim {claim} updated")
        return self._update(after, claim)

    async def poll(self, request: ProvisionRequest) -> ResourceUpdate:
        claim = self._claim(request)
        async with self._claims(claim) as api:
            found = self._own(await api.read(claim.name), request)
        if found is not None:
            return self._update(found, claim)
        if self._applied.get(request.resource_id):
            message = f"claim {claim} no longer exists: it was deleted outside paved"
            return ResourceUpdate(ResourceState.FAILED, message)
        return ResourceUpdate(ResourceState.DELETED, f"claim {claim} is gone")

    async def delete(self, request: ProvisionRequest) -> ResourceUpdate:
        claim = self._claim(request)
        self._applied.remember(request.resource_id, False)
        async with self._claims(claim) as api:
            found = self._own(await api.read(claim.name), request)
            if found is None:
                return ResourceUpdate(ResourceState.DELETED, f"claim {claim} is gone")
            uid = claims.uid(found)
            if not claims.deleting(found) and not await api.delete(claim.name, uid):
                return ResourceUpdate(ResourceState.DELETED, f"claim {claim} is gone")
        return ResourceUpdate(ResourceState.DELETING, f"deleting claim {claim}")

    async def live(self, request: ProvisionRequest) -> ResourceHealth:
        claim = self._claim(request)
        async with self._claims(claim) as api:
            found = self._own(await api.read(claim.name), request)
        return claims.health(found, claim, datetime.fromtimestamp(self._clock(), UTC))

    # --- helpers --------------------------------------------------------------------------

    def _update(self, found: Mapping[str, Any], claim: Claim) -> ResourceUpdate:
        settings = self._settings
        read = claims.reading(found, now=self._clock(), fail_after=settings.fail_after_seconds)
        if read.state is not ResourceState.READY:
            return ResourceUpdate(read.state, read.message)
        outputs = claims.outputs(found, claim, settings.status_outputs)
        return ResourceUpdate(read.state, read.message, outputs, claims.connection_refs(claim))

    def _claim(self, request: ProvisionRequest) -> Claim:
        settings = self._settings
        namespace = settings.namespace.format(environment=request.environment_slug)
        if len(namespace) > claims.MAX_NAME or not re.match(LABEL, namespace):
            raise ProviderError(
                f"namespace gives {namespace[:70]!r} for environment "
                f"{request.environment_slug[:60]!r}, which is not a namespace"
            )
        name = settings.claim_name.format(
            service=request.service_slug,
            name=request.name,
            environment=request.environment_slug,
        )
        return Claim(namespace, claims.kubernetes_name(name))

    def _own(
        self, found: dict[str, Any] | None, request: ProvisionRequest
    ) -> dict[str, Any] | None:
        """The claim if it is this resource's; another's under the same name is not."""
        if found is None or claims.owner_of(found) != str(request.resource_id):
            return None
        return found

    def _check_owner(
        self, found: Mapping[str, Any], claim: Claim, request: ProvisionRequest
    ) -> None:
        owner = claims.owner_of(found)
        if owner == str(request.resource_id):
            return
        whose = f"resource {owner}" if owner is not None else "someone outside paved"
        raise ProviderError(
            f"claim {claim} exists and belongs to {whose}: give the class a namespace or a "
            "claimName with {environment}, or remove that claim"
        )

    @asynccontextmanager
    async def _claims(self, claim: Claim) -> AsyncIterator[Claims]:
        settings = self._settings
        async with connected(settings, self._policy) as client:
            yield Claims(
                client,
                self._claim_kind,
                claim.namespace,
                within=settings.timeout_seconds,
                backoff=self._backoff,
            )
