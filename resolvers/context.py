"""What every resolver receives: the ports, who is asking, and this request's loaders."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from domain.access.model import Principal
from domain.access.ports import AccessStore
from domain.access.token_lifetimes import DEFAULT_MAX_TOKEN_DAYS
from domain.audit.ports import AuditLog
from domain.catalog.backstage.ports import CatalogImporter
from domain.catalog.ports import CatalogReader, CatalogWriter
from domain.deployments.ports import DeployerKinds, DeploymentStore
from domain.errors import Unavailable, no_outage
from domain.events.ports import EventLog
from domain.idempotency import IdempotencyKeys
from domain.resources.ports import ProvisionerKinds, ResourceStore
from domain.webhooks.ports import WebhookOutbound, WebhookStore
from resolvers.access_loaders import AccessLoaders
from resolvers.deployment_loaders import DeploymentLoaders
from resolvers.event_feed import EventFeed, StreamPosition
from resolvers.live_status import LiveStatusLookup
from resolvers.loaders import Loaders
from resolvers.provisioning import Provisioning
from resolvers.resource_loaders import ResourceLoaders
from resolvers.rollouts import Rollouts


@dataclass(frozen=True, slots=True)
class Ports:
    reader: CatalogReader
    writer: CatalogWriter
    access: AccessStore
    audit: AuditLog
    deployments: DeploymentStore
    deployer_kinds: DeployerKinds
    """The adapters this server can build, under its provider policy."""
    events: EventLog
    rollouts: Rollouts | None = None
    """Hands committed deployments to their providers; None where nothing runs them."""
    live: LiveStatusLookup | None = None
    max_token_days: int = DEFAULT_MAX_TOKEN_DAYS
    """The longest an API token may live (`PAVED_MAX_TOKEN_DAYS`; 0: no limit)."""
    webhooks: WebhookStore | None = None
    webhook_targets: WebhookOutbound | None = None
    """Checks webhook URLs and pings; None where nothing sends webhooks."""
    feed: EventFeed | None = None
    """This process's live events; None where nothing subscribes (commands)."""
    resources: ResourceStore | None = None
    provisioner_kinds: ProvisionerKinds | None = None
    provisioning: Provisioning | None = None
    """Hands committed resources to their providers; None where nothing runs them."""
    idempotency: IdempotencyKeys | None = None
    """Where idempotency keys are kept; None: keys are not honoured (nothing stores them)."""
    outage: Callable[[BaseException], Unavailable | None] = no_outage
    """Tells a database outage (answered UNAVAILABLE) from a bug (INTERNAL)."""
    importer: CatalogImporter | None = None
    access_changed: Callable[[], Awaitable[None]] | None = None
    """Run after a committed change to what tokens may do (the token cache's `settle`)."""


@dataclass(frozen=True, slots=True)
class LoaderSet:
    loaders: Loaders
    access_loaders: AccessLoaders
    deployment_loaders: DeploymentLoaders
    resource_loaders: ResourceLoaders | None


@dataclass(slots=True)
class Context:
    reader: CatalogReader
    writer: CatalogWriter
    access: AccessStore
    audit: AuditLog
    deployments: DeploymentStore
    events: EventLog
    loaders: Loaders
    access_loaders: AccessLoaders
    deployment_loaders: DeploymentLoaders
    principal: Principal
    deployer_kinds: DeployerKinds
    request_id: str | None = None
    rollouts: Rollouts | None = None
    live: LiveStatusLookup | None = None
    max_token_days: int = DEFAULT_MAX_TOKEN_DAYS
    webhooks: WebhookStore | None = None
    webhook_targets: WebhookOutbound | None = None
    feed: EventFeed | None = None
    reauthenticate: Callable[[], Awaitable[Principal]] | None = None
    """A subscription's: who its credential stands for now (raises Unauthenticated once it
    was revoked or expired); None where the principal cannot change (the local admin)."""
    stream: StreamPosition | None = None
    """A subscription's resume point and delivered position, for its transport."""
    resources: ResourceStore | None = None
    provisioner_kinds: ProvisionerKinds | None = None
    provisioning: Provisioning | None = None
    resource_loaders: ResourceLoaders | None = None
    idempotency: IdempotencyKeys | None = None
    outage: Callable[[BaseException], Unavailable | None] = no_outage
    channel: str | None = None
    """The face the request came through when not the GraphQL API itself (`mcp`), for the
    audit log."""
    importer: CatalogImporter | None = None
    access_changed: Callable[[], Awaitable[None]] | None = None

    def forget_loaded(self) -> None:
        """After a change: what this request's loaders hold may be stale."""
        self.use_loaders(self.fresh_loaders())

    def fresh_loaders(self) -> LoaderSet:
        """New, empty loaders over this context's ports (they hold no one's permissions:
        contexts on the same ports may share them)."""
        return LoaderSet(
            Loaders(self.reader),
            AccessLoaders(self.access),
            DeploymentLoaders(self.deployments, self.reader),
            None if self.resources is None else ResourceLoaders(self.resources),
        )

    def use_loaders(self, loader_set: LoaderSet) -> None:
        self.loaders = loader_set.loaders
        self.access_loaders = loader_set.access_loaders
        self.deployment_loaders = loader_set.deployment_loaders
        self.resource_loaders = loader_set.resource_loaders

    @classmethod
    def for_request(
        cls,
        ports: Ports,
        principal: Principal,
        request_id: str | None = None,
        channel: str | None = None,
    ) -> Context:
        return cls(
            reader=ports.reader,
            writer=ports.writer,
            access=ports.access,
            audit=ports.audit,
            deployments=ports.deployments,
            events=ports.events,
            loaders=Loaders(ports.reader),
            access_loaders=AccessLoaders(ports.access),
            deployment_loaders=DeploymentLoaders(ports.deployments, ports.reader),
            principal=principal,
            deployer_kinds=ports.deployer_kinds,
            request_id=request_id,
            rollouts=ports.rollouts,
            live=ports.live,
            max_token_days=ports.max_token_days,
            webhooks=ports.webhooks,
            webhook_targets=ports.webhook_targets,
            feed=ports.feed,
            resources=ports.resources,
            provisioner_kinds=ports.provisioner_kinds,
            provisioning=ports.provisioning,
            resource_loaders=None if ports.resources is None else ResourceLoaders(ports.resources),
            idempotency=ports.idempotency,
            outage=ports.outage,
            channel=channel,
            importer=ports.importer,
            access_changed=ports.access_changed,
        )
