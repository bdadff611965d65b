"""A listing's checked GraphQL arguments as the read plan's Listing: page, filter, order."""

from __future__ import annotations

from typing import Any

from domain import read_plan as p
from domain.catalog.records import OrderDirection
from domain.catalog.services import ServiceFilter, ServiceOrder, ServiceOrderField
from domain.deployments.model import DeploymentState
from domain.errors import CatalogError
from domain.resources.model import ResourceState
from domain.resources.ports import ResourceFilter
from reads.graph_map import (
    NotPlannable,
)
from reads.stored_fields import column
from resolvers.deployment_queries import deployment_filter
from resolvers.paging import page_request


def listing(source: p.ListingSource, args: dict[str, Any]) -> p.Listing:
    """The listing the resolvers would read, or `NotPlannable` where they would refuse."""
    try:
        page = page_request(
            args.get("first"), args.get("after"), args.get("last"), args.get("before")
        )
    except CatalogError:
        raise NotPlannable from None
    if source in (p.ListingSource.SERVICES, p.ListingSource.TEAM_SERVICES):
        service_filter = service_filter_of(args.get("filter"))
        raw_order = args.get("orderBy")
        order = (
            ServiceOrder(
                ServiceOrderField(raw_order["field"]), OrderDirection(raw_order["direction"])
            )
            if raw_order is not None
            else ServiceOrder()
        )
        return p.Listing(source, page, service_filter=service_filter, order=order)
    if source is p.ListingSource.RELEASE_MATRIX:
        slugs = args.get("environments")
        return p.Listing(
            source,
            page,
            service_filter=service_filter_of(args.get("filter")),
            order=ServiceOrder(),
            environments=None if slugs is None else tuple(dict.fromkeys(slugs)),
        )
    if source is p.ListingSource.DEPLOYMENTS:
        raw = args.get("filter") or {}
        wanted = deployment_filter(raw.get("service"), raw.get("environment"), states(raw))
        return p.Listing(source, page, deployment_filter=wanted)
    if source is p.ListingSource.SERVICE_DEPLOYMENTS:
        wanted = deployment_filter(environment=args.get("environment"), states=states(args))
        return p.Listing(source, page, deployment_filter=wanted)
    if source is p.ListingSource.ENVIRONMENT_DEPLOYMENTS:
        wanted = deployment_filter(service=args.get("service"), states=states(args))
        return p.Listing(source, page, deployment_filter=wanted)
    if source is p.ListingSource.RESOURCES:
        return p.Listing(source, page, resource_filter=resource_filter_of(args.get("filter")))
    if source in _UNFILTERED:
        return p.Listing(source, page)
    return p.Listing(source, page, search=args.get("search") or None)


_UNFILTERED = frozenset(
    {
        p.ListingSource.ENVIRONMENT_RESOURCES,
        p.ListingSource.RESOURCE_CLASSES,
        p.ListingSource.TEMPLATES,
    }
)
"""Resource listings with no argument but their page."""


def states(args: dict[str, Any]) -> list[DeploymentState] | None:
    states = args.get("states")
    return None if states is None else [DeploymentState(state) for state in states]


def service_filter_of(raw: dict[str, Any] | None) -> ServiceFilter:
    return ServiceFilter.of({column(name): value for name, value in (raw or {}).items()})


def resource_filter_of(raw: dict[str, Any] | None) -> ResourceFilter:
    """As `schema.resources.ResourceFilter.to_filter` builds it (its cursor scope digests it)."""
    given = raw or {}
    raw_states = given.get("states")
    return ResourceFilter(
        service=given.get("service"),
        environment=given.get("environment"),
        resource_class=given.get("class"),
        states=None if raw_states is None else tuple(ResourceState(s) for s in raw_states),
        owner=given.get("owner"),
    )
