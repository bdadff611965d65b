"""Deploy, promote, roll back, cancel, approve, record and report, each declared once as a
`UseCase` (`resolvers.use_cases` runs them) writing through the audited deployment store.

Provider calls never happen here: a deployment that may start is handed to the rollouts
(`resolvers/rollouts.py`) after its transaction committed (`Transaction.after_commit`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from domain.access.policy import Action, acts_as_admin, decide, require
from domain.deployments.model import (
    ApprovalDecision,
    DeploymentKind,
    DeploymentRecord,
    DeploymentState,
)
from domain.deployments.ports import DeploymentStore, RecordedDeployment
from domain.errors import PreconditionFailed
from resolvers import deployment_lookups as lookups
from resolvers import validation as v
from resolvers.catalog_queries import owner_team_ids
from resolvers.context import Context
from resolvers.deployment_inputs import (
    CancelDeployment,
    DecideDeployment,
    Deploy,
    Freeze,
    Promote,
    Record,
    Report,
    Rollback,
    Unfreeze,
)
from resolvers.deployment_lookups import PromotionPlan
from resolvers.drafts import draft
from resolvers.use_cases import Transaction, UseCase, deployments


def _start_after_commit(
    context: Context, tx: Transaction[DeploymentStore], deployment: DeploymentRecord
) -> None:
    """Hand a deployment that may start now to the rollouts (which call the provider), once
    its transaction committed."""
    rollouts = context.rollouts
    if deployment.state is DeploymentState.QUEUED and rollouts is not None:
        tx.after_commit(lambda: rollouts.begin(deployment))


async def _may_deploy_service(context: Context, named: Deploy | Promote | Rollback) -> None:
    await lookups.may_deploy(context, named.service)


async def _deploy(
    context: Context, deploy: Deploy, tx: Transaction[DeploymentStore]
) -> DeploymentRecord:
    deployment, created = await tx.port.create(
        deploy.service, deploy.environment, deploy.version, deploy.commit_sha,
        deploy.description, DeploymentKind.DEPLOY, lookups.requester(context),
        idempotency_key=deploy.idempotency_key,
    )  # fmt: skip
    if created:
        _start_after_commit(context, tx, deployment)
    return deployment


async def _plan_only(
    context: Context, promote: Promote
) -> tuple[PromotionPlan, DeploymentRecord | None]:
    plan, _ = await lookups.promotion_plan(context, promote)
    return plan, None


async def _promote(
    context: Context, promote: Promote, tx: Transaction[DeploymentStore]
) -> tuple[PromotionPlan, DeploymentRecord | None]:
    plan, source = await lookups.promotion_plan(context, promote)
    deployment, created = await tx.port.create(
        promote.service, promote.to_environment, source.version, source.commit_sha,
        f"promoted from {promote.from_environment}", DeploymentKind.PROMOTION,
        lookups.requester(context), idempotency_key=promote.idempotency_key,
        promoted_from_id=source.id, fingerprint=v.as_sent(promote),
    )  # fmt: skip
    if created:
        _start_after_commit(context, tx, deployment)
    return plan, deployment


async def _rollback(
    context: Context, rollback: Rollback, tx: Transaction[DeploymentStore]
) -> DeploymentRecord:
    service_id = await lookups.service_id_of(context, rollback.service)
    environment_id = await lookups.environment_id_of(context, rollback.environment, "environment")
    current = (await context.deployments.current([service_id], [environment_id])).get(
        (service_id, environment_id)
    )
    if current is None:
        raise PreconditionFailed("nothing runs there to roll back", ["input", "environment"])
    chosen = await lookups.rollback_target(context, rollback, service_id, environment_id)
    deployment, created = await tx.port.create(
        rollback.service, rollback.environment, chosen.version, chosen.commit_sha,
        f"rollback to #{chosen.number}", DeploymentKind.ROLLBACK, lookups.requester(context),
        idempotency_key=rollback.idempotency_key, rollback_of_id=current.id,
        rollback_to_id=chosen.id, fingerprint=v.as_sent(rollback),
    )  # fmt: skip
    if created:
        _start_after_commit(context, tx, deployment)
    return deployment


async def _cancel(
    context: Context, cancel: CancelDeployment, tx: Transaction[DeploymentStore]
) -> DeploymentRecord:
    deployment = await lookups.deployment_by_id(context, cancel.deployment)
    require(context.principal, Action.DEPLOY, await owner_team_ids(context, deployment.service_id))
    if context.rollouts is None:
        return await tx.port.transition(
            deployment.id, DeploymentState.CANCELED, raw_status=None, message=None, source="api"
        )
    return await context.rollouts.cancel(deployment, tx.port)


def _deciding(
    decision: ApprovalDecision,
) -> Callable[
    [Context, DecideDeployment, Transaction[DeploymentStore]], Awaitable[DeploymentRecord]
]:
    async def decide(
        context: Context, decided: DecideDeployment, tx: Transaction[DeploymentStore]
    ) -> DeploymentRecord:
        deployment = await lookups.deployment_by_id(context, decided.deployment)
        environment_id = deployment.environment_id
        protection = (await context.deployments.protection([environment_id]))[environment_id]
        principal = context.principal
        require(principal, Action.APPROVE, protection.approver_team_ids)
        approved = await tx.port.approve(
            deployment.id, lookups.requester(context), decision, decided.comment,
            None if acts_as_admin(principal) else principal.team_ids,
        )  # fmt: skip
        _start_after_commit(context, tx, approved)
        return approved

    return decide


async def _may_record(context: Context, record: Record) -> None:
    principal = context.principal
    if acts_as_admin(principal) and decide(principal, Action.DEPLOY).allowed:
        return  # any service (an admin): the change finds it or refuses
    await lookups.may_report(context, await lookups.service_id_of(context, record.service))


async def _record(
    context: Context, record: Record, tx: Transaction[DeploymentStore]
) -> DeploymentRecord:
    deployment, _ = await tx.port.record(
        draft(RecordedDeployment, record), lookups.requester(context)
    )
    return deployment


async def _report(
    context: Context, report: Report, tx: Transaction[DeploymentStore]
) -> DeploymentRecord:
    deployment = await lookups.deployment_by_id(context, report.deployment)
    await lookups.may_report(context, deployment.service_id)
    return await tx.port.transition(
        deployment.id, report.state, raw_status=report.raw_status, message=report.message,
        source=f"api:{context.principal.name}", url=report.url,
    )  # fmt: skip


async def _freeze(context: Context, freeze: Freeze, tx: Transaction[DeploymentStore]) -> str:
    await tx.port.freeze(freeze.environment, freeze.reason)
    return freeze.environment


async def _unfreeze(context: Context, unfreeze: Unfreeze, tx: Transaction[DeploymentStore]) -> str:
    await tx.port.unfreeze(unfreeze.environment)
    return unfreeze.environment


_SERVICE_ENVIRONMENT = [("Service", "service"), ("Environment", "environment")]
_DEPLOYMENT = [("Deployment", "deployment")]

deploy = UseCase(
    operation="deploy",
    model=Deploy,
    check=_may_deploy_service,
    targets=_SERVICE_ENVIRONMENT,
    port=deployments,
    change=_deploy,
)
promote = UseCase(
    operation="promote",
    model=Promote,
    check=_may_deploy_service,
    targets=[
        ("Service", "service"),
        ("Environment", "from_environment"),
        ("Environment", "to_environment"),
    ],
    port=deployments,
    change=_promote,
    preview=_plan_only,
)
rollback = UseCase(
    operation="rollback",
    model=Rollback,
    check=_may_deploy_service,
    targets=_SERVICE_ENVIRONMENT,
    port=deployments,
    change=_rollback,
)
cancel_deployment = UseCase(
    operation="cancelDeployment",
    model=CancelDeployment,
    targets=_DEPLOYMENT,
    port=deployments,
    change=_cancel,
)
approve_deployment = UseCase(
    operation="approveDeployment",
    model=DecideDeployment,
    targets=_DEPLOYMENT,
    port=deployments,
    change=_deciding(ApprovalDecision.APPROVED),
)
reject_deployment = UseCase(
    operation="rejectDeployment",
    model=DecideDeployment,
    targets=_DEPLOYMENT,
    port=deployments,
    change=_deciding(ApprovalDecision.REJECTED),
)
record_deployment = UseCase(
    operation="recordDeployment",
    model=Record,
    check=_may_record,
    targets=_SERVICE_ENVIRONMENT,
    port=deployments,
    change=_record,
)
report_deployment_status = UseCase(
    operation="reportDeploymentStatus",
    model=Report,
    targets=_DEPLOYMENT,
    port=deployments,
    change=_report,
)
freeze_environment = UseCase(
    operation="freezeEnvironment",
    model=Freeze,
    action=Action.MANAGE_ENVIRONMENTS,
    targets=[("Environment", "environment")],
    port=deployments,
    change=_freeze,
)
unfreeze_environment = UseCase(
    operation="unfreezeEnvironment",
    model=Unfreeze,
    action=Action.MANAGE_ENVIRONMENTS,
    targets=[("Environment", "environment")],
    port=deployments,
    change=_unfreeze,
)
