"""Plain-SQL migrations: `migrations/NNNN_name.sql`, applied once each, in order."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import resources

import asyncpg

log = logging.getLogger(__name__)

# Any constant works; it only has to be the same for every Paved Road process.
_MIGRATION_LOCK_KEY = 0x7061766564


@dataclass(frozen=True, slots=True)
class Migration:
    version: str
    sql: str


def bundled_migrations() -> list[Migration]:
    folder = resources.files("providers.postgres").joinpath("migrations")
    files = sorted(
        (entry for entry in folder.iterdir() if entry.name.endswith(".sql")),
        key=lambda entry: entry.name,
    )
    return [Migration(entry.name.removesuffix(".sql"), entry.read_text("utf-8")) for entry in files]


async def apply_migrations(connection: asyncpg.Connection) -> list[str]:
    """Apply what is missing, under an advisory lock so concurrent starters wait; returns
    the versions applied now."""
    applied_now: list[str] = []
    await connection.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK_KEY)
    try:
        await connection.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version    text PRIMARY KEY,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done = {
            row["version"]
            for row in await connection.fetch("SELECT version FROM schema_migrations")
        }
        for migration in bundled_migrations():
            if migration.version in done:
                continue
            async with connection.transaction():
                await connection.execute(migration.sql)
                await connection.execute(
                    "INSERT INTO schema_migrations (version) VALUES ($1)", migration.version
                )
            log.info("applied migration %s", migration.version)
            applied_now.append(migration.version)
    finally:
        await connection.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK_KEY)
    return applied_now
