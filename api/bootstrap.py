"""The composition root: settings -> database -> migrations -> pool -> ports -> schema."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
import httpx2 as httpx
import strawberry

from api.authentication import Authenticator
from api.oidc import OidcVerifier
from api.settings import Settings
from providers.postgres.access_store import PostgresAccessStore
from providers.postgres.audit_log import PostgresAuditLog
from providers.postgres.database import EmbeddedPostgres, QueryLogger, create_pool
from providers.postgres.demo import load_demo_if_empty
from providers.postgres.deployments import PostgresDeploymentStore
from providers.postgres.graph_reads import PostgresGraphReader
from providers.postgres.migrations import apply_migrations
from providers.postgres.reads import PostgresCatalogReader
from providers.postgres.writes import PostgresCatalogWriter
from resolvers.context import Ports
from schema.build import build_schema

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Overrides:
    """What tests swap in: a statement observer, later fake providers."""

    query_logger: QueryLogger | None = None


@dataclass(frozen=True, slots=True)
class Container:
    settings: Settings
    pool: asyncpg.Pool
    ports: Ports
    graph_reader: PostgresGraphReader
    authenticator: Authenticator
    schema: strawberry.Schema


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
        try:
            if settings.demo and await load_demo_if_empty(pool):
                log.info("loaded the demo organisation")
            audit_log = PostgresAuditLog(pool)
            access = PostgresAccessStore(pool, audit_log)
            ports = Ports(
                reader=PostgresCatalogReader(pool),
                writer=PostgresCatalogWriter(pool, audit_log),
                access=access,
                audit=audit_log,
                deployments=PostgresDeploymentStore(pool, audit_log),
            )
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
                )
        finally:
            await pool.close()
