"""Per-request DataLoaders: one per (entity, key), so each level of a query is one statement."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
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
from resolvers.shared_loader import SharedLoader

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

    return SharedLoader(load_fn=load)


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

    return SharedLoader(load_fn=load)


def lookup_many_loader(
    fetch: Callable[[Sequence[K]], Awaitable[Mapping[K, list[V]]]],
) -> DataLoader[K, list[V]]:
    async def load(keys: list[K]) -> list[list[V]]:
        found = await fetch(keys)
        return [found.get(key, []) for key in keys]

    return SharedLoader(load_fn=load)


def none() -> None:
    return None


class Loaders:
    """Created fresh for every request; never share one between requests."""

    def __init__(self, reader: CatalogReader) -> None:
        self._reader = reader

    @cached_property
    def team_by_id(self) -> DataLoader[int, TeamRecord | None]:
        return lookup_loader(self._reader.teams_by_id, none)

    @cached_property
    def team_by_slug(self) -> DataLoader[str, TeamRecord | None]:
        return lookup_loader(self._reader.teams_by_slug, none)

    @cached_property
    def user_by_id(self) -> DataLoader[int, UserRecord | None]:
        return lookup_loader(self._reader.users_by_id, none)

    @cached_property
    def user_by_handle(self) -> DataLoader[str, UserRecord | None]:
        return lookup_loader(self._reader.users_by_handle, none)

    @cached_property
    def service_by_id(self) -> DataLoader[int, ServiceRecord | None]:
        return lookup_loader(self._reader.services_by_id, none)

    @cached_property
    def service_by_slug(self) -> DataLoader[str, ServiceRecord | None]:
        return lookup_loader(self._reader.services_by_slug, none)

    @cached_property
    def environment_by_id(self) -> DataLoader[int, EnvironmentRecord | None]:
        return lookup_loader(self._reader.environments_by_id, none)

    @cached_property
    def environment_by_slug(self) -> DataLoader[str, EnvironmentRecord | None]:
        return lookup_loader(self._reader.environments_by_slug, none)

    @cached_property
    def owners_of_service(self) -> DataLoader[int, list[OwnershipRecord]]:
        return lookup_many_loader(self._reader.owners_of_services)

    @cached_property
    def dependencies_of_service(self) -> DataLoader[int, list[ServiceRecord]]:
        return lookup_many_loader(self._reader.dependencies_of_services)

    @cached_property
    def dependents_of_service(self) -> DataLoader[int, list[ServiceRecord]]:
        return lookup_many_loader(self._reader.dependents_of_services)

    @cached_property
    def children_of_team(self) -> DataLoader[int, list[TeamRecord]]:
        return lookup_many_loader(self._reader.children_of_teams)

    @cached_property
    def teams_of_user(self) -> DataLoader[int, list[TeamRecord]]:
        return lookup_many_loader(self._reader.teams_of_users)

    @cached_property
    def team_services(self) -> DataLoader[TeamServicesKey, Page[ServiceRecord]]:
        return _grouped(
            lambda key: (key.page, key.service_filter),
            lambda key: key.team_id,
            lambda group, ids: self._reader.team_services_pages(ids, group[0], group[1]),
        )

    @cached_property
    def team_services_count(self) -> DataLoader[tuple[int, ServiceFilter], int]:
        return _grouped(
            lambda key: key[1],
            lambda key: key[0],
            lambda service_filter, ids: self._reader.team_services_counts(ids, service_filter),
        )

    @cached_property
    def team_members(self) -> DataLoader[TeamMembersKey, Page[UserRecord]]:
        return _grouped(
            lambda key: key.page,
            lambda key: key.team_id,
            lambda page, ids: self._reader.team_members_pages(ids, page),
        )

    @cached_property
    def team_members_count(self) -> DataLoader[int, int]:
        return _grouped(
            lambda key: None,
            lambda key: key,
            lambda _, ids: self._reader.team_members_counts(ids),
        )
