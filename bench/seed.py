"""Reset the database, apply the project's migrations and seed a large catalog with
set-based `INSERT ... SELECT generate_series` statements (seconds for 10,000 services)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import asyncpg

from providers.postgres.migrations import apply_migrations
from providers.postgres.tables import CATALOG_TABLES

log = logging.getLogger("bench")

DEPENDENCIES_PER_SERVICE = 3
ROOT_TEAMS = 5
TEAM_FANOUT = 5
LOOKUP_SERVICE = 42
TABLES = CATALOG_TABLES


@dataclass(frozen=True, slots=True)
class Sizes:
    services: int
    teams: int
    users: int


@dataclass(frozen=True, slots=True)
class DatabaseInfo:
    server_version: str
    row_counts: dict[str, int]
    seconds: float
    statements_available: bool


def slug_width(count: int) -> int:
    """Digits in generated slugs: at least 5, more when a count needs them."""
    return max(5, len(str(count)))


def lookup_slug(sizes: Sizes) -> str:
    """The slug of a seeded service for the single-lookup query."""
    number = min(LOOKUP_SERVICE, sizes.services)
    return f"svc-{number:0{slug_width(sizes.services)}d}"


# Names start with a hash so that name order (the default page order) is unrelated to ids:
# a page of services then depends on services outside it, as in a real catalog.
_TEAMS = f"""
INSERT INTO teams (id, slug, name, description, parent_id) OVERRIDING SYSTEM VALUE
SELECT i, 'team-' || lpad(i::text, $2, '0'), 'Team ' || upper(left(md5('t' || i), 6)) || ' ' || i,
       'Benchmark team ' || i,
       CASE WHEN i <= {ROOT_TEAMS} THEN NULL ELSE (i - 1) / {TEAM_FANOUT} END
FROM generate_series(1, $1::bigint) AS i
"""

_USERS = """
INSERT INTO users (id, handle, name, email) OVERRIDING SYSTEM VALUE
SELECT i, 'user-' || lpad(i::text, $2, '0'), 'User ' || i,
       'user-' || lpad(i::text, $2, '0') || '@example.com'
FROM generate_series(1, $1::bigint) AS i
"""

# Every user is in one team (round robin); every even-numbered user in a second, other one.
_FIRST_MEMBERSHIPS = """
INSERT INTO team_members (team_id, user_id)
SELECT 1 + (u - 1) % $2, u FROM generate_series(1, $1::bigint) AS u
"""

_SECOND_MEMBERSHIPS = """
INSERT INTO team_members (team_id, user_id)
SELECT 1 + ((u - 1) % $2 + 1 + (u * 31) % ($2 - 1)) % $2, u
FROM generate_series(1, $1::bigint) AS u
WHERE u % 2 = 0
ON CONFLICT DO NOTHING
"""

_SERVICES = """
INSERT INTO services (id, slug, name, description, lifecycle, tier, tags, repository_url,
                      created_at, updated_at) OVERRIDING SYSTEM VALUE
SELECT i, 'svc-' || lpad(i::text, $2, '0'), 'Service ' || upper(left(md5('s' || i), 6)) || ' ' || i,
       'Benchmark service ' || i,
       (ARRAY['EXPERIMENTAL', 'PRODUCTION', 'PRODUCTION', 'DEPRECATED'])[1 + i % 4],
       CASE WHEN i % 10 = 0 THEN NULL ELSE 1 + i % 4 END,
       ARRAY['bench', 'group-' || i % 20],
       'https://git.example.com/bench/svc-' || i,
       now() - make_interval(secs => $1 - i),
       now() - make_interval(secs => $1 - i)
FROM generate_series(1, $1::bigint) AS i
"""

_PRIMARY_OWNERS = """
INSERT INTO service_owners (service_id, team_id, role)
SELECT i, 1 + (i * 7) % $2, 'PRIMARY' FROM generate_series(1, $1::bigint) AS i
"""

# Every third service also has a contributor team, never its primary one.
_CONTRIBUTORS = """
INSERT INTO service_owners (service_id, team_id, role)
SELECT i, 1 + ((i * 7) % $2 + 1 + i % ($2 - 1)) % $2, 'CONTRIBUTOR'
FROM generate_series(1, $1::bigint) AS i
WHERE i % 3 = 0
"""

# A service depends only on older (lower-numbered) services, so the graph is acyclic.
_DEPENDENCIES = """
INSERT INTO service_dependencies (service_id, depends_on_id)
SELECT i, 1 + abs(hashint8(i * 16 + k)::bigint) % (i - 1)
FROM generate_series(2, $1::bigint) AS i, generate_series(1, $2) AS k
ON CONFLICT DO NOTHING
"""

_ENVIRONMENTS = """
INSERT INTO environments (slug, name, description, tier) VALUES
    ('production', 'Production', 'Live traffic', 'PRODUCTION'),
    ('staging', 'Staging', 'Pre-release checks', 'STAGING'),
    ('development', 'Development', 'Shared development', 'DEVELOPMENT')
"""


async def reset_schema(connection: asyncpg.Connection) -> None:
    await connection.execute("DROP SCHEMA IF EXISTS public CASCADE")
    await connection.execute("CREATE SCHEMA public")


async def enable_statements(connection: asyncpg.Connection) -> bool:
    """Create pg_stat_statements if the server preloads it; False when unavailable."""
    try:
        await connection.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        await connection.fetchval("SELECT count(*) FROM pg_stat_statements")
    except asyncpg.PostgresError as error:
        log.info("pg_stat_statements unavailable (%s); skipping SQL counts", error)
        return False
    return True


async def seed(connection: asyncpg.Connection, sizes: Sizes) -> None:
    width_services = slug_width(sizes.services)
    async with connection.transaction():
        await connection.execute(_TEAMS, sizes.teams, slug_width(sizes.teams))
        await connection.execute(_USERS, sizes.users, slug_width(sizes.users))
        await connection.execute(_FIRST_MEMBERSHIPS, sizes.users, sizes.teams)
        await connection.execute(_SERVICES, sizes.services, width_services)
        await connection.execute(_PRIMARY_OWNERS, sizes.services, sizes.teams)
        if sizes.teams > 1:
            await connection.execute(_SECOND_MEMBERSHIPS, sizes.users, sizes.teams)
            await connection.execute(_CONTRIBUTORS, sizes.services, sizes.teams)
        if sizes.services > 1:
            await connection.execute(_DEPENDENCIES, sizes.services, DEPENDENCIES_PER_SERVICE)
        await connection.execute(_ENVIRONMENTS)
        # Rows were inserted with explicit ids: move the identity sequences past them.
        for table in ("teams", "users", "services"):
            await connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"
            )
    await connection.execute("VACUUM (ANALYZE)")


async def row_counts(connection: asyncpg.Connection) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table in TABLES:
        counts[table] = int(await connection.fetchval(f"SELECT count(*) FROM {table}"))
    return counts


async def prepare_database(dsn: str, sizes: Sizes) -> DatabaseInfo:
    """Drop and recreate the public schema, migrate, seed; report what is there."""
    started = time.perf_counter()
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("SET synchronous_commit = off")
        await reset_schema(connection)
        applied = await apply_migrations(connection)
        log.info("applied migrations: %s", ", ".join(applied) or "none")
        statements = await enable_statements(connection)
        await seed(connection, sizes)
        counts = await row_counts(connection)
        version = str(await connection.fetchval("SHOW server_version"))
    finally:
        await connection.close()
    seconds = time.perf_counter() - started
    log.info("seeded in %.1f s: %s", seconds, counts)
    return DatabaseInfo(version, counts, seconds, statements)
