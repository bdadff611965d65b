"""Self-service infrastructure: resource classes (what the platform team offers), resources
(what a service asked for in an environment), templates (a new service with its resources in
one step), and the provider adapters that build resources (`Provisioner`).

Secrets never enter these records: a resource's `outputs` are non-secret (host, port, bucket
name, URL); credentials are `SecretRef`s naming where the provider put them."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from domain.deployments.model import ApprovalDecision, Requester


class ResourceState(enum.StrEnum):
    REQUESTED = "REQUESTED"
    WAITING_APPROVAL = "WAITING_APPROVAL"
    PROVISIONING = "PROVISIONING"
    READY = "READY"
    UPDATING = "UPDATING"
    FAILED = "FAILED"
    DELETING = "DELETING"
    DELETED = "DELETED"


@dataclass(frozen=True, slots=True)
class SecretRef:
    """Where a credential lives (e.g. a Kubernetes Secret and its key), never its value."""

    name: str
    store: str
    key: str | None = None


@dataclass(frozen=True, slots=True)
class ResourceClassRecord:
    id: int
    slug: str
    name: str
    description: str | None
    type: str
    provider_kind: str
    provider_settings: Mapping[str, Any]
    parameters_schema: Mapping[str, Any]
    defaults: Mapping[str, Any]
    environment_ids: tuple[int, ...]
    """Where it may be requested; empty: everywhere."""
    requires_approval: bool
    approver_team_ids: tuple[int, ...]
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ResourceClassDraft:
    slug: str
    name: str
    type: str
    provider_kind: str
    provider_settings: Mapping[str, Any]
    parameters_schema: Mapping[str, Any]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    description: str | None = None
    environment_ids: tuple[int, ...] = ()
    requires_approval: bool = False
    approver_team_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class ResourceClassPatch:
    """The fields of `ResourceClassDraft` to change (by name), the others left as they are."""

    changes: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ResourceRecord:
    id: int
    name: str
    service_id: int
    environment_id: int
    class_id: int
    state: ResourceState
    parameters: Mapping[str, Any]
    """The final parameters: the class's defaults applied, validated by its schema."""
    outputs: Mapping[str, Any]
    secret_refs: tuple[SecretRef, ...]
    status_message: str | None
    requested_by: Requester
    required_approvals: int
    created_at: datetime
    ready_at: datetime | None
    version: int
    idempotency_key: str | None = None
    updated_at: datetime | None = None
    action_started_at: datetime | None = None
    """When its current provisioning, update or deletion began (`ProvisionRequest.started_at`);
    None while no provider works on it."""


@dataclass(frozen=True, slots=True)
class ResourceDraft:
    """A resource as requested, once its parameters are final and its approvals counted."""

    name: str
    service_id: int
    environment_id: int
    class_id: int
    parameters: Mapping[str, Any]
    required_approvals: int
    requester: Requester
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class ResourceStatusEvent:
    resource_id: int
    state: ResourceState
    message: str | None
    source: str
    """Who moved it: `api`, `provider:<kind>`, `approval`..."""
    at: datetime


@dataclass(frozen=True, slots=True)
class ResourceApprovalRecord:
    resource_id: int
    actor: Requester
    decision: ApprovalDecision
    comment: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class ResourcePlan:
    """What a request would do, without doing it (`dryRun`)."""

    actions: tuple[str, ...]
    parameters: Mapping[str, Any]
    required_approvals: int
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ResourceHealth:
    healthy: bool
    observed_at: datetime
    source: str
    message: str | None = None


@dataclass(frozen=True, slots=True)
class TemplateResource:
    """One resource a template asks for in each of its environments; string values of
    `parameters` may use `${param}` of the template's own parameters."""

    class_id: int
    name: str
    parameters: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TemplateRecord:
    id: int
    slug: str
    name: str
    description: str | None
    parameters_schema: Mapping[str, Any]
    service: Mapping[str, Any]
    """Defaults of the new service: lifecycle, tier, tags, links, system, description."""
    environment_ids: tuple[int, ...]
    resources: tuple[TemplateResource, ...]
    first_version: str | None
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class TemplateDraft:
    slug: str
    name: str
    parameters_schema: Mapping[str, Any]
    service: Mapping[str, Any] = field(default_factory=dict)
    environment_ids: tuple[int, ...] = ()
    resources: tuple[TemplateResource, ...] = ()
    first_version: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class TemplatePatch:
    changes: Mapping[str, Any]


# --- provider adapters -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProvisionRequest:
    """What a provider is asked to build, change or remove."""

    resource_id: int
    name: str
    service_slug: str
    environment_slug: str
    class_slug: str
    class_type: str
    parameters: Mapping[str, Any]
    settings: Mapping[str, Any] = field(default_factory=dict)
    """The class's provider settings."""
    started_at: datetime | None = None
    """When the current action (provisioning, update, deletion) began."""
    state: ResourceState | None = None
    """The state stored for the resource when it is asked (None: not said)."""


@dataclass(frozen=True, slots=True)
class ResourceUpdate:
    """What a provider reports about one resource: a state and its own words. `outputs` and
    `secret_refs` replace the stored ones when given (None: unchanged)."""

    state: ResourceState
    message: str | None = None
    outputs: Mapping[str, Any] | None = None
    secret_refs: tuple[SecretRef, ...] | None = None


class Provisioner(Protocol):
    """One resource provider adapter (simulated, webhook, crossplane). Calls carry a deadline
    set by the caller; an adapter raises `domain.deployments.model.ProviderError` with a
    message safe to show. Every call is idempotent: the runner repeats a call whose answer it
    did not store (a replica died, a deadline passed)."""

    kind: str

    async def apply(self, request: ProvisionRequest) -> ResourceUpdate:
        """Create the resource or bring it to `request.parameters`; usually answers
        PROVISIONING/UPDATING (or READY/FAILED at once)."""
        ...

    async def poll(self, request: ProvisionRequest) -> ResourceUpdate | None:
        """Where it stands now; None when the adapter has nothing to say (its status comes
        back some other way, as the webhook's through `reportResourceStatus`)."""
        ...

    async def delete(self, request: ProvisionRequest) -> ResourceUpdate:
        """Remove it: DELETING (then polled) or DELETED."""
        ...

    async def live(self, request: ProvisionRequest) -> ResourceHealth | None:
        """Its health observed now; None when the adapter cannot tell."""
        ...
