"""The composition root: settings -> database -> migrations -> pool -> ports -> schema.

The server (`running`) and the `paved` administration commands build their ports here."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
import httpx2 as httpx
import strawberry

from api.authentication import Authenticator
from api.oidc import OidcVerifier
from api.settings import Settings
from demo.organisation import load_demo_if_empty
from domain.events.ports import EventLog
from providers.deployers.registry import DeployerRegistry
from providers.deployers.secret_sources import SecretSources
from providers.deployers.settings import ProviderPolicy
from providers.outbound.addresses import AddressRule
from providers.postgres.access_store import PostgresAccessStore
from providers.postgres.audit_log import PostgresAuditLog
from providers.postgres.database import EmbeddedPostgres, QueryLogger, create_pool
from providers.postgres.deployments import PostgresDeploymentStore
from providers.postgres.events import PostgresEventLog
from providers.postgres.graph_reads import PostgresGraphReader
from providers.postgres.migrations import apply_migrations
from providers.postgres.notifications import PostgresWakeups
from providers.postgres.reads import PostgresCatalogReader
from providers.postgres.writes import PostgresCatalogWriter
from resolvers.context import Ports
from resolvers.deployers_by_environment import DeployerFactory, DeployersByEnvironment
from resolvers.event_feed import EventFeed
from resolvers.live_status import LiveStatusLookup
from resolvers.rollouts import Rollouts
from schema.build import build_schema

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Overrides:
    """What tests swap in: a statement observer, provider adapters, their clock."""

    query_logger: QueryLogger | None = None
    deployer_factory: DeployerFactory | None = None
    deployer_clock: Callable[[], float] | None = None


@dataclass(frozen=True, slots=True)
class Container:
    settings: Settings
    pool: asyncpg.Pool
    ports: Ports
    graph_reader: PostgresGraphReader
    authenticator: Authenticator
    schema: strawberry.Schema
    rollouts: Rollouts
    deployers: DeployersByEnvironment
    live: LiveStatusLookup
    feed: EventFeed


@asynccontextmanager
async def database_url(settings: Settings) -> AsyncIterator[str]:
    """`DATABASE_URL` when set; otherwise an embedded server, stopped on exit."""
    if settings.database_url:
        yield settings.database_url
        return
    embedded = EmbeddedPostgres(settings.data_dir)
    dsn = await asyncio.to_thread(embedded.start)
    try:
        yield dsn
    finally:
        await asyncio.to_thread(embedded.stop)


async def migrate(dsn: str) -> list[str]:
    connection = await asyncpg.connect(dsn)
    try:
        return await apply_migrations(connection)
    finally:
        await connection.close()


@asynccontextmanager
async def database(
    settings: Settings, *, min_size: int, max_size: int, query_logger: QueryLogger | None = None
) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the migrated database (`database_url`), closed on exit."""
    async with _database(settings, min_size, max_size, query_logger) as (_, pool):
        yield pool


@asynccontextmanager
async def _database(
    settings: Settings, min_size: int, max_size: int, query_logger: QueryLogger | None
) -> AsyncIterator[tuple[str, asyncpg.Pool]]:
    """The migrated database's URL and a pool on it, closed on exit."""
    async with database_url(settings) as dsn:
        await migrate(dsn)
        pool = await create_pool(
            dsn, min_size=min_size, max_size=max_size, query_logger=query_logger
        )
        try:
            yield dsn, pool
        finally:
            await pool.close()


def build_ports(settings: Settings, pool: asyncpg.Pool) -> Ports:
    """The stores on `pool` and the limits the use cases apply: what the server and the
    `paved` administration commands share. Nothing here runs deployments; the server adds
    its rollouts and live status (see `running`)."""
    audit_log = PostgresAuditLog(pool)
    return Ports(
        reader=PostgresCatalogReader(pool),
        writer=PostgresCatalogWriter(pool, audit_log),
        access=PostgresAccessStore(pool, audit_log),
        audit=audit_log,
        deployments=PostgresDeploymentStore(pool, audit_log),
        max_token_days=settings.max_token_days,
        deployer_kinds=DeployerRegistry(provider_policy(settings)),
        events=PostgresEventLog(pool),
    )


@asynccontextmanager
async def command_ports(settings: Settings) -> AsyncIterator[Ports]:
    """The ports of one `paved` administration command: a small pool, no rollouts."""
    async with database(settings, min_size=1, max_size=2) as pool:
        yield build_ports(settings, pool)


@asynccontextmanager
async def running(
    settings: Settings, overrides: Overrides | None = None
) -> AsyncIterator[Container]:
    overrides = overrides or Overrides()
    async with _database(
        settings,
        settings.pool_min_size,
        max(settings.pool_min_size, settings.pool_max_size),
        overrides.query_logger,
    ) as (dsn, pool):
        ports = build_ports(settings, pool)
        rollouts, live, deployers = _providers(settings, overrides, ports)
        # The feed reads on a connection of its own: outside the request pool (and what
        # counts its statements), the same one statement per wake-up whoever subscribes.
        feed_pool = await create_pool(dsn, min_size=1, max_size=1)
        feed = event_feed(settings, dsn, PostgresEventLog(feed_pool))
        ports = dataclasses.replace(ports, rollouts=rollouts, live=live, feed=feed)
        try:
            await feed.start()
            if settings.demo and await load_demo_if_empty(pool):
                log.info("loaded the demo organisation")
            resumed = await rollouts.resume_unfinished()
            if resumed:
                log.info("resumed %d unfinished deployments", resumed)
            async with httpx.AsyncClient() as http:
                oidc = OidcVerifier.from_settings(settings, http) if settings.oidc_enabled else None
                if not settings.production:
                    log.warning(
                        "development mode: requests without credentials act as the local admin"
                    )
                yield Container(
                    settings=settings,
                    pool=pool,
                    ports=ports,
                    graph_reader=PostgresGraphReader(pool),
                    authenticator=Authenticator(
                        ports.access, oidc, anonymous_is_admin=not settings.production
                    ),
                    schema=build_schema(),
                    rollouts=rollouts,
                    deployers=deployers,
                    live=live,
                    feed=feed,
                )
        finally:
            await feed.stop()
            await feed_pool.close()
            await rollouts.stop()


def event_feed(settings: Settings, dsn: str, events: EventLog) -> EventFeed:
    """This process's live events: woken by `LISTEN` on its own connection, polling as a
    fallback (`PAVED_EVENT_POLL_SECONDS`)."""
    wakeups = PostgresWakeups(
        dsn,
        check_seconds=max(settings.event_poll_seconds, 1.0),
        retry_seconds=min(settings.event_poll_seconds, 1.0),
    )
    return EventFeed(
        events,
        wakeups,
        poll_seconds=settings.event_poll_seconds,
        queue_size=settings.subscriber_queue_size,
    )


def provider_policy(settings: Settings) -> ProviderPolicy:
    """What provider settings may name: secrets (`PAVED_SECRETS_DIR`), addresses
    (`PAVED_PROVIDER_ALLOW_PRIVATE`, by default allowed outside production only)."""
    return ProviderPolicy(
        secrets=SecretSources(settings.secrets_dir),
        addresses=AddressRule(allow_private=settings.provider_private_allowed),
    )


def _providers(
    settings: Settings, overrides: Overrides, ports: Ports
) -> tuple[Rollouts, LiveStatusLookup, DeployersByEnvironment]:
    deployers = DeployersByEnvironment(
        ports.deployments,
        clock=overrides.deployer_clock or time.time,
        build=overrides.deployer_factory or ports.deployer_kinds.build,
    )
    rollouts = Rollouts(
        ports.deployments,
        ports.reader,
        deployers,
        call_deadline_seconds=settings.provider_deadline_seconds,
        poll_seconds=settings.rollout_poll_seconds,
    )
    live = LiveStatusLookup(
        deployers,
        deadline_seconds=settings.live_status_deadline_seconds,
        cache_seconds=settings.live_status_cache_seconds,
    )
    return rollouts, live, deployers
