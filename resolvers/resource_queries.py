"""Resource reads: root listings, a service's and an environment's resources, and what the
schema types ask of a resource (its class, history, approvals, live health). Everyone who may
read the catalog may read them: they hold no secret."""

from __future__ import annotations

from domain.catalog.records import PageRequest
from domain.errors import NotFound
from domain.resources.model import (
    ResourceApprovalRecord,
    ResourceClassRecord,
    ResourceHealth,
    ResourceRecord,
    ResourceState,
    ResourceStatusEvent,
    TemplateRecord,
)
from domain.resources.ports import ResourceFilter
from resolvers.catalog_queries import Listing
from resolvers.context import Context
from resolvers.resource_loaders import (
    EnvironmentResourcesKey,
    ResourceLoaders,
    ServiceResourcesKey,
)
from resolvers.resource_lookups import store


def loaders(context: Context) -> ResourceLoaders:
    if context.resource_loaders is None:
        raise RuntimeError("resources are not served here")
    return context.resource_loaders


async def resource_classes(context: Context, page: PageRequest) -> Listing[ResourceClassRecord]:
    resources = store(context)
    return Listing(await resources.class_page(page), resources.class_count)


async def templates(context: Context, page: PageRequest) -> Listing[TemplateRecord]:
    resources = store(context)
    return Listing(await resources.template_page(page), resources.template_count)


async def resources(
    context: Context, page: PageRequest, resource_filter: ResourceFilter
) -> Listing[ResourceRecord]:
    owner = resource_filter.owner
    if owner is not None and await context.loaders.team_by_slug.load(owner) is None:
        raise NotFound(f"no team '{owner}'", ["filter", "owner"])
    found = store(context)
    return Listing(await found.page(page, resource_filter), lambda: found.count(resource_filter))


async def of_service(
    context: Context, service_id: int, environment: str | None
) -> list[ResourceRecord]:
    return await loaders(context).of_service.load(ServiceResourcesKey(service_id, environment))


async def of_environment(
    context: Context, environment_id: int, page: PageRequest
) -> Listing[ResourceRecord]:
    found = await loaders(context).of_environment.load(
        EnvironmentResourcesKey(environment_id, page)
    )

    async def count() -> int:
        return await loaders(context).count_of_environment.load(environment_id)

    return Listing(found, count)


async def resource(context: Context, resource_id: int) -> ResourceRecord | None:
    return await loaders(context).by_id.load(resource_id)


async def resource_class(context: Context, class_id: int) -> ResourceClassRecord | None:
    return await loaders(context).class_by_id.load(class_id)


async def template(context: Context, template_id: int) -> TemplateRecord | None:
    return await loaders(context).template_by_id.load(template_id)


async def history(context: Context, resource_id: int) -> list[ResourceStatusEvent]:
    return await loaders(context).history.load(resource_id)


async def approvals(context: Context, resource_id: int) -> list[ResourceApprovalRecord]:
    return await loaders(context).approvals.load(resource_id)


async def live(context: Context, resource: ResourceRecord) -> ResourceHealth | None:
    """Asked of the provider under a deadline; `ProviderFailure` (PROVIDER_ERROR at the
    field) when it cannot answer; None where nothing runs providers, or once deleted. What
    the provider needs is found through the request's loaders: no statement per resource."""
    if context.provisioning is None or resource.state is ResourceState.DELETED:
        return None
    found_class = await resource_class(context, resource.class_id)
    service = await context.loaders.service_by_id.load(resource.service_id)
    environment = await context.loaders.environment_by_id.load(resource.environment_id)
    if found_class is None or service is None or environment is None:
        return None
    return await context.provisioning.live(resource, found_class, service.slug, environment.slug)
