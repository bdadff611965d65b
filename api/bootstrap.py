"""The composition root: settings -> database -> migrations -> pool -> ports -> schema."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
import strawberry

from api.settings import Settings
from providers.postgres.database import EmbeddedPostgres, QueryLogger, create_pool
from providers.postgres.demo import load_demo_if_empty
from providers.postgres.graph_reads import PostgresGraphReader
from providers.postgres.migrations import apply_migrations
from providers.postgres.reads import PostgresCatalogReader
from providers.postgres.writes import PostgresCatalogWriter
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
    reader: PostgresCatalogReader
    graph_reader: PostgresGraphReader
    writer: PostgresCatalogWriter
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
            yield Container(
                settings=settings,
                pool=pool,
                reader=PostgresCatalogReader(pool),
                graph_reader=PostgresGraphReader(pool),
                writer=PostgresCatalogWriter(pool),
                schema=build_schema(),
            )
        finally:
            await pool.close()
