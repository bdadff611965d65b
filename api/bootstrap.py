"""The composition root: settings -> database -> migrations -> pool -> ports -> schema."""

from __future__ import annotations

import asyncio
import functools
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
from providers.deployers.registry import build_deployer
from providers.deployers.secret_sources import SecretSources
from providers.deployers.settings import ProviderPolicy
from providers.outbound.addresses import AddressRule
from providers.postgres.access_store import PostgresAccessStore
from providers.postgres.audit_log import PostgresAuditLog
from providers.postgres.database import EmbeddedPostgres, QueryLogger, create_pool
from providers.postgres.deployments import PostgresDeploymentStore
from providers.postgres.graph_reads import PostgresGraphReader
from providers.postgres.migrations import apply_migrations
from providers.postgres.reads import PostgresCatalogReader
from providers.postgres.writes import PostgresCatalogWriter
from resolvers.context import Ports
from resolvers.deployers_by_environment import DeployerFactory, DeployersByEnvironment
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
async def running(
    settings: Settings, overrides: Overrides | None = None
) -> AsyncIterator[Container]:
    overrides = overrides or Overrides()
    async with database_url(settings) as dsn:
        await migrate(dsn)
        pool = await create_pool(
            dsn,
            min_size=settings.pool_min_size,
            max_size=max(settings.pool_min_size, settings.pool_max_size),
            query_logger=overrides.query_logger,
        )
        audit_log = PostgresAuditLog(pool)
        reader = PostgresCatalogReader(pool)
        deployments = PostgresDeploymentStore(pool, audit_log)
        policy = provider_policy(settings)
        rollouts, live, deployers = _providers(settings, overrides, deployments, reader, policy)
        try:
            if settings.demo and await load_demo_if_empty(pool):
                log.info("loaded the demo organisation")
            access = PostgresAccessStore(pool, audit_log)
            ports = Ports(
                reader=reader,
                writer=PostgresCatalogWriter(pool, audit_log),
                access=access,
                audit=audit_log,
                deployments=deployments,
                rollouts=rollouts,
                live=live,
                max_token_days=settings.max_token_days,
                provider_policy=policy,
            )
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
                        access, oidc, anonymous_is_admin=not settings.production
                    ),
                    schema=build_schema(),
                    rollouts=rollouts,
                    deployers=deployers,
                    live=live,
                )
        finally:
            await rollouts.stop()
            await pool.close()


def provider_policy(settings: Settings) -> ProviderPolicy:
    """What provider settings may name: secrets (`PAVED_SECRETS_DIR`), addresses
    (`PAVED_PROVIDER_ALLOW_PRIVATE`, by default allowed outside production only)."""
    return ProviderPolicy(
        secrets=SecretSources(settings.secrets_dir),
        addresses=AddressRule(allow_private=settings.provider_private_allowed),
    )


def _providers(
    settings: Settings,
    overrides: Overrides,
    store: PostgresDeploymentStore,
    reader: PostgresCatalogReader,
    policy: ProviderPolicy,
) -> tuple[Rollouts, LiveStatusLookup, DeployersByEnvironment]:
    deployers = DeployersByEnvironment(
        store,
        clock=overrides.deployer_clock or time.time,
        build=overrides.deployer_factory or functools.partial(build_deployer, policy=policy),
    )
    rollouts = Rollouts(
        store,
        reader,
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
