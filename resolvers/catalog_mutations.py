"""Catalog mutations: authorize, validate the input, call the write port, report refusals.

Environments are created and changed through the deployment store, which writes an
environment together with its provider and protection in one audited transaction.

Each function takes the input as sent (camelCase keys, only the fields the client
gave) and returns an `Outcome`: the changed record, or the errors and no change. Every
attempt is audited (`resolvers.auditing`).
"""

from __future__ import annotations

from typing import Any

from domain.access.policy import Action, require
from domain.catalog.changes import (
    EnvironmentDraft,
    EnvironmentPatch,
    OwnerAssignment,
    ServiceDraft,
    ServicePatch,
    TeamDraft,
    TeamPatch,
    UserDraft,
    UserPatch,
)
from domain.catalog.ports import CatalogWriter
from domain.catalog.records import (
    EnvironmentRecord,
    Link,
    ServiceRecord,
    TeamRecord,
    UserRecord,
)
from domain.deployments.ports import DeploymentStore
from resolvers import environment_settings
from resolvers import validation as v
from resolvers.auditing import Outcome, attempt, attempt_with, target
from resolvers.catalog_queries import owner_team_ids
from resolvers.context import Context
from resolvers.drafts import draft, patch
from resolvers.use_cases import Transaction, UseCase, catalog

Input = dict[str, Any]


async def _may_change_service(context: Context, service_slug: str) -> None:
    """Refuse unless the actor may change the service; a missing service is left to the
    write, which reports it as NOT_FOUND."""
    service = await context.loaders.service_by_slug.load(service_slug)
    if service is None:
        return
    require(context.principal, Action.CHANGE_SERVICE, await owner_team_ids(context, service.id))


def _links(links: list[v.LinkInput]) -> tuple[Link, ...]:
    return tuple(Link(title=link.title, url=link.url) for link in links)


async def _create_team(
    context: Context, team: v.CreateTeam, tx: Transaction[CatalogWriter]
) -> TeamRecord:
    return await tx.port.create_team(draft(TeamDraft, team))


async def _update_team(
    context: Context, team: v.UpdateTeam, tx: Transaction[CatalogWriter]
) -> TeamRecord:
    return await tx.port.update_team(team.team, team.expected_version, patch(TeamPatch, team))


async def _delete_team(
    context: Context, team: v.DeleteTeam, tx: Transaction[CatalogWriter]
) -> TeamRecord:
    return await tx.port.delete_team(team.team, team.expected_version)


async def _create_user(
    context: Context, user: v.CreateUser, tx: Transaction[CatalogWriter]
) -> UserRecord:
    return await tx.port.create_user(draft(UserDraft, user))


async def _update_user(
    context: Context, user: v.UpdateUser, tx: Transaction[CatalogWriter]
) -> UserRecord:
    return await tx.port.update_user(user.user, user.expected_version, patch(UserPatch, user))


async def _add_team_member(
    context: Context, membership: v.TeamMembership, tx: Transaction[CatalogWriter]
) -> tuple[TeamRecord, UserRecord]:
    return await tx.port.add_team_member(membership.team, membership.user)


async def _remove_team_member(
    context: Context, membership: v.TeamMembership, tx: Transaction[CatalogWriter]
) -> tuple[TeamRecord, UserRecord]:
    return await tx.port.remove_team_member(membership.team, membership.user)


_MEMBERSHIP = [("Team", "team"), ("User", "user")]

create_team = UseCase(
    operation="createTeam",
    model=v.CreateTeam,
    action=Action.MANAGE_TEAMS,
    targets=[("Team", "slug")],
    port=catalog,
    change=_create_team,
)
update_team = UseCase(
    operation="updateTeam",
    model=v.UpdateTeam,
    action=Action.MANAGE_TEAMS,
    targets=[("Team", "team")],
    port=catalog,
    change=_update_team,
)
delete_team = UseCase(
    operation="deleteTeam",
    model=v.DeleteTeam,
    action=Action.MANAGE_TEAMS,
    targets=[("Team", "team")],
    port=catalog,
    change=_delete_team,
)
create_user = UseCase(
    operation="createUser",
    model=v.CreateUser,
    action=Action.MANAGE_USERS,
    targets=[("User", "handle")],
    port=catalog,
    change=_create_user,
)
update_user = UseCase(
    operation="updateUser",
    model=v.UpdateUser,
    action=Action.MANAGE_USERS,
    targets=[("User", "user")],
    port=catalog,
    change=_update_user,
)
add_team_member = UseCase(
    operation="addTeamMember",
    model=v.TeamMembership,
    action=Action.MANAGE_TEAMS,
    targets=_MEMBERSHIP,
    port=catalog,
    change=_add_team_member,
)
remove_team_member = UseCase(
    operation="removeTeamMember",
    model=v.TeamMembership,
    action=Action.MANAGE_TEAMS,
    targets=_MEMBERSHIP,
    port=catalog,
    change=_remove_team_member,
)


async def create_service(context: Context, data: Input) -> Outcome[ServiceRecord]:
    async def act(writer: CatalogWriter) -> ServiceRecord:
        model = v.validate(v.CreateService, data)
        owner = await context.loaders.team_by_slug.load(model.owner)
        if owner is not None:
            require(context.principal, Action.CREATE_SERVICE, {owner.id})
        draft = ServiceDraft(
            slug=model.slug,
            name=model.name,
            owner=model.owner,
            description=model.description,
            lifecycle=model.lifecycle,
            tier=model.tier,
            tags=tuple(model.tags),
            links=_links(model.links),
            repository_url=model.repository_url,
        )
        return await writer.create_service(draft)

    return await attempt(context, "createService", data, [target("Service", data.get("slug"))], act)


async def update_service(context: Context, data: Input) -> Outcome[ServiceRecord]:
    async def act(writer: CatalogWriter) -> ServiceRecord:
        model = v.validate(v.UpdateService, data)
        await _may_change_service(context, model.service)
        values = v.provided(
            model, "name", "description", "lifecycle", "tier", "tags", "links", "repository_url"
        )
        if "tags" in values:
            values["tags"] = tuple(values["tags"])
        if "links" in values:
            values["links"] = _links(values["links"])
        return await writer.update_service(
            model.service, model.expected_version, ServicePatch(**values)
        )

    return await attempt(
        context, "updateService", data, [target("Service", data.get("service"))], act
    )


async def delete_service(context: Context, data: Input) -> Outcome[ServiceRecord]:
    async def act(writer: CatalogWriter) -> ServiceRecord:
        model = v.validate(v.DeleteService, data)
        await _may_change_service(context, model.service)
        return await writer.delete_service(model.service, model.expected_version)

    return await attempt(
        context, "deleteService", data, [target("Service", data.get("service"))], act
    )


async def set_service_owners(context: Context, data: Input) -> Outcome[ServiceRecord]:
    async def act(writer: CatalogWriter) -> ServiceRecord:
        model = v.validate(v.SetServiceOwners, data)
        await _may_change_service(context, model.service)
        owners = [OwnerAssignment(owner.team, owner.role) for owner in model.owners]
        return await writer.set_service_owners(model.service, owners)

    return await attempt(
        context, "setServiceOwners", data, [target("Service", data.get("service"))], act
    )


async def add_service_dependency(context: Context, data: Input) -> Outcome[ServiceRecord]:
    async def act(writer: CatalogWriter) -> ServiceRecord:
        model = v.validate(v.ServiceDependency, data)
        await _may_change_service(context, model.service)
        return await writer.add_service_dependency(model.service, model.depends_on)

    return await attempt(
        context,
        "addServiceDependency",
        data,
        [target("Service", data.get("service")), target("Service", data.get("dependsOn"))],
        act,
    )


async def remove_service_dependency(context: Context, data: Input) -> Outcome[ServiceRecord]:
    async def act(writer: CatalogWriter) -> ServiceRecord:
        model = v.validate(v.ServiceDependency, data)
        await _may_change_service(context, model.service)
        return await writer.remove_service_dependency(model.service, model.depends_on)

    return await attempt(
        context,
        "removeServiceDependency",
        data,
        [target("Service", data.get("service")), target("Service", data.get("dependsOn"))],
        act,
    )


async def create_environment(context: Context, data: Input) -> Outcome[EnvironmentRecord]:
    """The environment, its provider and its protection: one audited transaction."""

    async def act(store: DeploymentStore) -> EnvironmentRecord:
        require(context.principal, Action.MANAGE_ENVIRONMENTS)
        model = v.validate(v.CreateEnvironment, data)
        await environment_settings.check(context, model.provider, model.protection)
        draft = EnvironmentDraft(model.slug, model.name, model.tier, model.description)
        return await store.create_environment(
            draft,
            environment_settings.provider_choice(model.provider),
            environment_settings.protection_choice(model.protection),
        )

    return await attempt_with(
        context,
        "createEnvironment",
        data,
        [target("Environment", data.get("slug"))],
        context.deployments.audited,
        act,
    )


async def update_environment(context: Context, data: Input) -> Outcome[EnvironmentRecord]:
    """The environment's fields, provider and protection: one audited transaction."""

    async def act(store: DeploymentStore) -> EnvironmentRecord:
        require(context.principal, Action.MANAGE_ENVIRONMENTS)
        model = v.validate(
            v.UpdateEnvironment, data, not_nullable=frozenset({"tier", "provider", "protection"})
        )
        await environment_settings.check(context, model.provider, model.protection)
        patch = EnvironmentPatch(**v.provided(model, "name", "description", "tier"))
        return await store.update_environment(
            model.environment,
            model.expected_version,
            patch,
            environment_settings.provider_choice(model.provider),
            environment_settings.protection_choice(model.protection),
        )

    return await attempt_with(
        context,
        "updateEnvironment",
        data,
        [target("Environment", data.get("environment"))],
        context.deployments.audited,
        act,
    )


async def delete_environment(context: Context, data: Input) -> Outcome[EnvironmentRecord]:
    async def act(writer: CatalogWriter) -> EnvironmentRecord:
        require(context.principal, Action.MANAGE_ENVIRONMENTS)
        model = v.validate(v.DeleteEnvironment, data)
        return await writer.delete_environment(model.environment, model.expected_version)

    return await attempt(
        context, "deleteEnvironment", data, [target("Environment", data.get("environment"))], act
    )
