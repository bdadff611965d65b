"""Deployments: what runs where, how it got there, and the providers that do the work.

Records and ports only; the state machine is `providers/deployment_states.py`, the store
`providers/postgres/deployments.py`, the provider adapters `providers/deployers/`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from domain.access.model import ActorKind


class DeploymentState(enum.StrEnum):
    QUEUED = "QUEUED"
    WAITING_APPROVAL = "WAITING_APPROVAL"
    IN_PROGRESS = "IN_PROGRESS"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"
    ROLLED_BACK = "ROLLED_BACK"
    INACTIVE = "INACTIVE"


class DeploymentKind(enum.StrEnum):
    DEPLOY = "DEPLOY"
    PROMOTION = "PROMOTION"
    ROLLBACK = "ROLLBACK"
    RECORDED = "RECORDED"


class Health(enum.StrEnum):
    HEALTHY = "HEALTHY"
    PROGRESSING = "PROGRESSING"
    DEGRADED = "DEGRADED"
    SUSPENDED = "SUSPENDED"
    MISSING = "MISSING"
    UNKNOWN = "UNKNOWN"


class ProviderCapability(enum.StrEnum):
    DEPLOY = "DEPLOY"
    CANCEL = "CANCEL"
    ROLLBACK = "ROLLBACK"
    LIVE_STATUS = "LIVE_STATUS"
    PROVISION = "PROVISION"
    """A resource adapter (`domain.resources.model.Provisioner`): builds and removes
    resources."""


class ApprovalDecision(enum.StrEnum):
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


@dataclass(frozen=True, slots=True)
class Requester:
    kind: ActorKind
    actor_id: int | None
    name: str


@dataclass(frozen=True, slots=True)
class DeploymentRecord:
    id: int
    number: int
    """1, 2, 3... per service and environment."""
    service_id: int
    environment_id: int
    version: str
    commit_sha: str | None
    description: str | None
    kind: DeploymentKind
    state: DeploymentState
    raw_status: str | None
    status_message: str | None
    provider: str
    external_id: str | None
    url: str | None
    log_url: str | None
    requested_by: Requester
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    promoted_from_id: int | None
    rollback_of_id: int | None
    previous_id: int | None
    idempotency_key: str | None
    committed_at: datetime | None = None
    """When the commit was made, if the reporter said (recorded deployments): lead time."""
    rollback_to_id: int | None = None
    """A rollback's target: the earlier successful deployment whose version it brings back
    (`rollback_of_id` is the one it replaces)."""


@dataclass(frozen=True, slots=True)
class StatusEvent:
    deployment_id: int
    state: DeploymentState
    raw_status: str | None
    message: str | None
    source: str
    """Who moved it: `api`, `provider:<kind>`, `reconciler`..."""
    at: datetime


@dataclass(frozen=True, slots=True)
class ApprovalRecord:
    deployment_id: int
    actor: Requester
    decision: ApprovalDecision
    comment: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class LiveStatus:
    health: Health
    observed_at: datetime
    source: str
    version: str | None = None
    replicas: int | None = None
    ready_replicas: int | None = None
    message: str | None = None


@dataclass(frozen=True, slots=True)
class ProviderUpdate:
    """What a provider reports about one deployment: a new state and its own words."""

    state: DeploymentState
    raw_status: str | None = None
    message: str | None = None
    external_id: str | None = None
    url: str | None = None
    log_url: str | None = None


@dataclass(frozen=True, slots=True)
class DeployRequest:
    """What a provider is asked to roll out."""

    deployment_id: int
    service_slug: str
    environment_slug: str
    version: str
    commit_sha: str | None
    kind: DeploymentKind
    settings: Mapping[str, Any] = field(default_factory=dict)
    rollback_to_external_id: str | None = None
    started_at: datetime | None = None
    """When the deployment started (its record's `started_at`), if the caller says; adapters
    with a deadline of their own (webhook `reportTimeoutSeconds`) count from it."""


class Deployer(Protocol):
    """One provider adapter (simulated, webhook, kubernetes, argocd). Calls carry a deadline
    set by the caller; an adapter raises `ProviderError` with a message safe to show."""

    kind: str
    capabilities: frozenset[ProviderCapability]

    async def start(self, request: DeployRequest) -> ProviderUpdate:
        """Begin the rollout; usually answers IN_PROGRESS (or a terminal state at once)."""
        ...

    async def poll(self, request: DeployRequest, external_id: str | None) -> ProviderUpdate:
        """Where the rollout stands now."""
        ...

    async def cancel(self, request: DeployRequest, external_id: str | None) -> ProviderUpdate: ...

    async def live_status(
        self, service_slug: str, environment_slug: str, settings: Mapping[str, Any]
    ) -> LiveStatus | None: ...


class ProviderError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ProviderUnreachable(ProviderError):
    """The provider could not be reached or gave no usable answer (connection failures, no
    answer in time, HTTP 408, 429 and 5xx after the retries): what opens a provider's circuit.
    Any other `ProviderError` is a refusal: the provider answered."""


class ProviderUnavailable(ProviderError):
    """The provider's circuit is open: nothing was asked of it. `retry_at` (Unix time) is
    when a call may try it again; a runner waits for it rather than failing its work."""

    def __init__(self, message: str, retry_at: float) -> None:
        super().__init__(message)
        self.retry_at = retry_at


class InvalidProviderSettings(ProviderError, ValueError):
    """Settings that cannot build an adapter; `setting` names the first one at fault."""

    def __init__(self, message: str, setting: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting
