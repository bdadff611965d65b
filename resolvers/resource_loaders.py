"""Per-request DataLoaders over the resource store: one statement per level of a query,
whatever the number of rows."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from strawberry.dataloader import DataLoader

from domain.catalog.records import Page, PageRequest
from domain.resources.model import (
    ResourceApprovalRecord,
    ResourceClassRecord,
    ResourceRecord,
    ResourceStatusEvent,
    TemplateRecord,
)
from domain.resources.ports import ResourceStore
from resolvers.loaders import _grouped, lookup_loader, lookup_many_loader, none
from resolvers.shared_loader import SharedLoader


@dataclass(frozen=True, slots=True)
class ServiceResourcesKey:
    service_id: int
    environment: str | None


@dataclass(frozen=True, slots=True)
class EnvironmentResourcesKey:
    environment_id: int
    page: PageRequest


class ResourceLoaders:
    """Created fresh for every request; never share one between requests."""

    def __init__(self, store: ResourceStore) -> None:
        self._store = store

    @cached_property
    def by_id(self) -> DataLoader[int, ResourceRecord | None]:
        return lookup_loader(self._store.by_ids, none)

    @cached_property
    def class_by_id(self) -> DataLoader[int, ResourceClassRecord | None]:
        return lookup_loader(self._store.classes_by_ids, none)

    @cached_property
    def template_by_id(self) -> DataLoader[int, TemplateRecord | None]:
        return lookup_loader(self._store.templates_by_ids, none)

    @cached_property
    def history(self) -> DataLoader[int, list[ResourceStatusEvent]]:
        return lookup_many_loader(self._store.history)

    @cached_property
    def approvals(self) -> DataLoader[int, list[ResourceApprovalRecord]]:
        return lookup_many_loader(self._store.approvals)

    @cached_property
    def of_service(self) -> DataLoader[ServiceResourcesKey, list[ResourceRecord]]:
        return _grouped(
            lambda key: key.environment,
            lambda key: key.service_id,
            lambda environment, ids: _of_services(self._store, ids, environment),
        )

    @cached_property
    def count_of_environment(self) -> DataLoader[int, int]:
        return SharedLoader(load_fn=lambda ids: _environment_counts(self._store, ids))

    @cached_property
    def of_environment(self) -> DataLoader[EnvironmentResourcesKey, Page[ResourceRecord]]:
        return _grouped(
            lambda key: key.page,
            lambda key: key.environment_id,
            lambda page, ids: self._store.environment_pages(ids, page),
        )


async def _of_services(
    store: ResourceStore, service_ids: list[int], environment: str | None
) -> dict[int, list[ResourceRecord]]:
    found = await store.of_services(service_ids, environment)
    return {service_id: found.get(service_id, []) for service_id in service_ids}


async def _environment_counts(store: ResourceStore, environment_ids: list[int]) -> list[int]:
    found = await store.environment_counts(environment_ids)
    return [found.get(environment_id, 0) for environment_id in environment_ids]
