"""Catalog mutations, each declared once as a `UseCase` (`resolvers.use_cases` runs them):
teams, users and memberships, services (environments: `resolvers.environment_mutations`).
"""

from __future__ import annotations

from typing import Protocol

from domain.access.policy import Action, decide, require
from domain.catalog.changes import OwnerAssignment, TeamDraft, TeamPatch, UserDraft, UserPatch
from domain.catalog.ports import CatalogWriter
from domain.catalog.records import TeamRecord, UserRecord
from domain.catalog.services import ServiceDraft, ServicePatch, ServiceRecord
from resolvers import validation as v
from resolvers.catalog_queries import owner_team_ids
from resolvers.context import Context
from resolvers.drafts import draft, patch
from resolvers.use_cases import Transaction, UseCase, catalog


async def _may_change_service(context: Context, service_slug: str) -> None:
    """Refuse unless the actor may change the service; a missing service is left to the
    write, which reports it as NOT_FOUND."""
    service = await context.loaders.service_by_slug.load(service_slug)
    if service is None:
        return
    require(context.principal, Action.CHANGE_SERVICE, await owner_team_ids(context, service.id))


async def _create_team(
    context: Context, team: v.CreateTeam, tx: Transaction[CatalogWriter]
) -> TeamRecord:
    return await tx.port.create_team(draft(TeamDraft, team))


async def _update_team(
    context: Context, team: v.TeamChange, tx: Transaction[CatalogWriter]
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
    context: Context, user: v.UserChange, tx: Transaction[CatalogWriter]
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
    changes_access=True,
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
    changes_access=True,
)
add_team_member = UseCase(
    operation="addTeamMember",
    model=v.TeamMembership,
    action=Action.MANAGE_TEAMS,
    targets=_MEMBERSHIP,
    port=catalog,
    change=_add_team_member,
    changes_access=True,
)
remove_team_member = UseCase(
    operation="removeTeamMember",
    model=v.TeamMembership,
    action=Action.MANAGE_TEAMS,
    targets=_MEMBERSHIP,
    port=catalog,
    change=_remove_team_member,
    changes_access=True,
)


async def _may_create_service(context: Context, service: v.CreateService) -> None:
    if decide(context.principal, Action.CREATE_SERVICE).allowed:
        return  # whichever team owns it (an admin): the change finds the owner or refuses
    owner = await context.loaders.team_by_slug.load(service.owner)
    if owner is not None:
        require(context.principal, Action.CREATE_SERVICE, {owner.id})


class _NamesService(Protocol):
    @property
    def service(self) -> str: ...


async def _may_change(context: Context, named: _NamesService) -> None:
    await _may_change_service(context, named.service)


async def _create_service(
    context: Context, service: v.CreateService, tx: Transaction[CatalogWriter]
) -> ServiceRecord:
    return await tx.port.create_service(draft(ServiceDraft, service))


async def _update_service(
    context: Context, service: v.ServiceChange, tx: Transaction[CatalogWriter]
) -> ServiceRecord:
    changed = patch(ServicePatch, service)
    return await tx.port.update_service(service.service, service.expected_version, changed)


async def _delete_service(
    context: Context, service: v.DeleteService, tx: Transaction[CatalogWriter]
) -> ServiceRecord:
    return await tx.port.delete_service(service.service, service.expected_version)


async def _set_service_owners(
    context: Context, owners: v.SetServiceOwners, tx: Transaction[CatalogWriter]
) -> ServiceRecord:
    assigned = [OwnerAssignment(owner.team, owner.role) for owner in owners.owners]
    return await tx.port.set_service_owners(owners.service, assigned)


async def _add_service_dependency(
    context: Context, dependency: v.ServiceDependency, tx: Transaction[CatalogWriter]
) -> ServiceRecord:
    return await tx.port.add_service_dependency(dependency.service, dependency.depends_on)


async def _remove_service_dependency(
    context: Context, dependency: v.ServiceDependency, tx: Transaction[CatalogWriter]
) -> ServiceRecord:
    return await tx.port.remove_service_dependency(dependency.service, dependency.depends_on)


_DEPENDENCY = [("Service", "service"), ("Service", "depends_on")]

create_service = UseCase(
    operation="createService",
    model=v.CreateService,
    check=_may_create_service,
    targets=[("Service", "slug")],
    port=catalog,
    change=_create_service,
)
update_service = UseCase(
    operation="updateService",
    model=v.UpdateService,
    check=_may_change,
    targets=[("Service", "service")],
    port=catalog,
    change=_update_service,
)
delete_service = UseCase(
    operation="deleteService",
    model=v.DeleteService,
    check=_may_change,
    targets=[("Service", "service")],
    port=catalog,
    change=_delete_service,
)
set_service_owners = UseCase(
    operation="setServiceOwners",
    model=v.SetServiceOwners,
    check=_may_change,
    targets=[("Service", "service")],
    port=catalog,
    change=_set_service_owners,
)
add_service_dependency = UseCase(
    operation="addServiceDependency",
    model=v.ServiceDependency,
    check=_may_change,
    targets=_DEPENDENCY,
    port=catalog,
    change=_add_service_dependency,
)
remove_service_dependency = UseCase(
    operation="removeServiceDependency",
    model=v.ServiceDependency,
    check=_may_change,
    targets=_DEPENDENCY,
    port=catalog,
    change=_remove_service_dependency,
)
