"""Per-request DataLoaders over the resource store: one statement per level of a query,
whatever the number of rows."""

from __future__ import annotations

from dataclasses import dataclass

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
        self.by_id: DataLoader[int, ResourceRecord | None] = lookup_loader(store.by_ids, none)
        self.class_by_id: DataLoader[int, ResourceClassRecord | None] = lookup_loader(
            store.classes_by_ids, none
        )
        self.template_by_id: DataLoader[int, TemplateRecord | None] = lookup_loader(
            store.templates_by_ids, none
        )
        self.history: DataLoader[int, list[ResourceStatusEvent]] = lookup_many_loader(store.history)
        self.approvals: DataLoader[int, list[ResourceApprovalRecord]] = lookup_many_loader(
            store.approvals
        )
        self.of_service: DataLoader[ServiceResourcesKey, list[ResourceRecord]] = _grouped(
            lambda key: key.environment,
            lambda key: key.service_id,
            lambda environment, ids: _of_services(store, ids, environment),
        )
        self.count_of_environment: DataLoader[int, int] = DataLoader(
            load_fn=lambda ids: _environment_counts(store, ids)
        )
        self.of_environment: DataLoader[EnvironmentResourcesKey, Page[ResourceRecord]] = _grouped(
            lambda key: key.page,
            lambda key: key.environment_id,
            lambda page, ids: store.environment_pages(ids, page),
        )


async def _of_services(
    store: ResourceStore, service_ids: list[int], environment: str | None
) -> dict[int, list[ResourceRecord]]:
    found = await store.of_services(service_ids, environment)
    return {service_id: found.get(service_id, []) for service_id in service_ids}


async def _environment_counts(store: ResourceStore, environment_ids: list[int]) -> list[int]:
    found = await store.environment_counts(environment_ids)
    return [found.get(environment_id, 0) for environment_id in environment_ids]
