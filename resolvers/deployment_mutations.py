"""Deploy, promote, roll back, cancel, approve, record and report: authorize, validate, write
through the audited deployment store, then hand accepted rollouts to the runner.

Provider calls never happen here: the runner (`resolvers/rollouts.py`) makes them after the
change has committed.
"""

from __future__ import annotations

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
from resolvers.auditing import Input, Outcome, attempt_with, attempt_without_change, target
from resolvers.catalog_queries import owner_team_ids
from resolvers.context import Context
from resolvers.global_ids import decode_id

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
    dry_run: bool = False


class Rollback(v.InputModel):
    service: v.Reference
    environment: v.Reference
    to_deployment: v.Reference | None = None
    idempotency_key: IdempotencyKey | None = None


class DeploymentReference(v.InputModel):
    deployment: v.Reference
    comment: Text | None = None


class Record(v.InputModel):
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
    deployment: v.Reference
    state: DeploymentState
    raw_status: Text | None = None
    message: Text | None = None
    url: v.Url | None = None


class Freeze(v.InputModel):
    environment: v.Reference
    reason: Text | None = None


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


async def _started(context: Context, deployment: DeploymentRecord, created: bool) -> None:
    """Hand a deployment that may start now to the runner (which calls the provider)."""
    if created and deployment.state is DeploymentState.QUEUED and context.rollouts is not None:
        await context.rollouts.begin(deployment)


def _targets(data: Input, *keys: str) -> list[str | None]:
    named = {"service": "Service", "environment": "Environment"}
    found = [target(named.get(key, "Environment"), data.get(key)) for key in keys]
    return [*found, target("Deployment", data.get("deployment"))]


async def deploy(context: Context, data: Input) -> Outcome[DeploymentRecord]:
    async def act(store: DeploymentStore) -> DeploymentRecord:
        model = v.validate(Deploy, data)
        await _may_deploy(context, model.service)
        deployment, created = await store.create(
            model.service, model.environment, model.version, model.commit_sha,
            model.description, DeploymentKind.DEPLOY, requester(context),
            idempotency_key=model.idempotency_key,
        )  # fmt: skip
        await _started(context, deployment, created)
        return deployment

    return await attempt_with(
        context,
        "deploy",
        data,
        _targets(data, "service", "environment"),
        context.deployments.audited,
        act,
    )


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


async def promote(
    context: Context, data: Input
) -> Outcome[tuple[PromotionPlan, DeploymentRecord | None]]:
    targets = _targets(data, "service", "fromEnvironment", "toEnvironment")

    async def plan_only() -> tuple[PromotionPlan, DeploymentRecord | None]:
        model = v.validate(Promote, data)
        await _may_deploy(context, model.service)
        plan, _ = await promotion_plan(context, model)
        return plan, None

    if data.get("dryRun") is True:
        return await attempt_without_change(context, "promote", data, targets, plan_only)

    async def act(store: DeploymentStore) -> tuple[PromotionPlan, DeploymentRecord | None]:
        model = v.validate(Promote, data)
        await _may_deploy(context, model.service)
        plan, source = await promotion_plan(context, model)
        deployment, created = await store.create(
            model.service, model.to_environment, source.version, source.commit_sha,
            f"promoted from {model.from_environment}", DeploymentKind.PROMOTION,
            requester(context), idempotency_key=model.idempotency_key,
            promoted_from_id=source.id, fingerprint=data,
        )  # fmt: skip
        await _started(context, deployment, created)
        return plan, deployment

    return await attempt_with(context, "promote", data, targets, context.deployments.audited, act)


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


async def rollback(context: Context, data: Input) -> Outcome[DeploymentRecord]:
    async def act(store: DeploymentStore) -> DeploymentRecord:
        model = v.validate(Rollback, data)
        service_id = await _may_deploy(context, model.service)
        environment_id = await _environment_id(context, model.environment, "environment")
        current = (await context.deployments.current([service_id], [environment_id])).get(
            (service_id, environment_id)
        )
        if current is None:
            raise PreconditionFailed("nothing runs there to roll back", ["input", "environment"])
        chosen = await _rollback_target(context, model, service_id, environment_id)
        deployment, created = await store.create(
            model.service, model.environment, chosen.version, chosen.commit_sha,
            f"rollback to #{chosen.number}", DeploymentKind.ROLLBACK, requester(context),
            idempotency_key=model.idempotency_key, rollback_of_id=current.id,
            rollback_to_id=chosen.id, fingerprint=data,
        )  # fmt: skip
        await _started(context, deployment, created)
        return deployment

    targets = _targets(data, "service", "environment")
    return await attempt_with(context, "rollback", data, targets, context.deployments.audited, act)


async def cancel_deployment(context: Context, data: Input) -> Outcome[DeploymentRecord]:
    async def act(store: DeploymentStore) -> DeploymentRecord:
        model = v.validate(DeploymentReference, data)
        deployment = await _deployment(context, model.deployment)
        owners = await owner_team_ids(context, deployment.service_id)
        require(context.principal, Action.DEPLOY, owners)
        if context.rollouts is None:
            return await store.transition(
                deployment.id, DeploymentState.CANCELED, raw_status=None,
                message=None, source="api",
            )  # fmt: skip
        return await context.rollouts.cancel(deployment, store)

    return await attempt_with(
        context, "cancelDeployment", data, _targets(data), context.deployments.audited, act
    )


async def decide_deployment(
    context: Context, data: Input, decision: ApprovalDecision
) -> Outcome[DeploymentRecord]:
    async def act(store: DeploymentStore) -> DeploymentRecord:
        model = v.validate(DeploymentReference, data)
        deployment = await _deployment(context, model.deployment)
        environment_id = deployment.environment_id
        protection = (await context.deployments.protection([environment_id]))[environment_id]
        principal = context.principal
        require(principal, Action.APPROVE, protection.approver_team_ids)
        approved = await store.approve(
            deployment.id, requester(context), decision, model.comment,
            None if acts_as_admin(principal) else principal.team_ids,
        )  # fmt: skip
        await _started(context, approved, created=True)
        return approved

    operation = "approveDeployment" if decision is ApprovalDecision.APPROVED else "rejectDeployment"
    return await attempt_with(
        context, operation, data, _targets(data), context.deployments.audited, act
    )


async def record_deployment(context: Context, data: Input) -> Outcome[DeploymentRecord]:
    async def act(store: DeploymentStore) -> DeploymentRecord:
        model = v.validate(Record, data)
        service_id = await _service_id(context, model.service)
        await _may_report(context, service_id)
        report = RecordedDeployment(
            service=model.service, environment=model.environment, version=model.version,
            state=model.state, commit_sha=model.commit_sha, committed_at=model.committed_at,
            url=model.url, external_id=model.external_id, started_at=model.started_at,
            finished_at=model.finished_at, description=model.description,
        )  # fmt: skip
        deployment, _ = await store.record(report, requester(context))
        return deployment

    targets = _targets(data, "service", "environment")
    return await attempt_with(
        context, "recordDeployment", data, targets, context.deployments.audited, act
    )


async def report_deployment_status(context: Context, data: Input) -> Outcome[DeploymentRecord]:
    async def act(store: DeploymentStore) -> DeploymentRecord:
        model = v.validate(Report, data)
        deployment = await _deployment(context, model.deployment)
        await _may_report(context, deployment.service_id)
        return await store.transition(
            deployment.id, model.state, raw_status=model.raw_status, message=model.message,
            source=f"api:{context.principal.name}", url=model.url,
        )  # fmt: skip

    return await attempt_with(
        context, "reportDeploymentStatus", data, _targets(data), context.deployments.audited, act
    )


async def freeze_environment(context: Context, data: Input) -> Outcome[str]:
    async def act(store: DeploymentStore) -> str:
        require(context.principal, Action.MANAGE_ENVIRONMENTS)
        model = v.validate(Freeze, data)
        await store.freeze(model.environment, model.reason)
        return model.environment

    targets = _targets(data, "environment")
    return await attempt_with(
        context, "freezeEnvironment", data, targets, context.deployments.audited, act
    )


async def unfreeze_environment(context: Context, data: Input) -> Outcome[str]:
    async def act(store: DeploymentStore) -> str:
        require(context.principal, Action.MANAGE_ENVIRONMENTS)
        model = v.validate(Freeze, data)
        await store.unfreeze(model.environment)
        return model.environment

    targets = _targets(data, "environment")
    return await attempt_with(
        context, "unfreezeEnvironment", data, targets, context.deployments.audited, act
    )
