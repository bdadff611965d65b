"""The deployment store on PostgreSQL (the `DeploymentStore` port).

Every change is one transaction, an environment written with its provider and protection
(`create_environment`, `update_environment`) included. With an audit entry (`audited`), each
call that returns (idempotent replays included) records the entry once in that transaction; a
refused call records nothing (the caller audits refusals).

Rollout leases (`claim_rollouts`, `renew_rollouts`, `release_rollouts`; see `leases.py`) say
which process follows each deployment a provider drives.

A deployment keeps the provider it was created with: the kind (`provider`) and, since
migration 0004, the settings (`provider_settings`: names of secrets, never their values), read
back by `deployment_providers`.

Idempotency keys are unique per requesting actor (kind and id), across operations: the same
key for another request (another service, version, kind...) is a CONFLICT. A key lives as
long as its deployment, so at least 24 hours (deployments are only deleted with their service
or environment).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from domain.catalog.changes import EnvironmentDraft, EnvironmentPatch
from domain.catalog.records import EnvironmentRecord, Page, PageRequest
from domain.catalog.services import ServiceFilter
from domain.deployments.model import (
    ApprovalDecision,
    DeploymentKind,
    DeploymentRecord,
    DeploymentState,
    Requester,
)
from domain.deployments.ports import (
    DeploymentFilter,
    DeploymentMetrics,
    Protection,
    ProtectionChoice,
    ProviderChoice,
    ProviderSettings,
    RecordedDeployment,
    ReleaseRow,
)
from domain.errors import ValidationFailed
from providers.postgres.audited import AuditedStore
from providers.postgres.deployments import (
    checks,
    creation,
    environment_settings,
    leases,
    matrix,
    metrics,
    progress,
)
from providers.postgres.deployments.reads import DeploymentReader
from providers.postgres.writes.common import Connection

T = TypeVar("T")

_KIND_SOURCE = {
    DeploymentKind.DEPLOY: (None, None),
    DeploymentKind.PROMOTION: ("promoted_from_id", "fromEnvironment"),
    DeploymentKind.ROLLBACK: ("rollback_of_id", "toDeployment"),
}


class PostgresDeploymentStore(AuditedStore, DeploymentReader):
    async def _change(self, work: Callable[[Connection], Awaitable[T]]) -> T:
        return await self._transactions.run(work)

    # --- creating -----------------------------------------------------------------------

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
        """A new deployment (QUEUED, or WAITING_APPROVAL in a protected environment) and
        True; or, for an idempotency key this requester used before with the same input, that
        first deployment and False. `fingerprint` is the input that defines "the same" (by
        default the arguments themselves); pass the client's own input when the arguments are
        derived from changing state (a rollback's target, a promotion's source)."""
        checks.version(version)
        checks.commit_sha(commit_sha)
        checks.text(description, "description")
        checks.idempotency_key(idempotency_key)
        self._check_kind(kind, promoted_from_id, rollback_of_id)
        if fingerprint is None:
            fingerprint = {
                "service": service_slug, "environment": environment_slug, "version": version,
                "commitSha": commit_sha, "description": description, "kind": kind.value,
                "promotedFrom": promoted_from_id, "rollbackOf": rollback_of_id,
            }  # fmt: skip
        draft = creation.Draft(
            service_slug, environment_slug, version, commit_sha, description, kind, requester,
            idempotency_key, None if idempotency_key is None else checks.fingerprint(fingerprint),
            promoted_from_id, rollback_of_id, rollback_to_id,
        )  # fmt: skip
        try:
            return await self._change(lambda connection: creation.create(connection, draft))
        except creation.KeyTaken:
            # The same key committed meanwhile (for another service x environment, or the lock
            # was not shared): this time the lookup finds it.
            return await self._change(lambda connection: creation.create(connection, draft))

    @staticmethod
    def _check_kind(
        kind: DeploymentKind, promoted_from_id: int | None, rollback_of_id: int | None
    ) -> None:
        if kind is DeploymentKind.RECORDED:
            raise ValidationFailed("recorded deployments are made by `record`", ["input", "kind"])
        given = {"promoted_from_id": promoted_from_id, "rollback_of_id": rollback_of_id}
        needed, field = _KIND_SOURCE[kind]
        for name, value in given.items():
            if (value is not None) != (name == needed):
                path = field if name == needed else name
                raise ValidationFailed(
                    f"a {kind.value} deployment {'needs' if name == needed else 'takes no'} "
                    f"`{name}`",
                    ["input", path or name],
                )

    async def record(
        self, report: RecordedDeployment, requester: Requester
    ) -> tuple[DeploymentRecord, bool]:
        """A deployment CI made itself (kind RECORDED, provider `recorded`), True when new. Its
        `external_id` makes it idempotent per service x environment: the same report again
        returns it, a later state moves it along the state machine, another version or commit
        is a CONFLICT. Frozen environments accept reports (the deployment happened)."""
        checks.version(report.version)
        checks.commit_sha(report.commit_sha)
        checks.text(report.description, "description")
        checks.text(report.external_id, "externalId", 200)
        for value, name in (
            (report.committed_at, "committedAt"),
            (report.started_at, "startedAt"),
            (report.finished_at, "finishedAt"),
        ):
            checks.aware(value, name)
        return await self._change(lambda connection: creation.record(connection, report, requester))

    # --- moving along -------------------------------------------------------------------

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
    ) -> DeploymentRecord:
        """Apply a reported state (from a provider, the API or the reconciler). Transitions
        the platform makes itself (see `domain.deployments.states.SYSTEM_ONLY`) are refused
        here."""

        async def work(connection: Connection) -> DeploymentRecord:
            row = await progress.locked(connection, deployment_id, ["input", "deployment"])
            now: datetime = await connection.fetchval("SELECT clock_timestamp()")
            return await progress.apply(
                connection, row, to_state, raw_status=raw_status, message=message,
                source=source, url=url, external_id=external_id, log_url=log_url, now=now,
            )  # fmt: skip

        return await self._change(work)

    async def approve(
        self,
        deployment_id: int,
        actor: Requester,
        decision: ApprovalDecision,
        comment: str | None,
        approver_team_ids_of_actor: Collection[int] | None,
    ) -> DeploymentRecord:
        """`approver_team_ids_of_actor`: the teams `actor` belongs to, checked against the
        environment's approver teams (FORBIDDEN without one in common); None when the caller's
        policy already allowed the actor regardless (an administrator)."""
        checks.text(comment, "comment")
        return await self._change(
            lambda connection: progress.approve(
                connection, deployment_id, actor, decision, comment, approver_team_ids_of_actor
            )
        )

    # --- rollout leases (no audit: bookkeeping of the processes, not a change) ----------

    async def claim_rollouts(
        self,
        owner: str,
        lease_seconds: float,
        *,
        ids: Sequence[int] | None = None,
        limit: int = 100,
    ) -> list[DeploymentRecord]:
        return await leases.claim(self._pool, owner, lease_seconds, ids, limit)

    async def renew_rollouts(
        self, owner: str, ids: Sequence[int], lease_seconds: float
    ) -> set[int]:
        return await leases.renew(self._pool, owner, ids, lease_seconds)

    async def release_rollouts(self, owner: str, ids: Sequence[int] | None = None) -> int:
        return await leases.release(self._pool, owner, ids)

    # --- environments -------------------------------------------------------------------

    async def freeze(self, environment_slug: str, reason: str | None) -> Protection:
        return await self._change(
            lambda c: environment_settings.set_frozen(c, environment_slug, True, reason)
        )

    async def unfreeze(self, environment_slug: str) -> Protection:
        return await self._change(
            lambda c: environment_settings.set_frozen(c, environment_slug, False, None)
        )

    async def set_protection(
        self,
        environment_slug: str,
        required_approvals: int,
        approver_team_slugs: Sequence[str],
        prevent_self_approval: bool,
    ) -> Protection:
        return await self._change(
            lambda c: environment_settings.set_protection(
                c,
                environment_slug,
                required_approvals,
                approver_team_slugs,
                prevent_self_approval,
            )
        )

    async def set_provider(
        self, environment_slug: str, kind: str, settings: Mapping[str, Any]
    ) -> ProviderSettings:
        return await self._change(
            lambda c: environment_settings.set_provider(c, environment_slug, kind, settings)
        )

    async def create_environment(
        self,
        draft: EnvironmentDraft,
        provider: ProviderChoice | None,
        protection: ProtectionChoice | None,
    ) -> EnvironmentRecord:
        return await self._change(
            lambda c: environment_settings.create_environment(c, draft, provider, protection)
        )

    async def update_environment(
        self,
        slug: str,
        expected_version: int | None,
        patch: EnvironmentPatch,
        provider: ProviderChoice | None,
        protection: ProtectionChoice | None,
    ) -> EnvironmentRecord:
        return await self._change(
            lambda c: environment_settings.update_environment(
                c, slug, expected_version, patch, provider, protection
            )
        )

    # --- the provider each deployment was created with ---------------------------------

    async def deployment_providers(
        self, deployment_ids: Sequence[int]
    ) -> dict[int, ProviderSettings]:
        rows = await self._pool.fetch(
            "SELECT id, environment_id, provider, provider_settings FROM deployments "
            "WHERE id = ANY($1::bigint[]) AND provider_settings IS NOT NULL",
            list(deployment_ids),
        )
        return {
            row["id"]: ProviderSettings(
                row["environment_id"], row["provider"], row["provider_settings"]
            )
            for row in rows
        }

    # --- reads (see DeploymentReader) ---------------------------------------------------

    async def service_pages(
        self, service_ids: Sequence[int], page: PageRequest, deployment_filter: DeploymentFilter
    ) -> dict[int, Page[DeploymentRecord]]:
        return await self.pages_of("service_id", service_ids, page, deployment_filter)

    async def environment_pages(
        self,
        environment_ids: Sequence[int],
        page: PageRequest,
        deployment_filter: DeploymentFilter,
    ) -> dict[int, Page[DeploymentRecord]]:
        return await self.pages_of("environment_id", environment_ids, page, deployment_filter)

    async def service_counts(
        self, service_ids: Sequence[int], deployment_filter: DeploymentFilter
    ) -> dict[int, int]:
        return await self.counts_of("service_id", service_ids, deployment_filter)

    async def environment_counts(
        self, environment_ids: Sequence[int], deployment_filter: DeploymentFilter
    ) -> dict[int, int]:
        return await self.counts_of("environment_id", environment_ids, deployment_filter)

    async def release_matrix(
        self,
        page: PageRequest,
        service_filter: ServiceFilter,
        environment_slugs: Sequence[str] | None = None,
    ) -> Page[ReleaseRow]:
        return await matrix.release_matrix(self._pool, page, service_filter, environment_slugs)

    async def metrics(
        self,
        environment_slug: str,
        service_slug: str | None,
        team_slug: str | None,
        since: datetime,
        until: datetime | None,
    ) -> DeploymentMetrics:
        return await metrics.metrics(
            self._pool, environment_slug, service_slug, team_slug, since, until
        )
