"""Deploy, promote, roll back, cancel, approve, record and report, each declared once as a
`UseCase` (`resolvers.use_cases` runs them) writing through the audited deployment store.

Provider calls never happen here: a deployment that may start is handed to the rollouts
(`resolvers/rollouts.py`) after its transaction committed (`Transaction.after_commit`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from pydantic import Field

from domain.access.model import ActorKind, Forbidden
from domain.access.policy import Action, acts_as_admin, require
from domain.catalog.records import PageRequest
from domain.deployments.model import (
    ApprovalDecision,
    DeploymentKind,
    DeploymentRecord,
    DeploymentState,
    Requester,
)
from domain.deployments.ports import DeploymentFilter, DeploymentStore, RecordedDeployment
from domain.errors import NotFound, PreconditionFailed
from resolvers import validation as v
from resolvers.catalog_queries import owner_team_ids
from resolvers.context import Context
from resolvers.drafts import draft
from resolvers.global_ids import decode_id
from resolvers.use_cases import Transaction, UseCase, deployments

Version = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(max_length=4000)]
IdempotencyKey = Annotated[str, Field(min_length=1, max_length=200)]


class Deploy(v.InputModel):
    service: v.Reference
    environment: v.Reference
    version: Version
    commit_sha: str | None = None
    description: Text | None = None
    idempotency_key: IdempotencyKey | None = None


class Promote(v.InputModel):
    service: v.Reference
    from_environment: v.Reference
    to_environment: v.Reference
    idempotency_key: IdempotencyKey | None = None
    dry_run: bool = Field(default=False, description="Only answer the plan; change nothing.")


class Rollback(v.InputModel):
    service: v.Reference
    environment: v.Reference
    to_deployment: v.NodeId | None = Field(
        default=None,
        description="An earlier successful deployment here; by default the previous one.",
    )
    idempotency_key: IdempotencyKey | None = None


class CancelDeployment(v.InputModel):
    deployment: v.NodeId


class DecideDeployment(v.InputModel):
    deployment: v.NodeId
    comment: Text | None = None


class Record(v.InputModel):
    """A deployment CI made itself, reported for the record."""

    service: v.Reference
    environment: v.Reference
    version: Version
    state: DeploymentState
    commit_sha: str | None = None
    committed_at: datetime | None = None
    url: v.Url | None = None
    external_id: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    description: Text | None = None


class Report(v.InputModel):
    deployment: v.NodeId
    state: DeploymentState
    raw_status: Text | None = None
    message: Text | None = None
    url: v.Url | None = None


class Freeze(v.InputModel):
    environment: v.Reference
    reason: Text | None = None


class Unfreeze(v.InputModel):
    environment: v.Reference


@dataclass(frozen=True, slots=True)
class PromotionPlan:
    from_version: str | None
    """What runs in the target environment now."""
    to_version: str
    required_approvals: int
    frozen: bool


def requester(context: Context) -> Requester:
    principal = context.principal
    return Requester(principal.kind, principal.actor_id, principal.name)


async def _service_id(context: Context, service_slug: str) -> int:
    service = await context.loaders.service_by_slug.load(service_slug)
    if service is None:
        raise NotFound(f"no service '{service_slug}'", ["input", "service"])
    return service.id


async def _environment_id(context: Context, slug: str, field: str) -> int:
    environment = await context.loaders.environment_by_slug.load(slug)
    if environment is None:
        raise NotFound(f"no environment '{slug}'", ["input", field])
    return environment.id


async def _deployment(context: Context, global_id: str) -> DeploymentRecord:
    decoded = decode_id(global_id)
    if decoded is not None and decoded[0] == "Deployment":
        found = (await context.deployments.by_ids([decoded[1]])).get(decoded[1])
        if found is not None:
            return found
    raise NotFound("no such deployment", ["input", "deployment"])


async def _may_deploy(context: Context, service_slug: str) -> int:
    service_id = await _service_id(context, service_slug)
    require(context.principal, Action.DEPLOY, await owner_team_ids(context, service_id))
    return service_id


async def _may_report(context: Context, service_id: int) -> None:
    """Recording and reporting are for the owner teams' API clients, and admins."""
    principal = context.principal
    require(principal, Action.DEPLOY, await owner_team_ids(context, service_id))
    if principal.kind is not ActorKind.CLIENT and not acts_as_admin(principal):
        raise Forbidden("only API clients of an owner team, and admins, report deployments")


def _start_after_commit(
    context: Context, tx: Transaction[DeploymentStore], deployment: DeploymentRecord
) -> None:
    """Hand a deployment that may start now to the rollouts (which call the provider), once
    its transaction committed."""
    rollouts = context.rollouts
    if deployment.state is DeploymentState.QUEUED and rollouts is not None:
        tx.after_commit(lambda: rollouts.begin(deployment))


async def _may_deploy_service(context: Context, named: Deploy | Promote | Rollback) -> None:
    await _may_deploy(context, named.service)


async def _deploy(
    context: Context, deploy: Deploy, tx: Transaction[DeploymentStore]
) -> DeploymentRecord:
    deployment, created = await tx.port.create(
        deploy.service, deploy.environment, deploy.version, deploy.commit_sha,
        deploy.description, DeploymentKind.DEPLOY, requester(context),
        idempotency_key=deploy.idempotency_key,
    )  # fmt: skip
    if created:
        _start_after_commit(context, tx, deployment)
    return deployment


async def promotion_plan(
    context: Context, model: Promote
) -> tuple[PromotionPlan, DeploymentRecord]:
    service_id = await _service_id(context, model.service)
    source_id = await _environment_id(context, model.from_environment, "fromEnvironment")
    target_id = await _environment_id(context, model.to_environment, "toEnvironment")
    current = await context.deployments.current([service_id], [source_id, target_id])
    source = current.get((service_id, source_id))
    if source is None:
        raise PreconditionFailed(
            f"nothing has succeeded in '{model.from_environment}' to promote",
            ["input", "fromEnvironment"],
        )
    running = current.get((service_id, target_id))
    protection = (await context.deployments.protection([target_id]))[target_id]
    plan = PromotionPlan(
        from_version=running.version if running else None,
        to_version=source.version,
        required_approvals=protection.required_approvals,
        frozen=protection.frozen,
    )
    return plan, source


async def _plan_only(
    context: Context, promote: Promote
) -> tuple[PromotionPlan, DeploymentRecord | None]:
    plan, _ = await promotion_plan(context, promote)
    return plan, None


async def _promote(
    context: Context, promote: Promote, tx: Transaction[DeploymentStore]
) -> tuple[PromotionPlan, DeploymentRecord | None]:
    plan, source = await promotion_plan(context, promote)
    deployment, created = await tx.port.create(
        promote.service, promote.to_environment, source.version, source.commit_sha,
        f"promoted from {promote.from_environment}", DeploymentKind.PROMOTION,
        requester(context), idempotency_key=promote.idempotency_key,
        promoted_from_id=source.id, fingerprint=v.as_sent(promote),
    )  # fmt: skip
    if created:
        _start_after_commit(context, tx, deployment)
    return plan, deployment


async def _rollback_target(
    context: Context, model: Rollback, service_id: int, environment_id: int
) -> DeploymentRecord:
    if model.to_deployment is not None:
        chosen = await _deployment(context, model.to_deployment)
        if (chosen.service_id, chosen.environment_id) != (service_id, environment_id) or (
            chosen.state not in (DeploymentState.INACTIVE, DeploymentState.ROLLED_BACK)
        ):
            raise PreconditionFailed(
                "`toDeployment` must be an earlier successful deployment of this service "
                "to this environment",
                ["input", "toDeployment"],
            )
        return chosen
    earlier = await context.deployments.page(
        PageRequest(first=1),
        DeploymentFilter(
            service=model.service,
            environment=model.environment,
            states=(DeploymentState.INACTIVE,),
        ),
    )
    if not earlier.edges:
        raise PreconditionFailed(
            "no earlier successful deployment to roll back to", ["input", "environment"]
        )
    return earlier.edges[0].node


async def _rollback(
    context: Context, rollback: Rollback, tx: Transaction[DeploymentStore]
) -> DeploymentRecord:
    service_id = await _service_id(context, rollback.service)
    environment_id = await _environment_id(context, rollback.environment, "environment")
    current = (await context.deployments.current([service_id], [environment_id])).get(
        (service_id, environment_id)
    )
    if current is None:
        raise PreconditionFailed("nothing runs there to roll back", ["input", "environment"])
    chosen = await _rollback_target(context, rollback, service_id, environment_id)
    deployment, created = await tx.port.create(
        rollback.service, rollback.environment, chosen.version, chosen.commit_sha,
        f"rollback to #{chosen.number}", DeploymentKind.ROLLBACK, requester(context),
        idempotency_key=rollback.idempotency_key, rollback_of_id=current.id,
        rollback_to_id=chosen.id, fingerprint=v.as_sent(rollback),
    )  # fmt: skip
    if created:
        _start_after_commit(context, tx, deployment)
    return deployment


async def _cancel(
    context: Context, cancel: CancelDeployment, tx: Transaction[DeploymentStore]
) -> DeploymentRecord:
    deployment = await _deployment(context, cancel.deployment)
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
        deployment = await _deployment(context, decided.deployment)
        environment_id = deployment.environment_id
        protection = (await context.deployments.protection([environment_id]))[environment_id]
        principal = context.principal
        require(principal, Action.APPROVE, protection.approver_team_ids)
        approved = await tx.port.approve(
            deployment.id, requester(context), decision, decided.comment,
            None if acts_as_admin(principal) else principal.team_ids,
        )  # fmt: skip
        _start_after_commit(context, tx, approved)
        return approved

    return decide


async def _may_record(context: Context, record: Record) -> None:
    await _may_report(context, await _service_id(context, record.service))


async def _record(
    context: Context, record: Record, tx: Transaction[DeploymentStore]
) -> DeploymentRecord:
    deployment, _ = await tx.port.record(draft(RecordedDeployment, record), requester(context))
    return deployment


async def _report(
    context: Context, report: Report, tx: Transaction[DeploymentStore]
) -> DeploymentRecord:
    deployment = await _deployment(context, report.deployment)
    await _may_report(context, deployment.service_id)
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
