"""Catalog mutations: validate the input, call the write port, report refusals as errors.

Each function takes the input as sent (camelCase keys, only the fields the client
gave) and returns an `Outcome`: the changed record, or the errors and no change.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from providers.changes import (
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
from providers.errors import CatalogError
from providers.records import (
    EnvironmentRecord,
    Link,
    ServiceRecord,
    TeamRecord,
    UserRecord,
)
from resolvers import validation as v
from resolvers.context import Context

T = TypeVar("T")
Input = dict[str, Any]


@dataclass(slots=True)
class Outcome(Generic[T]):
    value: T | None = None
    errors: list[CatalogError] = field(default_factory=list)


async def _attempt(action: Callable[[], Awaitable[T]]) -> Outcome[T]:
    try:
        return Outcome(value=await action())
    except v.InvalidInput as invalid:
        return Outcome(errors=list(invalid.errors))
    except CatalogError as refused:
        return Outcome(errors=[refused])


def _links(links: list[v.LinkInput]) -> tuple[Link, ...]:
    return tuple(Link(title=link.title, url=link.url) for link in links)


async def create_team(context: Context, data: Input) -> Outcome[TeamRecord]:
    async def act() -> TeamRecord:
        model = v.validate(v.CreateTeam, data)
        draft = TeamDraft(model.slug, model.name, model.description, model.parent)
        return await context.writer.create_team(draft)

    return await _attempt(act)


async def update_team(context: Context, data: Input) -> Outcome[TeamRecord]:
    async def act() -> TeamRecord:
        model = v.validate(v.UpdateTeam, data)
        patch = TeamPatch(**v.provided(model, "name", "description", "parent"))
        return await context.writer.update_team(model.team, model.expected_version, patch)

    return await _attempt(act)


async def delete_team(context: Context, data: Input) -> Outcome[TeamRecord]:
    async def act() -> TeamRecord:
        model = v.validate(v.DeleteTeam, data)
        return await context.writer.delete_team(model.team, model.expected_version)

    return await _attempt(act)


async def create_user(context: Context, data: Input) -> Outcome[UserRecord]:
    async def act() -> UserRecord:
        model = v.validate(v.CreateUser, data)
        return await context.writer.create_user(UserDraft(model.handle, model.name, model.email))

    return await _attempt(act)


async def update_user(context: Context, data: Input) -> Outcome[UserRecord]:
    async def act() -> UserRecord:
        model = v.validate(v.UpdateUser, data)
        patch = UserPatch(**v.provided(model, "name", "email"))
        return await context.writer.update_user(model.user, model.expected_version, patch)

    return await _attempt(act)


async def add_team_member(context: Context, data: Input) -> Outcome[tuple[TeamRecord, UserRecord]]:
    async def act() -> tuple[TeamRecord, UserRecord]:
        model = v.validate(v.TeamMembership, data)
        return await context.writer.add_team_member(model.team, model.user)

    return await _attempt(act)


async def remove_team_member(
    context: Context, data: Input
) -> Outcome[tuple[TeamRecord, UserRecord]]:
    async def act() -> tuple[TeamRecord, UserRecord]:
        model = v.validate(v.TeamMembership, data)
        return await context.writer.remove_team_member(model.team, model.user)

    return await _attempt(act)


async def create_service(context: Context, data: Input) -> Outcome[ServiceRecord]:
    async def act() -> ServiceRecord:
        model = v.validate(v.CreateService, data)
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
        return await context.writer.create_service(draft)

    return await _attempt(act)


async def update_service(context: Context, data: Input) -> Outcome[ServiceRecord]:
    async def act() -> ServiceRecord:
        model = v.validate(v.UpdateService, data)
        values = v.provided(
            model, "name", "description", "lifecycle", "tier", "tags", "links", "repository_url"
        )
        if "tags" in values:
            values["tags"] = tuple(values["tags"])
        if "links" in values:
            values["links"] = _links(values["links"])
        return await context.writer.update_service(
            model.service, model.expected_version, ServicePatch(**values)
        )

    return await _attempt(act)


async def delete_service(context: Context, data: Input) -> Outcome[ServiceRecord]:
    async def act() -> ServiceRecord:
        model = v.validate(v.DeleteService, data)
        return await context.writer.delete_service(model.service, model.expected_version)

    return await _attempt(act)


async def set_service_owners(context: Context, data: Input) -> Outcome[ServiceRecord]:
    async def act() -> ServiceRecord:
        model = v.validate(v.SetServiceOwners, data)
        owners = [OwnerAssignment(owner.team, owner.role) for owner in model.owners]
        return await context.writer.set_service_owners(model.service, owners)

    return await _attempt(act)


async def add_service_dependency(context: Context, data: Input) -> Outcome[ServiceRecord]:
    async def act() -> ServiceRecord:
        model = v.validate(v.ServiceDependency, data)
        return await context.writer.add_service_dependency(model.service, model.depends_on)

    return await _attempt(act)


async def remove_service_dependency(context: Context, data: Input) -> Outcome[ServiceRecord]:
    async def act() -> ServiceRecord:
        model = v.validate(v.ServiceDependency, data)
        return await context.writer.remove_service_dependency(model.service, model.depends_on)

    return await _attempt(act)


async def create_environment(context: Context, data: Input) -> Outcome[EnvironmentRecord]:
    async def act() -> EnvironmentRecord:
        model = v.validate(v.CreateEnvironment, data)
        draft = EnvironmentDraft(model.slug, model.name, model.tier, model.description)
        return await context.writer.create_environment(draft)

    return await _attempt(act)


async def update_environment(context: Context, data: Input) -> Outcome[EnvironmentRecord]:
    async def act() -> EnvironmentRecord:
        model = v.validate(v.UpdateEnvironment, data, not_nullable=frozenset({"tier"}))
        patch = EnvironmentPatch(**v.provided(model, "name", "description", "tier"))
        return await context.writer.update_environment(
            model.environment, model.expected_version, patch
        )

    return await _attempt(act)


async def delete_environment(context: Context, data: Input) -> Outcome[EnvironmentRecord]:
    async def act() -> EnvironmentRecord:
        model = v.validate(v.DeleteEnvironment, data)
        return await context.writer.delete_environment(model.environment, model.expected_version)

    return await _attempt(act)
