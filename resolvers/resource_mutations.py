"""Resource classes (admins) and resources (the owner teams of a service), each mutation
declared once as a `UseCase` writing through the audited resource store.

Provider calls never happen here: a resource a provider must work on is handed to the
provisioning runner (`resolvers/provisioning.py`) after its transaction committed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from domain.access.model import ActorKind, Forbidden
from domain.access.policy import Action, acts_as_admin, require
from domain.deployments.model import ApprovalDecision
from domain.errors import PreconditionFailed
from domain.resources import parameters as p
from domain.resources import states
from domain.resources.model import (
    ResourceClassDraft,
    ResourceClassPatch,
    ResourceClassRecord,
    ResourceDraft,
    ResourcePlan,
    ResourceRecord,
    ResourceState,
    SecretRef,
)
from domain.resources.ports import ResourceStore
from resolvers import resource_lookups as look
from resolvers import validation as v
from resolvers.catalog_queries import owner_team_ids
from resolvers.context import Context
from resolvers.deployment_lookups import requester
from resolvers.resource_inputs import (
    CreateResourceClass,
    DecideResource,
    DeleteResource,
    DeleteResourceClass,
    ReportResourceStatus,
    RequestResource,
    UpdateResource,
    UpdateResourceClass,
)
from resolvers.use_cases import Transaction, UseCase

Requested = tuple[ResourcePlan, ResourceRecord | None]


def resources(context: Context) -> ResourceStore:
    return look.store(context)


def provision_after_commit(
    context: Context, tx: Transaction[Any], resource: ResourceRecord
) -> None:
    """Hand a resource a provider must work on to the runner, once its transaction committed;
    a READY one may complete its service's first deployment."""
    runner = context.provisioning
    if runner is None:
        return
    if resource.state in states.DRIVEN:
        tx.after_commit(lambda: runner.begin(resource))
    elif resource.state is ResourceState.READY:

        async def first_deployments() -> None:
            await runner.ready(resource)

        tx.after_commit(first_deployments)


# --- resource classes -------------------------------------------------------------------------


async def _check_class(context: Context, created: CreateResourceClass) -> None:
    p.check_schema(created.parameters_schema, ["input", "parametersSchema"])
    look.check_defaults(created.parameters_schema, created.defaults)
    await look.check_provider(context, created.provider)
    await look.environment_ids(context, created.environments, "environments")
    await look.team_ids(context, created.approver_teams, "approverTeams")


async def _create_class(
    context: Context, created: CreateResourceClass, tx: Transaction[ResourceStore]
) -> ResourceClassRecord:
    draft = ResourceClassDraft(
        slug=created.slug,
        name=created.name,
        type=created.type,
        provider_kind=created.provider.kind,
        provider_settings=created.provider.settings,
        parameters_schema=created.parameters_schema,
        defaults=created.defaults,
        description=created.description,
        environment_ids=await look.environment_ids(context, created.environments, "environments"),
        requires_approval=created.requires_approval,
        approver_team_ids=await look.team_ids(context, created.approver_teams, "approverTeams"),
    )
    return await tx.port.create_class(draft)


async def _check_class_update(context: Context, updated: UpdateResourceClass) -> None:
    current = await look.class_named(context, updated.resource_class, ("input", "resourceClass"))
    given = updated.model_fields_set
    schema = updated.parameters_schema if "parameters_schema" in given else None
    if schema is not None:
        p.check_schema(schema, ["input", "parametersSchema"])
    defaults = updated.defaults if "defaults" in given else None
    if schema is not None or defaults is not None:
        look.check_defaults(
            schema if schema is not None else current.parameters_schema,
            defaults if defaults is not None else current.defaults,
        )
    if updated.provider is not None:
        await look.check_provider(context, updated.provider)
    await look.environment_ids(context, updated.environments or [], "environments")
    await look.team_ids(context, updated.approver_teams or [], "approverTeams")


async def _update_class(
    context: Context, updated: UpdateResourceClass, tx: Transaction[ResourceStore]
) -> ResourceClassRecord:
    changes: dict[str, Any] = {}
    for name in ("name", "description", "type", "parameters_schema", "defaults"):
        if name in updated.model_fields_set:
            changes[name] = getattr(updated, name)
    if "requires_approval" in updated.model_fields_set:
        changes["requires_approval"] = updated.requires_approval
    if updated.provider is not None:
        changes["provider_kind"] = updated.provider.kind
        changes["provider_settings"] = updated.provider.settings
    if updated.environments is not None:
        changes["environment_ids"] = await look.environment_ids(
            context, updated.environments, "environments"
        )
    if updated.approver_teams is not None:
        changes["approver_team_ids"] = await look.team_ids(
            context, updated.approver_teams, "approverTeams"
        )
    return await tx.port.update_class(
        updated.resource_class, updated.expected_version, ResourceClassPatch(changes)
    )


async def _delete_class(
    context: Context, deleted: DeleteResourceClass, tx: Transaction[ResourceStore]
) -> ResourceClassRecord:
    return await tx.port.delete_class(deleted.resource_class)


# --- resources --------------------------------------------------------------------------------


async def _plan(context: Context, asked: RequestResource) -> Requested:
    checked = await look.requested(
        context, asked.service, asked.environment, asked.resource_class, asked.name,
        asked.parameters,
    )  # fmt: skip
    return checked.plan, None


async def _request(
    context: Context, asked: RequestResource, tx: Transaction[ResourceStore]
) -> Requested:
    checked = await look.requested(
        context, asked.service, asked.environment, asked.resource_class, asked.name,
        asked.parameters,
    )  # fmt: skip
    draft = ResourceDraft(
        name=asked.name,
        service_id=checked.service.id,
        environment_id=checked.environment.id,
        class_id=checked.resource_class.id,
        parameters=checked.parameters,
        required_approvals=checked.required_approvals,
        requester=requester(context),
        idempotency_key=asked.idempotency_key,
    )
    resource, created = await tx.port.request(draft, fingerprint=v.as_sent(asked))
    if created:
        provision_after_commit(context, tx, resource)
    return checked.plan, resource


async def _managed(context: Context, global_id: str) -> ResourceRecord:
    """The resource, once the actor may manage its service's resources."""
    resource = await look.resource_by_id(context, global_id)
    await look.may_manage(context, resource.service_id)
    return resource


async def _update(
    context: Context, updated: UpdateResource, tx: Transaction[ResourceStore]
) -> ResourceRecord:
    resource = await _managed(context, updated.resource)
    resource_class = (await look.store(context).classes_by_ids([resource.class_id]))[
        resource.class_id
    ]
    environment = await context.loaders.environment_by_id.load(resource.environment_id)
    if environment is not None:
        protection = await look.protection_of(context, environment.id)
        look.check_not_frozen(environment, protection, ("input", "resource"))
    final = look.final_parameters(resource_class, updated.parameters, ("input", "parameters"))
    changed = await tx.port.update_parameters(resource.id, updated.expected_version, final)
    provision_after_commit(context, tx, changed)
    return changed


async def _delete(
    context: Context, deleted: DeleteResource, tx: Transaction[ResourceStore]
) -> ResourceRecord:
    resource = await _managed(context, deleted.resource)
    gone = await tx.port.request_delete(resource.id, deleted.expected_version)
    provision_after_commit(context, tx, gone)
    return gone


def _deciding(
    decision: ApprovalDecision,
) -> Callable[[Context, DecideResource, Transaction[ResourceStore]], Awaitable[ResourceRecord]]:
    async def decide(
        context: Context, decided: DecideResource, tx: Transaction[ResourceStore]
    ) -> ResourceRecord:
        resource = await look.resource_by_id(context, decided.resource)
        resource_class = (await look.store(context).classes_by_ids([resource.class_id]))[
            resource.class_id
        ]
        protection = await look.protection_of(context, resource.environment_id)
        approvers = set(resource_class.approver_team_ids)
        if protection is not None:
            approvers |= set(protection.approver_team_ids)
        require(context.principal, Action.APPROVE, approvers)
        prevent_self = protection.prevent_self_approval if protection is not None else True
        decided_resource = await tx.port.decide(
            resource.id, requester(context), decision, decided.comment, prevent_self
        )
        provision_after_commit(context, tx, decided_resource)
        return decided_resource

    return decide


async def _report(
    context: Context, report: ReportResourceStatus, tx: Transaction[ResourceStore]
) -> ResourceRecord:
    resource = await look.resource_by_id(context, report.resource)
    principal = context.principal
    require(principal, Action.DEPLOY, await owner_team_ids(context, resource.service_id))
    if principal.kind is not ActorKind.CLIENT and not acts_as_admin(principal):
        raise Forbidden("only API clients of an owner team, and admins, report resource status")
    if report.state not in states.REPORTABLE:
        raise PreconditionFailed(
            f"{report.state.value} is not reported: the platform sets it", ["input", "state"]
        )
    look.check_outputs(report.outputs, ("input", "outputs"))
    refs = None
    if report.secret_refs is not None:
        refs = [SecretRef(ref.name, ref.store, ref.key) for ref in report.secret_refs]
    moved = await tx.port.transition(
        resource.id, report.state, message=report.message, source=f"api:{principal.name}",
        outputs=report.outputs, secret_refs=refs,
    )  # fmt: skip
    provision_after_commit(context, tx, moved)
    return moved


_CLASS = [("ResourceClass", "resource_class")]
_RESOURCE = [("Resource", "resource")]

create_resource_class = UseCase(
    operation="createResourceClass",
    model=CreateResourceClass,
    action=Action.MANAGE_RESOURCE_CATALOG,
    check=_check_class,
    targets=[("ResourceClass", "slug")],
    port=resources,
    change=_create_class,
)
update_resource_class = UseCase(
    operation="updateResourceClass",
    model=UpdateResourceClass,
    action=Action.MANAGE_RESOURCE_CATALOG,
    check=_check_class_update,
    targets=_CLASS,
    port=resources,
    change=_update_class,
)
delete_resource_class = UseCase(
    operation="deleteResourceClass",
    model=DeleteResourceClass,
    action=Action.MANAGE_RESOURCE_CATALOG,
    targets=_CLASS,
    port=resources,
    change=_delete_class,
)
request_resource = UseCase(
    operation="requestResource",
    model=RequestResource,
    targets=[("Service", "service"), ("Environment", "environment")],
    port=resources,
    change=_request,
    preview=_plan,
)
update_resource = UseCase(
    operation="updateResource",
    model=UpdateResource,
    targets=_RESOURCE,
    port=resources,
    change=_update,
)
delete_resource = UseCase(
    operation="deleteResource",
    model=DeleteResource,
    targets=_RESOURCE,
    port=resources,
    change=_delete,
)
approve_resource = UseCase(
    operation="approveResource",
    model=DecideResource,
    targets=_RESOURCE,
    port=resources,
    change=_deciding(ApprovalDecision.APPROVED),
)
reject_resource = UseCase(
    operation="rejectResource",
    model=DecideResource,
    targets=_RESOURCE,
    port=resources,
    change=_deciding(ApprovalDecision.REJECTED),
)
report_resource_status = UseCase(
    operation="reportResourceStatus",
    model=ReportResourceStatus,
    targets=_RESOURCE,
    port=resources,
    change=_report,
)
