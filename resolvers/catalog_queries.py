"""Catalog reads: root lookups and listings, all through the request's loaders or one
statement per listing. Schema types call these and map records to GraphQL objects."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from domain.catalog.records import (
    EnvironmentRecord,
    OrderDirection,
    OwnershipRecord,
    OwnershipRole,
    Page,
    PageRequest,
    TeamRecord,
    UserRecord,
)
from domain.catalog.services import ServiceFilter, ServiceOrder, ServiceOrderField, ServiceRecord
from domain.errors import NotFound
from resolvers.context import Context
from resolvers.loaders import TeamMembersKey, TeamServicesKey

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Listing(Generic[T]):
    """A page of a listing, and how to count the whole listing if asked."""

    page: Page[T]
    count: Callable[[], Awaitable[int]]


async def resolve_service_filter(
    context: Context, service_filter: ServiceFilter | None
) -> ServiceFilter:
    """The filter, once the team it names is known to exist."""
    service_filter = service_filter or ServiceFilter()
    owner = service_filter.owner
    if owner is not None and await context.loaders.team_by_slug.load(owner) is None:
        raise NotFound(f"no team '{owner}' (filter.owner)", ["filter", "owner"])
    return service_filter


async def service(context: Context, slug: str) -> ServiceRecord | None:
    return await context.loaders.service_by_slug.load(slug)


async def team(context: Context, slug: str) -> TeamRecord | None:
    return await context.loaders.team_by_slug.load(slug)


async def user(context: Context, handle: str) -> UserRecord | None:
    return await context.loaders.user_by_handle.load(handle)


async def environment(context: Context, slug: str) -> EnvironmentRecord | None:
    return await context.loaders.environment_by_slug.load(slug)


async def services(
    context: Context,
    page: PageRequest,
    service_filter: ServiceFilter | None,
    order: ServiceOrder | None,
) -> Listing[ServiceRecord]:
    service_filter = await resolve_service_filter(context, service_filter)
    order = order or ServiceOrder(ServiceOrderField.NAME, OrderDirection.ASC)
    found = await context.reader.services_page(page, service_filter, order)
    return Listing(found, lambda: context.reader.services_count(service_filter))


async def teams(context: Context, page: PageRequest, search: str | None) -> Listing[TeamRecord]:
    found = await context.reader.teams_page(page, search or None)
    return Listing(found, lambda: context.reader.teams_count(search or None))


async def users(context: Context, page: PageRequest, search: str | None) -> Listing[UserRecord]:
    found = await context.reader.users_page(page, search or None)
    return Listing(found, lambda: context.reader.users_count(search or None))


async def environments(context: Context, page: PageRequest) -> Listing[EnvironmentRecord]:
    found = await context.reader.environments_page(page)
    return Listing(found, context.reader.environments_count)


async def team_members(context: Context, team_id: int, page: PageRequest) -> Listing[UserRecord]:
    found = await context.loaders.team_members.load(TeamMembersKey(team_id, page))
    return Listing(found, lambda: context.loaders.team_members_count.load(team_id))


async def team_services(
    context: Context, team_id: int, page: PageRequest, service_filter: ServiceFilter | None
) -> Listing[ServiceRecord]:
    service_filter = await resolve_service_filter(context, service_filter)
    found = await context.loaders.team_services.load(TeamServicesKey(team_id, page, service_filter))
    return Listing(
        found, lambda: context.loaders.team_services_count.load((team_id, service_filter))
    )


async def team_by_id(context: Context, team_id: int | None) -> TeamRecord | None:
    return None if team_id is None else await context.loaders.team_by_id.load(team_id)


async def children_of_team(context: Context, team_id: int) -> list[TeamRecord]:
    return await context.loaders.children_of_team.load(team_id)


async def teams_of_user(context: Context, user_id: int) -> list[TeamRecord]:
    return await context.loaders.teams_of_user.load(user_id)


async def owners_of_service(context: Context, service_id: int) -> list[OwnershipRecord]:
    return await context.loaders.owners_of_service.load(service_id)


async def owner_team_ids(context: Context, service_id: int) -> frozenset[int]:
    """The service's owner teams, primary and contributors: who may change and deploy it."""
    owners = await context.loaders.owners_of_service.load(service_id)
    return frozenset(ownership.team.id for ownership in owners)


async def primary_owner(context: Context, service_id: int) -> TeamRecord | None:
    for ownership in await context.loaders.owners_of_service.load(service_id):
        if ownership.role is OwnershipRole.PRIMARY:
            return ownership.team
    return None


async def dependencies_of_service(context: Context, service_id: int) -> list[ServiceRecord]:
    return await context.loaders.dependencies_of_service.load(service_id)


async def dependents_of_service(context: Context, service_id: int) -> list[ServiceRecord]:
    return await context.loaders.dependents_of_service.load(service_id)
