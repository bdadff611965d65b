"""Per-request DataLoaders over the deployment store: one statement per level of a query,
whatever the number of rows."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
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

    return DataLoader(load_fn=load)


def _empty() -> list[DeploymentRecord]:
    return []


class DeploymentLoaders:
    """Created fresh for every request; never share one between requests."""

    def __init__(self, store: DeploymentStore, reader: CatalogReader) -> None:
        self.all_environments: DataLoader[None, list[EnvironmentRecord]] = DataLoader(
            load_fn=lambda keys: _all_environments(reader, len(keys))
        )
        self.by_id: DataLoader[int, DeploymentRecord | None] = lookup_loader(store.by_ids, none)
        self.history: DataLoader[int, list[StatusEvent]] = lookup_many_loader(store.history)
        self.approvals: DataLoader[int, list[ApprovalRecord]] = lookup_many_loader(store.approvals)
        self.protection: DataLoader[int, Protection | None] = lookup_loader(store.protection, none)
        self.provider: DataLoader[int, ProviderSettings | None] = lookup_loader(
            store.providers, none
        )
        self.current: DataLoader[Pair, DeploymentRecord | None] = _pair_loader(store.current, none)
        self.pending: DataLoader[Pair, list[DeploymentRecord]] = _pair_loader(store.pending, _empty)
        self.of_service: DataLoader[DeploymentsKey, Page[DeploymentRecord]] = _grouped(
            lambda key: (key.page, key.deployment_filter),
            lambda key: key.parent_id,
            lambda group, ids: store.service_pages(ids, group[0], group[1]),
        )
        self.of_environment: DataLoader[DeploymentsKey, Page[DeploymentRecord]] = _grouped(
            lambda key: (key.page, key.deployment_filter),
            lambda key: key.parent_id,
            lambda group, ids: store.environment_pages(ids, group[0], group[1]),
        )
        self.count: DataLoader[DeploymentFilter, int] = DataLoader(
            load_fn=lambda filters: _counts(store, filters)
        )
        self.count_of_service: DataLoader[CountKey, int] = _grouped(
            lambda key: key.deployment_filter,
            lambda key: key.parent_id,
            lambda wanted, ids: store.service_counts(ids, wanted),
        )
        self.count_of_environment: DataLoader[CountKey, int] = _grouped(
            lambda key: key.deployment_filter,
            lambda key: key.parent_id,
            lambda wanted, ids: store.environment_counts(ids, wanted),
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
