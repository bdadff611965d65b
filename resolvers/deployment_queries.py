"""Deployment reads: listings, what runs where, and the records around a deployment, all
through the request's loaders. Schema types call these and map records to GraphQL objects."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from domain.access.model import ActorKind, ApiClientRecord
from domain.access.policy import Action, decide
from domain.catalog.records import EnvironmentRecord, Page, PageRequest, TeamRecord, UserRecord
from domain.catalog.services import ServiceFilter, ServiceRecord
from domain.deployments.model import (
    ApprovalRecord,
    DeploymentRecord,
    DeploymentState,
    LiveStatus,
    Requester,
    StatusEvent,
)
from domain.deployments.ports import (
    DeploymentFilter,
    DeploymentMetrics,
    Protection,
    ProviderSettings,
    ReleaseRow,
)
from domain.errors import NotFound
from resolvers.catalog_queries import Listing, resolve_service_filter
from resolvers.context import Context
from resolvers.deployment_loaders import CountKey, DeploymentsKey

T = TypeVar("T")


def deployment_filter(
    service: str | None = None,
    environment: str | None = None,
    states: Sequence[DeploymentState] | None = None,
) -> DeploymentFilter:
    """The filter as the store sees it: states deduplicated and sorted, so equal filters
    compare (and scope their cursors) equal."""
    return DeploymentFilter(
        service=service,
        environment=environment,
        states=None if states is None else tuple(sorted(set(states))),
    )


async def deployments(
    context: Context, page: PageRequest, wanted: DeploymentFilter
) -> Listing[DeploymentRecord]:
    found = await context.deployments.page(page, wanted)
    return Listing(found, lambda: context.deployment_loaders.count.load(wanted))


async def service_deployments(
    context: Context,
    service: ServiceRecord,
    page: PageRequest,
    environment: str | None,
    states: Sequence[DeploymentState] | None,
) -> Listing[DeploymentRecord]:
    wanted = deployment_filter(environment=environment, states=states)
    found = await context.deployment_loaders.of_service.load(
        DeploymentsKey(service.id, page, wanted)
    )
    return Listing(
        found,
        lambda: context.deployment_loaders.count_of_service.load(CountKey(service.id, wanted)),
    )


async def environment_deployments(
    context: Context,
    environment: EnvironmentRecord,
    page: PageRequest,
    service: str | None,
    states: Sequence[DeploymentState] | None,
) -> Listing[DeploymentRecord]:
    wanted = deployment_filter(service=service, states=states)
    found = await context.deployment_loaders.of_environment.load(
        DeploymentsKey(environment.id, page, wanted)
    )
    counted = CountKey(environment.id, wanted)
    return Listing(found, lambda: context.deployment_loaders.count_of_environment.load(counted))


async def deployment_by_id(context: Context, deployment_id: int | None) -> DeploymentRecord | None:
    if deployment_id is None:
        return None
    return await context.deployment_loaders.by_id.load(deployment_id)


async def history(context: Context, deployment_id: int) -> list[StatusEvent]:
    return await context.deployment_loaders.history.load(deployment_id)


async def approvals(context: Context, deployment_id: int) -> list[ApprovalRecord]:
    return await context.deployment_loaders.approvals.load(deployment_id)


async def viewer_can_approve(context: Context, deployment: DeploymentRecord) -> bool:
    """Whether `approveDeployment`/`rejectDeployment` by the viewer would be taken now, by
    the rules the store applies (a hint for pages; the mutation decides): waiting for
    approval, the viewer an admin or in an approver team with `approve`, not its requester
    where the environment forbids self-approval, and not decided by the viewer already."""
    if deployment.state is not DeploymentState.WAITING_APPROVAL:
        return False
    principal = context.principal
    protection = await context.deployment_loaders.protection.load(deployment.environment_id)
    approvers = protection.approver_team_ids if protection is not None else ()
    if not decide(principal, Action.APPROVE, approvers).allowed:
        return False
    viewer = (principal.kind, principal.actor_id)
    requester = deployment.requested_by
    forbids_self = protection is None or protection.prevent_self_approval
    if forbids_self and (requester.kind, requester.actor_id) == viewer:
        return False
    decided = await context.deployment_loaders.approvals.load(deployment.id)
    return all((approval.actor.kind, approval.actor.actor_id) != viewer for approval in decided)


async def current(
    context: Context, service_id: int, environment_id: int
) -> DeploymentRecord | None:
    return await context.deployment_loaders.current.load((service_id, environment_id))


async def pending(context: Context, service_id: int, environment_id: int) -> list[DeploymentRecord]:
    return await context.deployment_loaders.pending.load((service_id, environment_id))


async def environment_named(context: Context, slug: str, argument: str) -> EnvironmentRecord:
    found = await context.loaders.environment_by_slug.load(slug)
    if found is None:
        raise NotFound(f"no environment '{slug}'", [argument])
    return found


async def service_named(context: Context, slug: str, argument: str) -> ServiceRecord:
    found = await context.loaders.service_by_slug.load(slug)
    if found is None:
        raise NotFound(f"no service '{slug}'", [argument])
    return found


async def current_in(
    context: Context, service: ServiceRecord, environment_slug: str
) -> DeploymentRecord | None:
    environment = await environment_named(context, environment_slug, "environment")
    return await current(context, service.id, environment.id)


async def all_environments(context: Context) -> list[EnvironmentRecord]:
    """Every environment in the environments listing's order, read once per request."""
    return await context.deployment_loaders.all_environments.load(None)


async def service(context: Context, service_id: int) -> ServiceRecord:
    found = await context.loaders.service_by_id.load(service_id)
    return _present(found, f"deployment of a missing service {service_id}")


async def environment(context: Context, environment_id: int) -> EnvironmentRecord:
    found = await context.loaders.environment_by_id.load(environment_id)
    return _present(found, f"deployment in a missing environment {environment_id}")


async def protection(context: Context, environment_id: int) -> Protection:
    found = await context.deployment_loaders.protection.load(environment_id)
    return _present(found, f"no protection for environment {environment_id}")


async def environment_provider(context: Context, environment_id: int) -> ProviderSettings:
    found = await context.deployment_loaders.provider.load(environment_id)
    return _present(found, f"no provider for environment {environment_id}")


def _present(found: T | None, missing: str) -> T:
    """What the database's own references guarantee exists."""
    assert found is not None, missing
    return found


async def deployment_provider(context: Context, record: DeploymentRecord) -> ProviderSettings:
    """The adapter kind that ran the deployment, with its environment's settings while the
    environment still uses that kind."""
    configured = await environment_provider(context, record.environment_id)
    settings = configured.settings if configured.kind == record.provider else {}
    return ProviderSettings(record.environment_id, record.provider, settings)


async def approver_teams(context: Context, record: Protection) -> list[TeamRecord]:
    found = await context.loaders.team_by_id.load_many(list(record.approver_team_ids))
    return [team for team in found if team is not None]


async def actor_of(
    context: Context, requester: Requester
) -> UserRecord | ApiClientRecord | ActorKind | None:
    """The record of who acted, the kind for the built-in local admin, None once deleted."""
    if requester.kind is ActorKind.LOCAL_ADMIN or requester.actor_id is None:
        return requester.kind
    if requester.kind is ActorKind.CLIENT:
        return await context.access_loaders.api_client_by_id.load(requester.actor_id)
    return await context.loaders.user_by_id.load(requester.actor_id)


async def release_matrix(
    context: Context,
    page: PageRequest,
    service_filter: ServiceFilter | None,
    environment_slugs: Sequence[str] | None,
) -> Listing[ReleaseRow]:
    service_filter = await resolve_service_filter(context, service_filter)
    found: Page[ReleaseRow] = await context.deployments.release_matrix(
        page, service_filter, environment_slugs
    )
    return Listing(found, lambda: context.reader.services_count(service_filter))


@dataclass(frozen=True, slots=True)
class Comparison:
    source: DeploymentRecord | None
    target: DeploymentRecord | None

    @property
    def in_sync(self) -> bool:
        """Both environments run the same version (and commit, where both know it)."""
        if self.source is None or self.target is None:
            return False
        same_commit = (
            self.source.commit_sha is None
            or self.target.commit_sha is None
            or self.source.commit_sha == self.target.commit_sha
        )
        return self.source.version == self.target.version and same_commit


async def compare_environments(
    context: Context, service_slug: str, from_slug: str, to_slug: str
) -> Comparison:
    found = await service_named(context, service_slug, "service")
    source = await environment_named(context, from_slug, "from")
    target = await environment_named(context, to_slug, "to")
    return Comparison(
        await current(context, found.id, source.id), await current(context, found.id, target.id)
    )


async def live(context: Context, service: ServiceRecord, environment_id: int) -> LiveStatus | None:
    """What the environment's provider says runs there now: None without a live-status
    lookup (or one that knows nothing); a failing provider raises `ProviderFailure`."""
    if context.live is None:
        return None
    found = await environment(context, environment_id)
    settings = await environment_provider(context, environment_id)
    return await context.live.get(service.slug, found.slug, settings)


async def metrics(
    context: Context,
    environment_slug: str,
    service_slug: str | None,
    team_slug: str | None,
    since: datetime,
    until: datetime | None,
) -> DeploymentMetrics:
    return await context.deployments.metrics(
        environment_slug, service_slug, team_slug, since, until
    )
