"""Per-request DataLoaders: one per (entity, key), so each level of a query is one statement."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from strawberry.dataloader import DataLoader

from domain.catalog.ports import CatalogReader
from domain.catalog.records import (
    EnvironmentRecord,
    OwnershipRecord,
    Page,
    PageRequest,
    TeamRecord,
    UserRecord,
)
from domain.catalog.services import ServiceFilter, ServiceRecord

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
G = TypeVar("G", bound=Hashable)


@dataclass(frozen=True, slots=True)
class TeamServicesKey:
    team_id: int
    page: PageRequest
    service_filter: ServiceFilter


@dataclass(frozen=True, slots=True)
class TeamMembersKey:
    team_id: int
    page: PageRequest


def lookup_loader(
    fetch: Callable[[Sequence[K]], Awaitable[Mapping[K, V]]], default: Callable[[], V | None]
) -> DataLoader[K, V | None]:
    async def load(keys: list[K]) -> list[V | None]:
        found = await fetch(keys)
        return [found.get(key, default()) for key in keys]

    return DataLoader(load_fn=load)


def _grouped(
    group_of: Callable[[K], G],
    parent_of: Callable[[K], int],
    fetch: Callable[[G, list[int]], Awaitable[Mapping[int, V]]],
) -> DataLoader[K, V]:
    """Keys sharing arguments (a group) are answered by one call for all their parents."""

    async def load(keys: list[K]) -> list[V]:
        groups: dict[G, list[K]] = defaultdict(list)
        for key in keys:
            groups[group_of(key)].append(key)
        answers: dict[K, V] = {}
        for group, members in groups.items():
            found = await fetch(group, sorted({parent_of(key) for key in members}))
            for key in members:
                answers[key] = found[parent_of(key)]
        return [answers[key] for key in keys]

    return DataLoader(load_fn=load)


def lookup_many_loader(
    fetch: Callable[[Sequence[K]], Awaitable[Mapping[K, list[V]]]],
) -> DataLoader[K, list[V]]:
    async def load(keys: list[K]) -> list[list[V]]:
        found = await fetch(keys)
        return [found.get(key, []) for key in keys]

    return DataLoader(load_fn=load)


def none() -> None:
    return None


class Loaders:
    """Created fresh for every request; never share one between requests."""

    def __init__(self, reader: CatalogReader) -> None:
        self.team_by_id: DataLoader[int, TeamRecord | None] = lookup_loader(
            reader.teams_by_id, none
        )
        self.team_by_slug: DataLoader[str, TeamRecord | None] = lookup_loader(
            reader.teams_by_slug, none
        )
        self.user_by_id: DataLoader[int, UserRecord | None] = lookup_loader(
            reader.users_by_id, none
        )
        self.user_by_handle: DataLoader[str, UserRecord | None] = lookup_loader(
            reader.users_by_handle, none
        )
        self.service_by_id: DataLoader[int, ServiceRecord | None] = lookup_loader(
            reader.services_by_id, none
        )
        self.service_by_slug: DataLoader[str, ServiceRecord | None] = lookup_loader(
            reader.services_by_slug, none
        )
        self.environment_by_id: DataLoader[int, EnvironmentRecord | None] = lookup_loader(
            reader.environments_by_id, none
        )
        self.environment_by_slug: DataLoader[str, EnvironmentRecord | None] = lookup_loader(
            reader.environments_by_slug, none
        )
        self.owners_of_service: DataLoader[int, list[OwnershipRecord]] = lookup_many_loader(
            reader.owners_of_services
        )
        self.dependencies_of_service: DataLoader[int, list[ServiceRecord]] = lookup_many_loader(
            reader.dependencies_of_services
        )
        self.dependents_of_service: DataLoader[int, list[ServiceRecord]] = lookup_many_loader(
            reader.dependents_of_services
        )
        self.children_of_team: DataLoader[int, list[TeamRecord]] = lookup_many_loader(
            reader.children_of_teams
        )
        self.teams_of_user: DataLoader[int, list[TeamRecord]] = lookup_many_loader(
            reader.teams_of_users
        )
        self.team_services: DataLoader[TeamServicesKey, Page[ServiceRecord]] = _grouped(
            lambda key: (key.page, key.service_filter),
            lambda key: key.team_id,
            lambda group, ids: reader.team_services_pages(ids, group[0], group[1]),
        )
        self.team_services_count: DataLoader[tuple[int, ServiceFilter], int] = _grouped(
            lambda key: key[1],
            lambda key: key[0],
            lambda service_filter, ids: reader.team_services_counts(ids, service_filter),
        )
        self.team_members: DataLoader[TeamMembersKey, Page[UserRecord]] = _grouped(
            lambda key: key.page,
            lambda key: key.team_id,
            lambda page, ids: reader.team_members_pages(ids, page),
        )
        self.team_members_count: DataLoader[int, int] = _grouped(
            lambda key: None,
            lambda key: key,
            lambda _, ids: reader.team_members_counts(ids),
        )
