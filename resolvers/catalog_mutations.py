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


async def create_team(context: Context, data: Input) -> Outcome[TeamRecord]:
    async def act(writer: CatalogWriter) -> TeamRecord:
        require(context.principal, Action.MANAGE_TEAMS)
        model = v.validate(v.CreateTeam, data)
        draft = TeamDraft(model.slug, model.name, model.description, model.parent)
        return await writer.create_team(draft)

    return await attempt(context, "createTeam", data, [target("Team", data.get("slug"))], act)


async def update_team(context: Context, data: Input) -> Outcome[TeamRecord]:
    async def act(writer: CatalogWriter) -> TeamRecord:
        require(context.principal, Action.MANAGE_TEAMS)
        model = v.validate(v.UpdateTeam, data)
        patch = TeamPatch(**v.provided(model, "name", "description", "parent"))
        return await writer.update_team(model.team, model.expected_version, patch)

    return await attempt(context, "updateTeam", data, [target("Team", data.get("team"))], act)


async def delete_team(context: Context, data: Input) -> Outcome[TeamRecord]:
    async def act(writer: CatalogWriter) -> TeamRecord:
        require(context.principal, Action.MANAGE_TEAMS)
        model = v.validate(v.DeleteTeam, data)
        return await writer.delete_team(model.team, model.expected_version)

    return await attempt(context, "deleteTeam", data, [target("Team", data.get("team"))], act)


async def create_user(context: Context, data: Input) -> Outcome[UserRecord]:
    async def act(writer: CatalogWriter) -> UserRecord:
        require(context.principal, Action.MANAGE_USERS)
        model = v.validate(v.CreateUser, data)
        return await writer.create_user(UserDraft(model.handle, model.name, model.email))

    return await attempt(context, "createUser", data, [target("User", data.get("handle"))], act)


async def update_user(context: Context, data: Input) -> Outcome[UserRecord]:
    async def act(writer: CatalogWriter) -> UserRecord:
        require(context.principal, Action.MANAGE_USERS)
        model = v.validate(v.UpdateUser, data)
        patch = UserPatch(**v.provided(model, "name", "email"))
        return await writer.update_user(model.user, model.expected_version, patch)

    return await attempt(context, "updateUser", data, [target("User", data.get("user"))], act)


async def add_team_member(context: Context, data: Input) -> Outcome[tuple[TeamRecord, UserRecord]]:
    async def act(writer: CatalogWriter) -> tuple[TeamRecord, UserRecord]:
        require(context.principal, Action.MANAGE_TEAMS)
        model = v.validate(v.TeamMembership, data)
        return await writer.add_team_member(model.team, model.user)

    return await attempt(
        context,
        "addTeamMember",
        data,
        [target("Team", data.get("team")), target("User", data.get("user"))],
        act,
    )


async def remove_team_member(
    context: Context, data: Input
) -> Outcome[tuple[TeamRecord, UserRecord]]:
    async def act(writer: CatalogWriter) -> tuple[TeamRecord, UserRecord]:
        require(context.principal, Action.MANAGE_TEAMS)
        model = v.validate(v.TeamMembership, data)
        return await writer.remove_team_member(model.team, model.user)

    return await attempt(
        context,
        "removeTeamMember",
        data,
        [target("Team", data.get("team")), target("User", data.get("user"))],
        act,
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
