"""What the deployment mutations look up before they write, and who may make them."""

from __future__ import annotations

from dataclasses import dataclass

from domain.access.model import ActorKind, Forbidden
from domain.access.policy import Action, acts_as_admin, require
from domain.catalog.records import PageRequest
from domain.deployments.model import DeploymentRecord, DeploymentState, Requester
from domain.deployments.ports import DeploymentFilter
from domain.errors import NotFound, PreconditionFailed
from resolvers.catalog_queries import owner_team_ids
from resolvers.context import Context
from resolvers.deployment_inputs import Promote, Rollback
from resolvers.global_ids import decode_id


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


async def service_id_of(context: Context, service_slug: str) -> int:
    service = await context.loaders.service_by_slug.load(service_slug)
    if service is None:
        raise NotFound(f"no service '{service_slug}'", ["input", "service"])
    return service.id


async def environment_id_of(context: Context, slug: str, field: str) -> int:
    environment = await context.loaders.environment_by_slug.load(slug)
    if environment is None:
        raise NotFound(f"no environment '{slug}'", ["input", field])
    return environment.id


async def deployment_by_id(context: Context, global_id: str) -> DeploymentRecord:
    decoded = decode_id(global_id)
    if decoded is not None and decoded[0] == "Deployment":
        found = (await context.deployments.by_ids([decoded[1]])).get(decoded[1])
        if found is not None:
            return found
    raise NotFound("no such deployment", ["input", "deployment"])


async def may_deploy(context: Context, service_slug: str) -> int:
    service_id = await service_id_of(context, service_slug)
    require(context.principal, Action.DEPLOY, await owner_team_ids(context, service_id))
    return service_id


async def may_report(context: Context, service_id: int) -> None:
    """Recording and reporting are for the owner teams' API clients, and admins."""
    principal = context.principal
    require(principal, Action.DEPLOY, await owner_team_ids(context, service_id))
    if principal.kind is not ActorKind.CLIENT and not acts_as_admin(principal):
        raise Forbidden("only API clients of an owner team, and admins, report deployments")


async def promotion_plan(
    context: Context, model: Promote
) -> tuple[PromotionPlan, DeploymentRecord]:
    service_id = await service_id_of(context, model.service)
    source_id = await environment_id_of(context, model.from_environment, "fromEnvironment")
    target_id = await environment_id_of(context, model.to_environment, "toEnvironment")
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


async def rollback_target(
    context: Context, model: Rollback, service_id: int, environment_id: int
) -> DeploymentRecord:
    if model.to_deployment is not None:
        chosen = await deployment_by_id(context, model.to_deployment)
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
