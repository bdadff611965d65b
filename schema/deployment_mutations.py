"""Mutations on deployments and environment freezes."""

from __future__ import annotations

from typing import Self

import strawberry

from domain.deployments import model as d
from resolvers import deployment_lookups as lookups
from resolvers import deployment_mutations as m
from resolvers.auditing import Outcome
from schema.catalog import CatalogInfo, Environment
from schema.common import UserError, user_errors
from schema.deployments import Deployment
from schema.mutation_fields import mutation


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

    @classmethod
    def from_outcome(cls, outcome: Outcome[d.DeploymentRecord]) -> Self:
        deployment = Deployment.from_record(outcome.value) if outcome.value else None
        return cls(deployment=deployment, errors=user_errors(outcome.errors))


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

    @classmethod
    def from_outcome(
        cls, outcome: Outcome[tuple[lookups.PromotionPlan, d.DeploymentRecord | None]]
    ) -> Self:
        if outcome.value is None:
            return cls(deployment=None, plan=None, errors=user_errors(outcome.errors))
        plan, deployment = outcome.value
        return cls(
            deployment=Deployment.from_record(deployment) if deployment else None,
            plan=PromotionPlan(
                from_version=plan.from_version,
                to_version=plan.to_version,
                required_approvals=plan.required_approvals,
                frozen=plan.frozen,
            ),
            errors=[],
        )


async def _environment_now(root: EnvironmentPayload, info: CatalogInfo) -> Environment | None:
    """The environment as the change left it."""
    if root.slug is None:
        return None
    record = await info.context.loaders.environment_by_slug.load(root.slug)
    return Environment.from_record(record) if record else None


@strawberry.type
class EnvironmentPayload:
    environment: Environment | None = strawberry.field(resolver=_environment_now)
    errors: list[UserError]
    slug: strawberry.Private[str | None]

    @classmethod
    def from_outcome(cls, outcome: Outcome[str]) -> Self:
        return cls(slug=outcome.value, errors=user_errors(outcome.errors))


@strawberry.type
class FreezeEnvironmentPayload(EnvironmentPayload):
    pass


@strawberry.type
class UnfreezeEnvironmentPayload(EnvironmentPayload):
    pass


@strawberry.type
class DeploymentMutation:
    deploy = mutation(
        m.deploy, DeployPayload, description="Deploy a version of a service to an environment."
    )
    promote = mutation(
        m.promote,
        PromotePayload,
        description="Deploy what succeeded in one environment to another (kind PROMOTION).",
    )
    rollback = mutation(
        m.rollback,
        RollbackPayload,
        description="Redeploy an earlier successful version (kind ROLLBACK).",
    )
    cancel_deployment = mutation(m.cancel_deployment, CancelDeploymentPayload)
    approve_deployment = mutation(m.approve_deployment, ApproveDeploymentPayload)
    reject_deployment = mutation(m.reject_deployment, RejectDeploymentPayload)
    record_deployment = mutation(m.record_deployment, RecordDeploymentPayload)
    report_deployment_status = mutation(m.report_deployment_status, ReportDeploymentStatusPayload)
    freeze_environment = mutation(m.freeze_environment, FreezeEnvironmentPayload)
    unfreeze_environment = mutation(m.unfreeze_environment, UnfreezeEnvironmentPayload)
