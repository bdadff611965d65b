"""What the resource mutations look up and decide before writing: the objects an input names,
who may act on them, and the final parameters and approvals of a request (its plan)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from domain.access.policy import Action, require
from domain.catalog.records import EnvironmentRecord
from domain.catalog.services import ServiceRecord
from domain.deployments.model import InvalidProviderSettings
from domain.deployments.ports import Protection
from domain.errors import NotFound, PreconditionFailed, ValidationFailed
from domain.resources import parameters as p
from domain.resources.model import (
    ResourceClassRecord,
    ResourcePlan,
    ResourceRecord,
    TemplateRecord,
)
from domain.resources.outputs import looks_secret
from domain.resources.ports import ProvisionerKinds, ResourceStore
from resolvers import validation as v
from resolvers.catalog_queries import owner_team_ids
from resolvers.context import Context
from resolvers.global_ids import decode_id
from resolvers.validation import InvalidInput


def store(context: Context) -> ResourceStore:
    if context.resources is None:
        raise RuntimeError("resources are not served here")
    return context.resources


def kinds(context: Context) -> ProvisionerKinds:
    if context.provisioner_kinds is None:
        raise RuntimeError("resource providers are not served here")
    return context.provisioner_kinds


async def service_named(context: Context, slug: str, field: str = "service") -> ServiceRecord:
    found = await context.loaders.service_by_slug.load(slug)
    if found is None:
        raise NotFound(f"no service '{slug}'", ["input", field])
    return found


async def environment_named(
    context: Context, slug: str, path: Sequence[str] = ("input", "environment")
) -> EnvironmentRecord:
    found = await context.loaders.environment_by_slug.load(slug)
    if found is None:
        raise NotFound(f"no environment '{slug}'", list(path))
    return found


async def class_named(
    context: Context, slug: str, path: Sequence[str] = ("input", "class")
) -> ResourceClassRecord:
    found = (await store(context).classes_by_slugs([slug])).get(slug)
    if found is None:
        raise NotFound(f"no resource class '{slug}'", list(path))
    return found


async def template_named(context: Context, slug: str) -> TemplateRecord:
    found = (await store(context).templates_by_slugs([slug])).get(slug)
    if found is None:
        raise NotFound(f"no template '{slug}'", ["input", "template"])
    return found


async def resource_by_id(context: Context, global_id: str) -> ResourceRecord:
    decoded = decode_id(global_id)
    if decoded is not None and decoded[0] == "Resource":
        found = (await store(context).by_ids([decoded[1]])).get(decoded[1])
        if found is not None:
            return found
    raise NotFound("no such resource", ["input", "resource"])


async def may_manage(context: Context, service_id: int) -> None:
    """Members of the service's owner teams with `write`, and admins."""
    require(context.principal, Action.MANAGE_RESOURCES, await owner_team_ids(context, service_id))


async def team_ids(context: Context, slugs: Sequence[str], field: str) -> tuple[int, ...]:
    found: list[int] = []
    for index, slug in enumerate(slugs):
        team = await context.loaders.team_by_slug.load(slug)
        if team is None:
            raise NotFound(f"no team '{slug}'", ["input", field, str(index)])
        found.append(team.id)
    return tuple(dict.fromkeys(found))


async def environment_ids(context: Context, slugs: Sequence[str], field: str) -> tuple[int, ...]:
    found: list[int] = []
    for index, slug in enumerate(slugs):
        environment = await environment_named(context, slug, ("input", field, str(index)))
        found.append(environment.id)
    return tuple(dict.fromkeys(found))


async def check_provider(context: Context, provider: v.ProviderInput) -> None:
    """VALIDATION naming the setting an adapter refuses (unknown kinds, secrets outside the
    allow-list, addresses the provider policy refuses)."""
    try:
        await kinds(context).check(provider.kind, provider.settings)
    except InvalidProviderSettings as refused:
        path = ["input", "provider"]
        path += ["kind"] if refused.setting == "kind" else ["settings"]
        if refused.setting not in (None, "kind"):
            path.append(refused.setting)
        raise ValidationFailed(refused.message, path) from None


def check_defaults(schema: Mapping[str, Any], defaults: Mapping[str, Any]) -> None:
    """Defaults must be values the schema accepts (whatever it requires besides)."""
    problems = [
        problem
        for problem in p.validate(schema, defaults, ["input", "defaults"])
        if "is a required property" not in problem.message
    ]
    if problems:
        raise InvalidInput(problems)


async def protection_of(context: Context, environment_id: int) -> Protection | None:
    return (await context.deployments.protection([environment_id])).get(environment_id)


def required_approvals(resource_class: ResourceClassRecord, protection: Protection | None) -> int:
    by_environment = protection.required_approvals if protection is not None else 0
    return p.required_approvals(resource_class.requires_approval, by_environment)


def final_parameters(
    resource_class: ResourceClassRecord, given: Mapping[str, Any], path: Sequence[str]
) -> dict[str, Any]:
    """The class's defaults, then `given`, checked by the class's schema: every violation
    names its parameter under `path`."""
    final, problems = p.resolved(
        resource_class.parameters_schema, resource_class.defaults, given, path
    )
    if problems:
        raise InvalidInput(problems)
    return final


def check_allowed(
    resource_class: ResourceClassRecord, environment: EnvironmentRecord, path: Sequence[str]
) -> None:
    allowed = resource_class.environment_ids
    if allowed and environment.id not in allowed:
        raise ValidationFailed(
            f"resource class '{resource_class.slug}' may not be requested in '{environment.slug}'",
            list(path),
        )


def check_not_frozen(
    environment: EnvironmentRecord, protection: Protection | None, path: Sequence[str]
) -> None:
    if protection is not None and protection.frozen:
        reason = f": {protection.freeze_reason}" if protection.freeze_reason else ""
        raise PreconditionFailed(f"environment '{environment.slug}' is frozen{reason}", list(path))


def check_outputs(outputs: Mapping[str, Any] | None, path: Sequence[str]) -> None:
    """Outputs are shown to every reader: a key that names a secret is refused (credentials
    go to a secret store, named by a `SecretRef`)."""
    for key in outputs or {}:
        if looks_secret(key):
            raise ValidationFailed(
                f"output '{key}' looks like a secret: put it in a secret store and report a "
                "secretRef instead",
                [*path, key],
            )


@dataclass(frozen=True, slots=True)
class Requested:
    """A request once every check passed: what will be written, and its plan."""

    service: ServiceRecord
    environment: EnvironmentRecord
    resource_class: ResourceClassRecord
    name: str
    parameters: dict[str, Any]
    required_approvals: int
    plan: ResourcePlan


def plan_of(
    service: ServiceRecord,
    environment: EnvironmentRecord,
    resource_class: ResourceClassRecord,
    name: str,
    given: Mapping[str, Any],
    final: Mapping[str, Any],
    approvals: int,
) -> ResourcePlan:
    where = f"{service.slug} in {environment.slug}"
    actions = [f"request {resource_class.slug} '{name}' for {where}"]
    if approvals:
        plural = "s" if approvals > 1 else ""
        actions.append(f"wait for {approvals} approval{plural}")
    actions.append(f"provision through the {resource_class.provider_kind} provider")
    defaulted = sorted(set(final) - set(given))
    warnings = [f"'{key}' takes the class's default {final[key]!r}" for key in defaulted]
    return ResourcePlan(tuple(actions), dict(final), approvals, tuple(warnings))


async def requested(
    context: Context,
    service_slug: str,
    environment_slug: str,
    class_slug: str,
    name: str,
    given: Mapping[str, Any],
) -> Requested:
    """Everything `requestResource` checks, in the order a client fixes them."""
    service = await service_named(context, service_slug)
    await may_manage(context, service.id)
    environment = await environment_named(context, environment_slug)
    resource_class = await class_named(context, class_slug)
    check_allowed(resource_class, environment, ("input", "environment"))
    protection = await protection_of(context, environment.id)
    check_not_frozen(environment, protection, ("input", "environment"))
    final = final_parameters(resource_class, given, ("input", "parameters"))
    approvals = required_approvals(resource_class, protection)
    plan = plan_of(service, environment, resource_class, name, given, final, approvals)
    return Requested(service, environment, resource_class, name, final, approvals, plan)
