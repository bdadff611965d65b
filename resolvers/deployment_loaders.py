"""Per-request DataLoaders over the deployment store: one statement per level of a query,
whatever the number of rows."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TypeVar

from strawberry.dataloader import DataLoader

from domain.catalog.ports import CatalogReader
from domain.catalog.records import EnvironmentRecord, Page, PageRequest
from domain.deployments.model import ApprovalRecord, DeploymentRecord, StatusEvent
from domain.deployments.ports import (
    DeploymentFilter,
    DeploymentStore,
    Pair,
    Protection,
    ProviderSettings,
)
from resolvers.loaders import _grouped, lookup_loader, lookup_many_loader, none
from resolvers.shared_loader import SharedLoader

V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class CountKey:
    """How many deployments one parent (a service or an environment) has."""

    parent_id: int
    deployment_filter: DeploymentFilter


@dataclass(frozen=True, slots=True)
class DeploymentsKey:
    """One parent's (a service's or an environment's) page of deployments."""

    parent_id: int
    page: PageRequest
    deployment_filter: DeploymentFilter


def _pair_loader(
    fetch: Callable[[Sequence[int], Sequence[int]], Awaitable[Mapping[Pair, V]]],
    default: Callable[[], V],
) -> DataLoader[Pair, V]:
    """(service, environment) pairs answered by one call over all their services and
    environments (a cross product: the extra pairs cost nothing but rows)."""

    async def load(keys: list[Pair]) -> list[V]:
        service_ids = sorted({service_id for service_id, _ in keys})
        environment_ids = sorted({environment_id for _, environment_id in keys})
        found = await fetch(service_ids, environment_ids)
        return [found.get(key, default()) for key in keys]

    return SharedLoader(load_fn=load)


def _empty() -> list[DeploymentRecord]:
    return []


class DeploymentLoaders:
    """Created fresh for every request; never share one between requests."""

    def __init__(self, store: DeploymentStore, reader: CatalogReader) -> None:
        self._store = store
        self._reader = reader

    @cached_property
    def all_environments(self) -> DataLoader[None, list[EnvironmentRecord]]:
        return SharedLoader(load_fn=lambda keys: _all_environments(self._reader, len(keys)))

    @cached_property
    def by_id(self) -> DataLoader[int, DeploymentRecord | None]:
        return lookup_loader(self._store.by_ids, none)

    @cached_property
    def history(self) -> DataLoader[int, list[StatusEvent]]:
        return lookup_many_loader(self._store.history)

    @cached_property
    def approvals(self) -> DataLoader[int, list[ApprovalRecord]]:
        return lookup_many_loader(self._store.approvals)

    @cached_property
    def protection(self) -> DataLoader[int, Protection | None]:
        return lookup_loader(self._store.protection, none)

    @cached_property
    def provider(self) -> DataLoader[int, ProviderSettings | None]:
        return lookup_loader(self._store.providers, none)

    @cached_property
    def current(self) -> DataLoader[Pair, DeploymentRecord | None]:
        return _pair_loader(self._store.current, none)

    @cached_property
    def pending(self) -> DataLoader[Pair, list[DeploymentRecord]]:
        return _pair_loader(self._store.pending, _empty)

    @cached_property
    def of_service(self) -> DataLoader[DeploymentsKey, Page[DeploymentRecord]]:
        return _grouped(
            lambda key: (key.page, key.deployment_filter),
            lambda key: key.parent_id,
            lambda group, ids: self._store.service_pages(ids, group[0], group[1]),
        )

    @cached_property
    def of_environment(self) -> DataLoader[DeploymentsKey, Page[DeploymentRecord]]:
        return _grouped(
            lambda key: (key.page, key.deployment_filter),
            lambda key: key.parent_id,
            lambda group, ids: self._store.environment_pages(ids, group[0], group[1]),
        )

    @cached_property
    def count(self) -> DataLoader[DeploymentFilter, int]:
        return SharedLoader(load_fn=lambda filters: _counts(self._store, filters))

    @cached_property
    def count_of_service(self) -> DataLoader[CountKey, int]:
        return _grouped(
            lambda key: key.deployment_filter,
            lambda key: key.parent_id,
            lambda wanted, ids: self._store.service_counts(ids, wanted),
        )

    @cached_property
    def count_of_environment(self) -> DataLoader[CountKey, int]:
        return _grouped(
            lambda key: key.deployment_filter,
            lambda key: key.parent_id,
            lambda wanted, ids: self._store.environment_counts(ids, wanted),
        )


async def _counts(store: DeploymentStore, filters: list[DeploymentFilter]) -> list[int]:
    """Root listings: one statement per distinct filter (a query names few of them)."""
    return [await store.count(deployment_filter) for deployment_filter in filters]


async def _all_environments(reader: CatalogReader, asked: int) -> list[list[EnvironmentRecord]]:
    """Every environment, in the environments listing's order (a page per 100 of them)."""
    found: list[EnvironmentRecord] = []
    page = PageRequest(first=100)
    while True:
        listed = await reader.environments_page(page)
        found.extend(edge.node for edge in listed.edges)
        if not listed.has_next_page:
            return [found] * asked
        page = PageRequest(first=100, after=listed.end_cursor)
