"""The deployment store's port (`DeploymentStore`) and the records only it deals in.

The shared vocabulary (states, kinds, `DeploymentRecord`, `Requester`...) is
`providers/deployments.py`; the state machine is `providers/deployment_states.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from domain.audit.model import AuditEntry
from domain.catalog.changes import EnvironmentDraft, EnvironmentPatch
from domain.catalog.records import EnvironmentRecord, Page, PageRequest
from domain.catalog.services import ServiceFilter, ServiceRecord
from domain.deployments.model import (
    ApprovalDecision,
    ApprovalRecord,
    Deployer,
    DeploymentKind,
    DeploymentRecord,
    DeploymentState,
    ProviderCapability,
    Requester,
    StatusEvent,
)

Pair = tuple[int, int]
"""(service id, environment id)."""


@dataclass(frozen=True, slots=True)
class DeploymentFilter:
    """Every field set narrows a listing: service and environment by slug (an unknown slug
    matches nothing), `states` any of them."""

    service: str | None = None
    environment: str | None = None
    states: tuple[DeploymentState, ...] | None = None


@dataclass(frozen=True, slots=True)
class Protection:
    environment_id: int
    required_approvals: int
    approver_team_ids: tuple[int, ...]
    prevent_self_approval: bool
    frozen: bool
    freeze_reason: str | None


@dataclass(frozen=True, slots=True)
class ProviderSettings:
    """An environment's provider adapter: its kind and its settings (never secrets: those are
    named by the settings and read from the environment or files)."""

    environment_id: int
    kind: str
    settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProviderChoice:
    """The provider an environment is given: an adapter kind and its settings."""

    kind: str
    settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProtectionChoice:
    """The protection an environment is given (its freeze is set apart)."""

    required_approvals: int
    approver_team_slugs: tuple[str, ...]
    prevent_self_approval: bool


@dataclass(frozen=True, slots=True)
class RecordedDeployment:
    """What a CI job reports about a deployment it made itself."""

    service: str
    environment: str
    version: str
    state: DeploymentState
    commit_sha: str | None = None
    committed_at: datetime | None = None
    url: str | None = None
    external_id: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class ReleaseCell:
    environment: EnvironmentRecord
    current: DeploymentRecord | None
    pending: tuple[DeploymentRecord, ...]


@dataclass(frozen=True, slots=True)
class ReleaseRow:
    service: ServiceRecord
    cells: tuple[ReleaseCell, ...]


@dataclass(frozen=True, slots=True)
class DeploymentMetrics:
    """Delivery metrics of one environment over a window, for deployments created in it
    (`since` <= created_at < `until`, `until` defaulting to now), optionally of one service
    or of the services a team (or one of its sub-teams) owns as primary owner.

    - `deployments`: every deployment created in the window, whatever its state.
    - `succeeded`: those that succeeded (SUCCEEDED now, or since replaced: INACTIVE,
      ROLLED_BACK); `failed`: FAILED; `rolled_back`: ROLLED_BACK (succeeded, then replaced by
      a rollback). CANCELED and unfinished ones count only in `deployments`.
    - `deployments_per_day`: `deployments` / the window's length in days (fractional).
    - `change_failure_rate`: (failed + rolled_back) / (succeeded + failed), in 0..1; None
      when no deployment of the window finished either way (no data is not a 0% rate).
    - `mean_time_to_restore_seconds`: per incident, the time from a failure (a FAILED
      deployment's finish, or a ROLLED_BACK one's finish, when the bad change went live) to
      the finish of the next deployment of the same service x environment that succeeded;
      consecutive failures before one restore are one incident, timed from its first
      failure in the window. None when no failure of the window has been restored.
    - `median_lead_time_seconds`: median, over the deployments of the window that succeeded,
      of `finished_at` - `committed_at` (when the reporter gave a commit time, recorded
      deployments), else `finished_at` - `created_at`. None when none succeeded.
    """

    deployments: int
    succeeded: int
    failed: int
    rolled_back: int
    deployments_per_day: float
    change_failure_rate: float | None
    mean_time_to_restore_seconds: float | None
    median_lead_time_seconds: float | None


class DeploymentStore(Protocol):
    """Deployments, their history and approvals, and the environments' provider and protection
    (with the environment itself, when createEnvironment/updateEnvironment set them together).

    Each change is one transaction; refusals are `CatalogError`s whose `path` names the input
    field at fault. With an audit entry (`audited`), every change that returns (replays
    included) records the entry once, in its own transaction.
    """

    def audited(self, entry: AuditEntry) -> DeploymentStore: ...

    # --- changes ------------------------------------------------------------------------

    async def create(
        self,
        service_slug: str,
        environment_slug: str,
        version: str,
        commit_sha: str | None,
        description: str | None,
        kind: DeploymentKind,
        requester: Requester,
        *,
        idempotency_key: str | None = None,
        promoted_from_id: int | None = None,
        rollback_of_id: int | None = None,
        rollback_to_id: int | None = None,
        fingerprint: Mapping[str, Any] | None = None,
    ) -> tuple[DeploymentRecord, bool]:
        """The new deployment and True, or the first one of this idempotency key and False.
        A rollback names the deployment it replaces and the one it returns to."""
        ...

    async def record(
        self, report: RecordedDeployment, requester: Requester
    ) -> tuple[DeploymentRecord, bool]: ...

    async def transition(
        self,
        deployment_id: int,
        to_state: DeploymentState,
        *,
        raw_status: str | None,
        message: str | None,
        source: str,
        url: str | None = None,
        external_id: str | None = None,
        log_url: str | None = None,
    ) -> DeploymentRecord: ...

    async def approve(
        self,
        deployment_id: int,
        actor: Requester,
        decision: ApprovalDecision,
        comment: str | None,
        approver_team_ids_of_actor: Collection[int] | None,
    ) -> DeploymentRecord: ...

    async def freeze(self, environment_slug: str, reason: str | None) -> Protection: ...
    async def unfreeze(self, environment_slug: str) -> Protection: ...
    async def set_protection(
        self,
        environment_slug: str,
        required_approvals: int,
        approver_team_slugs: Sequence[str],
        prevent_self_approval: bool,
    ) -> Protection: ...
    async def set_provider(
        self, environment_slug: str, kind: str, settings: Mapping[str, Any]
    ) -> ProviderSettings: ...
    async def create_environment(
        self,
        draft: EnvironmentDraft,
        provider: ProviderChoice | None,
        protection: ProtectionChoice | None,
    ) -> EnvironmentRecord:
        """The environment with its provider and protection: one change (one transaction, one
        version), so a refusal of any part (a CONFLICT on the slug, an approver team that is
        gone...) writes nothing."""
        ...

    async def update_environment(
        self,
        slug: str,
        expected_version: int | None,
        patch: EnvironmentPatch,
        provider: ProviderChoice | None,
        protection: ProtectionChoice | None,
    ) -> EnvironmentRecord:
        """Like `create_environment`: all of it in one transaction, counting one version."""
        ...

    # --- rollout leases -----------------------------------------------------------------
    # With several processes on one store, each deployment a provider drives (QUEUED or
    # IN_PROGRESS, not RECORDED) is followed by the one process holding its lease. A lease
    # lapses `lease_seconds` after it was taken or last renewed (by the store's clock); a
    # finished deployment loses its lease with the change that finishes it. One statement each.

    async def claim_rollouts(
        self,
        owner: str,
        lease_seconds: float,
        *,
        ids: Sequence[int] | None = None,
        limit: int = 100,
    ) -> list[DeploymentRecord]:
        """Take the lease of (at most `limit`) driven unfinished deployments that nobody
        holds, whose lease lapsed, or that `owner` holds already (renewed); only those of
        `ids` when given. Never waits for, nor takes, one another claimer is taking. The
        deployments claimed, by id."""
        ...

    async def renew_rollouts(
        self, owner: str, ids: Sequence[int], lease_seconds: float
    ) -> set[int]:
        """Extend the leases `owner` still holds among `ids`; the ids it still holds (a
        deployment left out finished, or its lease lapsed and was taken by another)."""
        ...

    async def release_rollouts(self, owner: str, ids: Sequence[int] | None = None) -> int:
        """Give up `owner`'s leases (of `ids`, or all of them): another process may take the
        deployments at once. How many were released."""
        ...

    # --- reads (one statement each) -----------------------------------------------------

    async def by_ids(self, ids: Sequence[int]) -> dict[int, DeploymentRecord]: ...
    async def by_idempotency_key(
        self, requester: Requester, idempotency_key: str
    ) -> DeploymentRecord | None: ...
    async def page(
        self, page: PageRequest, deployment_filter: DeploymentFilter
    ) -> Page[DeploymentRecord]: ...
    async def count(self, deployment_filter: DeploymentFilter) -> int: ...
    async def service_pages(
        self, service_ids: Sequence[int], page: PageRequest, deployment_filter: DeploymentFilter
    ) -> dict[int, Page[DeploymentRecord]]: ...
    async def environment_pages(
        self,
        environment_ids: Sequence[int],
        page: PageRequest,
        deployment_filter: DeploymentFilter,
    ) -> dict[int, Page[DeploymentRecord]]: ...
    async def service_counts(
        self, service_ids: Sequence[int], deployment_filter: DeploymentFilter
    ) -> dict[int, int]: ...
    async def environment_counts(
        self, environment_ids: Sequence[int], deployment_filter: DeploymentFilter
    ) -> dict[int, int]: ...
    async def current(
        self, service_ids: Sequence[int], environment_ids: Sequence[int]
    ) -> dict[Pair, DeploymentRecord]: ...
    async def pending(
        self, service_ids: Sequence[int], environment_ids: Sequence[int]
    ) -> dict[Pair, list[DeploymentRecord]]: ...
    async def history(self, deployment_ids: Sequence[int]) -> dict[int, list[StatusEvent]]: ...
    async def approvals(self, deployment_ids: Sequence[int]) -> dict[int, list[ApprovalRecord]]: ...
    async def unfinished(self) -> list[DeploymentRecord]: ...
    async def protection(self, environment_ids: Sequence[int]) -> dict[int, Protection]: ...
    async def providers(self, environment_ids: Sequence[int]) -> dict[int, ProviderSettings]: ...
    async def deployment_providers(
        self, deployment_ids: Sequence[int]
    ) -> dict[int, ProviderSettings]:
        """The provider each deployment was created with (kind and settings, keyed by
        deployment id); left out when its settings are not known (recorded deployments, and
        those made before deployments kept them)."""
        ...

    async def release_matrix(
        self,
        page: PageRequest,
        service_filter: ServiceFilter,
        environment_slugs: Sequence[str] | None = None,
    ) -> Page[ReleaseRow]: ...
    async def metrics(
        self,
        environment_slug: str,
        service_slug: str | None,
        team_slug: str | None,
        since: datetime,
        until: datetime | None,
    ) -> DeploymentMetrics:
        """One statement. Unknown environment, service or team: NOT_FOUND at `environment`,
        `service`, `team`; naive times or an empty window: VALIDATION at `since`/`until`."""
        ...


class DeployerKinds(Protocol):
    """The deployment adapters this server can build, under its provider policy (where
    secrets may come from, which addresses may be reached)."""

    def build(
        self, kind: str, settings: Mapping[str, Any], *, clock: Callable[[], float] = ...
    ) -> Deployer:
        """Raises `InvalidProviderSettings` for settings no adapter accepts."""
        ...

    async def check(self, kind: str, settings: Mapping[str, Any]) -> None:
        """What saving settings checks, the addresses their host names resolve to now
        included: raises `InvalidProviderSettings` naming the setting at fault."""
        ...

    def capabilities(self, kind: str, settings: Mapping[str, Any]) -> list[ProviderCapability]:
        """What the adapter declares for these settings; none when no adapter accepts them."""
        ...
