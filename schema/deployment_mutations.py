"""Mutations on deployments and environment freezes."""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

import strawberry
from strawberry import UNSET

from domain.deployments import model as d
from resolvers import deployment_mutations as m
from resolvers.auditing import Outcome
from schema.catalog import CatalogInfo, Environment
from schema.common import UserError, user_errors
from schema.deployments import Deployment
from schema.inputs import sent_fields


@strawberry.input
class DeployInput:
    service: str
    environment: str
    version: str
    commit_sha: str | None = UNSET
    description: str | None = UNSET
    idempotency_key: str | None = UNSET


@strawberry.input
class PromoteInput:
    service: str
    from_environment: str
    to_environment: str
    idempotency_key: str | None = UNSET
    dry_run: bool | None = strawberry.field(
        default=UNSET, description="Only answer the plan; change nothing."
    )


@strawberry.input
class RollbackInput:
    service: str
    environment: str
    to_deployment: strawberry.ID | None = strawberry.field(
        default=UNSET,
        description="An earlier successful deployment here; by default the previous one.",
    )
    idempotency_key: str | None = UNSET


@strawberry.input
class CancelDeploymentInput:
    deployment: strawberry.ID


@strawberry.input
class ApproveDeploymentInput:
    deployment: strawberry.ID
    comment: str | None = UNSET


@strawberry.input
class RejectDeploymentInput:
    deployment: strawberry.ID
    comment: str | None = UNSET


@strawberry.input(description="A deployment CI made itself, reported for the record.")
class RecordDeploymentInput:
    service: str
    environment: str
    version: str
    state: d.DeploymentState
    commit_sha: str | None = UNSET
    committed_at: datetime | None = UNSET
    url: str | None = UNSET
    external_id: str | None = UNSET
    started_at: datetime | None = UNSET
    finished_at: datetime | None = UNSET
    description: str | None = UNSET


@strawberry.input
class ReportDeploymentStatusInput:
    deployment: strawberry.ID
    state: d.DeploymentState
    raw_status: str | None = UNSET
    message: str | None = UNSET
    url: str | None = UNSET


@strawberry.input
class FreezeEnvironmentInput:
    environment: str
    reason: str | None = UNSET


@strawberry.input
class UnfreezeEnvironmentInput:
    environment: str


@strawberry.type(description="What a promotion would do.")
class PromotionPlan:
    from_version: str | None = strawberry.field(
        description="The version running in the target environment now."
    )
    to_version: str
    required_approvals: int
    frozen: bool


@strawberry.type
class DeploymentPayload:
    deployment: Deployment | None
    errors: list[UserError]


@strawberry.type
class DeployPayload(DeploymentPayload):
    pass


@strawberry.type
class RollbackPayload(DeploymentPayload):
    pass


@strawberry.type
class CancelDeploymentPayload(DeploymentPayload):
    pass


@strawberry.type
class ApproveDeploymentPayload(DeploymentPayload):
    pass


@strawberry.type
class RejectDeploymentPayload(DeploymentPayload):
    pass


@strawberry.type
class RecordDeploymentPayload(DeploymentPayload):
    pass


@strawberry.type
class ReportDeploymentStatusPayload(DeploymentPayload):
    pass


@strawberry.type
class PromotePayload:
    deployment: Deployment | None
    plan: PromotionPlan | None
    errors: list[UserError]


@strawberry.type
class EnvironmentPayload:
    environment: Environment | None
    errors: list[UserError]


@strawberry.type
class FreezeEnvironmentPayload(EnvironmentPayload):
    pass


@strawberry.type
class UnfreezeEnvironmentPayload(EnvironmentPayload):
    pass


DeploymentPayloadT = TypeVar("DeploymentPayloadT", bound=DeploymentPayload)
EnvironmentPayloadT = TypeVar("EnvironmentPayloadT", bound=EnvironmentPayload)


def _deployment_payload(
    outcome: Outcome[d.DeploymentRecord], payload: type[DeploymentPayloadT]
) -> DeploymentPayloadT:
    deployment = Deployment.from_record(outcome.value) if outcome.value else None
    return payload(deployment=deployment, errors=user_errors(outcome.errors))


async def _environment_payload(
    info: CatalogInfo, outcome: Outcome[str], payload: type[EnvironmentPayloadT]
) -> EnvironmentPayloadT:
    if outcome.value is None:
        return payload(environment=None, errors=user_errors(outcome.errors))
    record = await info.context.loaders.environment_by_slug.load(outcome.value)
    environment = Environment.from_record(record) if record else None
    return payload(environment=environment, errors=[])


@strawberry.type
class DeploymentMutation:
    @strawberry.mutation(description="Deploy a version of a service to an environment.")
    async def deploy(self, info: CatalogInfo, input: DeployInput) -> DeployPayload:
        return _deployment_payload(await m.deploy(info.context, sent_fields(input)), DeployPayload)

    @strawberry.mutation(
        description="Deploy what succeeded in one environment to another (kind PROMOTION)."
    )
    async def promote(self, info: CatalogInfo, input: PromoteInput) -> PromotePayload:
        outcome = await m.promote(info.context, sent_fields(input))
        if outcome.value is None:
            return PromotePayload(deployment=None, plan=None, errors=user_errors(outcome.errors))
        plan, deployment = outcome.value
        return PromotePayload(
            deployment=Deployment.from_record(deployment) if deployment else None,
            plan=PromotionPlan(
                from_version=plan.from_version,
                to_version=plan.to_version,
                required_approvals=plan.required_approvals,
                frozen=plan.frozen,
            ),
            errors=[],
        )

    @strawberry.mutation(description="Redeploy an earlier successful version (kind ROLLBACK).")
    async def rollback(self, info: CatalogInfo, input: RollbackInput) -> RollbackPayload:
        return _deployment_payload(
            await m.rollback(info.context, sent_fields(input)), RollbackPayload
        )

    @strawberry.mutation
    async def cancel_deployment(
        self, info: CatalogInfo, input: CancelDeploymentInput
    ) -> CancelDeploymentPayload:
        outcome = await m.cancel_deployment(info.context, sent_fields(input))
        return _deployment_payload(outcome, CancelDeploymentPayload)

    @strawberry.mutation
    async def approve_deployment(
        self, info: CatalogInfo, input: ApproveDeploymentInput
    ) -> ApproveDeploymentPayload:
        outcome = await m.decide_deployment(
            info.context, sent_fields(input), d.ApprovalDecision.APPROVED
        )
        return _deployment_payload(outcome, ApproveDeploymentPayload)

    @strawberry.mutation
    async def reject_deployment(
        self, info: CatalogInfo, input: RejectDeploymentInput
    ) -> RejectDeploymentPayload:
        outcome = await m.decide_deployment(
            info.context, sent_fields(input), d.ApprovalDecision.REJECTED
        )
        return _deployment_payload(outcome, RejectDeploymentPayload)

    @strawberry.mutation
    async def record_deployment(
        self, info: CatalogInfo, input: RecordDeploymentInput
    ) -> RecordDeploymentPayload:
        outcome = await m.record_deployment(info.context, sent_fields(input))
        return _deployment_payload(outcome, RecordDeploymentPayload)

    @strawberry.mutation
    async def report_deployment_status(
        self, info: CatalogInfo, input: ReportDeploymentStatusInput
    ) -> ReportDeploymentStatusPayload:
        outcome = await m.report_deployment_status(info.context, sent_fields(input))
        return _deployment_payload(outcome, ReportDeploymentStatusPayload)

    @strawberry.mutation
    async def freeze_environment(
        self, info: CatalogInfo, input: FreezeEnvironmentInput
    ) -> FreezeEnvironmentPayload:
        outcome = await m.freeze_environment(info.context, sent_fields(input))
        return await _environment_payload(info, outcome, FreezeEnvironmentPayload)

    @strawberry.mutation
    async def unfreeze_environment(
        self, info: CatalogInfo, input: UnfreezeEnvironmentInput
    ) -> UnfreezeEnvironmentPayload:
        outcome = await m.unfreeze_environment(info.context, sent_fields(input))
        return await _environment_payload(info, outcome, UnfreezeEnvironmentPayload)
