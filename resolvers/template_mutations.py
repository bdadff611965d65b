"""Golden-path templates: admins declare them; `createServiceFromTemplate` is one controlled
action that creates a service with its owner, defaults and resources in every template
environment (and, with `firstVersion`, its first deployment once those are READY).

Everything is checked before anything is written (the template's parameters, the service it
makes, every resource's parameters, frozen environments); then the service and its resources
are written in ONE transaction (a failure leaves no half-created service), audited once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from domain.access.policy import Action, require
from domain.catalog.services import ServiceDraft, ServiceRecord
from domain.deployments.model import DeploymentRecord
from domain.errors import Conflict, NotFound, ValidationFailed
from domain.resources import parameters as p
from domain.resources.model import (
    ResourceDraft,
    ResourcePlan,
    ResourceRecord,
    TemplateDraft,
    TemplatePatch,
    TemplateRecord,
    TemplateResource,
)
from domain.resources.ports import FirstDeployment, ResourceStore
from resolvers import resource_lookups as look
from resolvers import validation as v
from resolvers.context import Context
from resolvers.deployment_lookups import requester
from resolvers.drafts import draft
from resolvers.resource_inputs import (
    CreateServiceFromTemplate,
    CreateTemplate,
    DeleteTemplate,
    TemplateResourceInput,
    UpdateTemplate,
)
from resolvers.resource_mutations import provision_after_commit, resources
from resolvers.use_cases import Transaction, UseCase

SERVICE_DEFAULTS = frozenset(
    {"lifecycle", "tier", "tags", "links", "system", "description", "repositoryUrl"}
)


@dataclass(slots=True)
class TemplateRun:
    """What `createServiceFromTemplate` did (or, for a dry run, would do)."""

    plan: ResourcePlan
    service: ServiceRecord | None = None
    resources: list[ResourceRecord] = field(default_factory=list)
    deployments: list[DeploymentRecord] = field(default_factory=list)


# --- templates (admins) -----------------------------------------------------------------------


def _declared_parameters(schema: Mapping[str, Any]) -> set[str]:
    return set(schema.get("properties", {}))


def _check_service_defaults(service: Mapping[str, Any], known: set[str]) -> None:
    for key, value in service.items():
        if key not in SERVICE_DEFAULTS:
            allowed = ", ".join(sorted(SERVICE_DEFAULTS))
            raise ValidationFailed(
                f"'{key}' is not a service default (allowed: {allowed})", ["input", "service", key]
            )
        unknown = p.placeholders(value) - known
        if unknown:
            raise ValidationFailed(
                f"unknown template parameter ${{{sorted(unknown)[0]}}}", ["input", "service", key]
            )


async def _template_resources(
    context: Context,
    listed: Sequence[TemplateResourceInput],
    known: set[str],
    environment_ids: Sequence[int],
) -> tuple[TemplateResource, ...]:
    made: list[TemplateResource] = []
    names: set[str] = set()
    for index, entry in enumerate(listed):
        at = ["input", "resources", str(index)]
        resource_class = await look.class_named(context, entry.resource_class, [*at, "class"])
        if entry.name in names:
            raise ValidationFailed(f"two resources are named '{entry.name}'", [*at, "name"])
        names.add(entry.name)
        unknown = p.placeholders(entry.parameters) - known
        if unknown:
            raise ValidationFailed(
                f"unknown template parameter ${{{sorted(unknown)[0]}}}", [*at, "parameters"]
            )
        allowed = resource_class.environment_ids
        outside = [env_id for env_id in environment_ids if allowed and env_id not in allowed]
        if outside:
            raise ValidationFailed(
                f"resource class '{resource_class.slug}' may not be requested in every "
                "environment of the template",
                [*at, "class"],
            )
        made.append(TemplateResource(resource_class.id, entry.name, entry.parameters))
    return tuple(made)


async def _checked_template(
    context: Context,
    schema: Mapping[str, Any],
    service: Mapping[str, Any],
    environments: Sequence[str],
    listed: Sequence[TemplateResourceInput],
    first_version: str | None,
) -> tuple[tuple[int, ...], tuple[TemplateResource, ...]]:
    p.check_schema(schema, ["input", "parametersSchema"])
    known = _declared_parameters(schema)
    _check_service_defaults(service, known)
    environment_ids = await look.environment_ids(context, environments, "environments")
    if first_version is not None and not environment_ids:
        raise ValidationFailed(
            "a first version needs an environment to deploy it to", ["input", "firstVersion"]
        )
    made = await _template_resources(context, listed, known, environment_ids)
    return environment_ids, made


async def _check_template(context: Context, created: CreateTemplate) -> None:
    await _checked_template(
        context, created.parameters_schema, created.service, created.environments,
        created.resources, created.first_version,
    )  # fmt: skip


async def _create_template(
    context: Context, created: CreateTemplate, tx: Transaction[ResourceStore]
) -> TemplateRecord:
    environment_ids, made = await _checked_template(
        context, created.parameters_schema, created.service, created.environments,
        created.resources, created.first_version,
    )  # fmt: skip
    return await tx.port.create_template(
        TemplateDraft(
            slug=created.slug,
            name=created.name,
            description=created.description,
            parameters_schema=created.parameters_schema,
            service=created.service,
            environment_ids=environment_ids,
            resources=made,
            first_version=created.first_version,
        )
    )


async def _update_template(
    context: Context, updated: UpdateTemplate, tx: Transaction[ResourceStore]
) -> TemplateRecord:
    current = await look.template_named(context, updated.template)
    given = updated.model_fields_set
    environment_slugs = updated.environments
    if environment_slugs is None:
        found = [await context.loaders.environment_by_id.load(i) for i in current.environment_ids]
        environment_slugs = [environment.slug for environment in found if environment]
    listed = updated.resources
    if listed is None:
        by_id = await look.store(context).classes_by_ids(
            [entry.class_id for entry in current.resources]
        )
        listed = [
            TemplateResourceInput.model_validate(
                {"class": by_id[entry.class_id].slug, "name": entry.name,
                 "parameters": dict(entry.parameters)}
            )
            for entry in current.resources
        ]  # fmt: skip
    environment_ids, made = await _checked_template(
        context,
        updated.parameters_schema if updated.parameters_schema is not None
        else current.parameters_schema,
        updated.service if updated.service is not None else current.service,
        environment_slugs,
        listed,
        updated.first_version if "first_version" in given else current.first_version,
    )  # fmt: skip
    changes: dict[str, Any] = {
        name: getattr(updated, name)
        for name in ("name", "description", "parameters_schema", "service", "first_version")
        if name in given
    }
    if updated.environments is not None:
        changes["environment_ids"] = environment_ids
    if updated.resources is not None:
        changes["resources"] = made
    return await tx.port.update_template(
        updated.template, updated.expected_version, TemplatePatch(changes)
    )


async def _delete_template(
    context: Context, deleted: DeleteTemplate, tx: Transaction[ResourceStore]
) -> TemplateRecord:
    return await tx.port.delete_template(deleted.template)


# --- a service from a template ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Checked:
    service: ServiceDraft
    resources: list[ResourceDraft]
    first: list[FirstDeployment]
    plan: ResourcePlan


def _template_parameters(template: TemplateRecord, given: Mapping[str, Any]) -> dict[str, Any]:
    schema = template.parameters_schema
    final, problems = p.resolved(schema, p.schema_defaults(schema), given, ["input", "parameters"])
    if problems:
        raise v.InvalidInput(problems)
    return final


def _service_draft(
    template: TemplateRecord, made: CreateServiceFromTemplate, values: Mapping[str, Any]
) -> ServiceDraft:
    data: dict[str, Any] = dict(p.substitute(dict(template.service), values))
    data |= {"slug": made.slug, "name": made.name or made.slug, "owner": made.owner}
    if made.description is not None:
        data["description"] = made.description
    try:
        checked = v.validate(v.CreateService, data)
    except v.InvalidInput as invalid:
        problems = [
            problem
            if problem.path is None or problem.path[1] not in template.service
            else ValidationFailed(
                f"the template's service default {problem.message}", ["input", "template"]
            )
            for problem in invalid.errors
        ]
        raise v.InvalidInput(problems) from None
    return draft(ServiceDraft, checked)


async def _checked_run(
    context: Context, made: CreateServiceFromTemplate, *, preview: bool = False
) -> _Checked:
    """Everything checked before writing; a taken slug only for a preview (the write refuses
    it too, and a replay of the idempotency key must not be refused for it)."""
    template = await look.template_named(context, made.template)
    owner = await context.loaders.team_by_slug.load(made.owner)
    if owner is None:
        raise NotFound(f"no team '{made.owner}'", ["input", "owner"])
    require(context.principal, Action.CREATE_SERVICE, {owner.id})
    if preview and await context.loaders.service_by_slug.load(made.slug) is not None:
        raise Conflict(f"a service '{made.slug}' exists already", ["input", "slug"])
    values = _template_parameters(template, made.parameters)
    service = _service_draft(template, made, values)
    classes = await look.store(context).classes_by_ids(
        [entry.class_id for entry in template.resources]
    )
    actions = [f"create service '{made.slug}' owned by {made.owner} from {template.slug}"]
    drafts: list[ResourceDraft] = []
    warnings: list[str] = []
    approvals = 0
    who = requester(context)
    for environment_id in template.environment_ids:
        environment = await context.loaders.environment_by_id.load(environment_id)
        if environment is None:
            continue
        protection = await look.protection_of(context, environment_id)
        for entry in template.resources:
            resource_class = classes[entry.class_id]
            look.check_allowed(resource_class, environment, ("input", "template"))
            look.check_not_frozen(environment, protection, ("input", "template"))
            given = p.substitute(dict(entry.parameters), values)
            try:
                final = look.final_parameters(resource_class, given, ("input", "parameters"))
            except v.InvalidInput as invalid:
                raise v.InvalidInput(
                    [
                        ValidationFailed(
                            f"resource '{entry.name}' in {environment.slug}: {problem.message}",
                            problem.path,
                        )
                        for problem in invalid.errors
                    ]
                ) from None
            needed = look.required_approvals(resource_class, protection)
            approvals += needed
            drafts.append(
                ResourceDraft(
                    name=entry.name, service_id=0, environment_id=environment_id,
                    class_id=resource_class.id, parameters=final, required_approvals=needed,
                    requester=who, idempotency_key=None,
                )
            )  # fmt: skip
            waits = f" (after {needed} approval{'s' if needed > 1 else ''})" if needed else ""
            actions.append(
                f"request {resource_class.slug} '{entry.name}' in {environment.slug}{waits}"
            )
    first: list[FirstDeployment] = []
    if template.first_version is not None and template.environment_ids:
        target = await context.loaders.environment_by_id.load(template.environment_ids[0])
        if target is not None:
            first.append(FirstDeployment(0, target.id, template.first_version, who))
            actions.append(
                f"deploy {template.first_version} to {target.slug} once its resources are READY"
            )
    if not template.environment_ids:
        warnings.append("the template names no environment: no resource is requested")
    plan = ResourcePlan(tuple(actions), values, approvals, tuple(warnings))
    return _Checked(service, drafts, first, plan)


async def _preview(context: Context, made: CreateServiceFromTemplate) -> TemplateRun:
    return TemplateRun((await _checked_run(context, made, preview=True)).plan)


async def _create_from_template(
    context: Context, made: CreateServiceFromTemplate, tx: Transaction[ResourceStore]
) -> TemplateRun:
    checked = await _checked_run(context, made)
    service, created, fresh = await tx.port.create_service_with_resources(
        checked.service, checked.resources, checked.first, made.idempotency_key, v.as_sent(made)
    )
    run = TemplateRun(checked.plan, service, created)
    if fresh:
        for resource in created:
            provision_after_commit(context, tx, resource)
        runner = context.provisioning
        if runner is not None and checked.first:

            async def first_deployments() -> None:
                run.deployments.extend(await runner.first_deployments(service.id))

            tx.after_commit(first_deployments)
    return run


create_template = UseCase(
    operation="createTemplate",
    model=CreateTemplate,
    action=Action.MANAGE_RESOURCE_CATALOG,
    check=_check_template,
    targets=[("Template", "slug")],
    port=resources,
    change=_create_template,
)
update_template = UseCase(
    operation="updateTemplate",
    model=UpdateTemplate,
    action=Action.MANAGE_RESOURCE_CATALOG,
    targets=[("Template", "template")],
    port=resources,
    change=_update_template,
)
delete_template = UseCase(
    operation="deleteTemplate",
    model=DeleteTemplate,
    action=Action.MANAGE_RESOURCE_CATALOG,
    targets=[("Template", "template")],
    port=resources,
    change=_delete_template,
)
create_service_from_template = UseCase(
    operation="createServiceFromTemplate",
    model=CreateServiceFromTemplate,
    targets=[("Template", "template"), ("Service", "slug")],
    port=resources,
    change=_create_from_template,
    preview=_preview,
)
