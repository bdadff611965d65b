"""Reset the database, apply the project's migrations and seed a large catalog and a
deployment history with set-based `INSERT ... SELECT generate_series` statements (a few
seconds for 10,000 services, about half a minute more for 1,000,000 deployments)."""

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
    deployments: int = 0


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

# Inserted in pipeline order: ids 1..4 are development, qa, staging, production.
ENVIRONMENT_SLUGS = ("development", "qa", "staging", "production")
_ENVIRONMENTS = """
INSERT INTO environments (slug, name, description, tier) VALUES
    ('development', 'Development', 'Shared development', 'DEVELOPMENT'),
    ('qa', 'QA', 'Integration and acceptance tests', 'TESTING'),
    ('staging', 'Staging', 'Pre-release checks', 'STAGING'),
    ('production', 'Production', 'Live traffic', 'PRODUCTION')
"""

# $1 deployments in all, spread over every service x environment pair by weight (development
# busiest, production least; some services 4x busier than others) so that the counts add up to
# exactly $1. Per pair, numbers 1..n over the last year, created_at increasing with the number;
# exactly one SUCCEEDED (the current one, number n, or n - 1 when the last attempt FAILED or was
# CANCELED, on 1 pair in 20 / 50); before it, mostly INACTIVE, 1 in 40 ROLLED_BACK (followed by
# a ROLLBACK to the version before it) and 1 in 40 FAILED. Rows are inserted in created_at
# order, so ids and the heap follow time as in a real history. No status events, and nothing
# unfinished: `paved serve` resumes unfinished deployments when it starts, and its runner would
# then write to the history (and to pg_stat_statements) while the benchmark measures.
_DEPLOYMENTS = """
INSERT INTO deployments (service_id, environment_id, number, version, commit_sha, kind, state,
                         provider, requested_by_kind, requested_by_id, requested_by_name,
                         created_at, started_at, finished_at)
WITH weighted AS (
    SELECT s.id AS service_id, e.id AS environment_id,
           e.weight * (1 + abs(hashint8(s.id)) % 4) AS weight
    FROM services s
    CROSS JOIN (SELECT id, CASE slug WHEN 'development' THEN 4 WHEN 'qa' THEN 3 ELSE 2 END
                FROM environments) AS e (id, weight)
), cumulative AS (
    SELECT service_id, environment_id,
           sum(weight) OVER (ORDER BY service_id, environment_id) AS upto,
           weight, sum(weight) OVER () AS total
    FROM weighted
), pairs AS (
    SELECT service_id, environment_id,
           ($1::bigint * upto / total - $1::bigint * (upto - weight) / total)::int AS n,
           abs(hashint8(service_id * 16 + environment_id)) AS h
    FROM cumulative
), ends AS (
    SELECT service_id, environment_id, n,
           CASE WHEN n > 1 AND h % 20 = 0 THEN 'FAILED'
                WHEN n > 1 AND h % 50 = 1 THEN 'CANCELED' END AS tail
    FROM pairs WHERE n > 0
), numbered AS (
    SELECT ends.*, n - (tail IS NOT NULL)::int AS cur, k,
           abs(hashint8((service_id * 16 + environment_id) * 1000003 + k)) AS hk,
           k > 1 AND k < n - (tail IS NOT NULL)::int
               AND abs(hashint8((service_id * 16 + environment_id) * 1000003 + k)) % 40 = 0
               AS rolled_back,
           k > 2 AND k <= n - (tail IS NOT NULL)::int
               AND abs(hashint8((service_id * 16 + environment_id) * 1000003 + k - 1)) % 40 = 0
               AS rollback
    FROM ends CROSS JOIN LATERAL generate_series(1, n) AS k
), shaped AS (
    SELECT service_id, environment_id, k,
           '1.' || CASE WHEN rollback THEN k - 2 ELSE k END || '.0' AS version,
           CASE WHEN rollback THEN 'ROLLBACK'
                WHEN environment_id > 1 AND hk % 3 = 0 THEN 'PROMOTION' ELSE 'DEPLOY' END AS kind,
           CASE WHEN k = cur THEN 'SUCCEEDED'
                WHEN k > cur THEN tail
                WHEN rolled_back THEN 'ROLLED_BACK'
                WHEN hk % 40 = 1 AND NOT rollback THEN 'FAILED'
                ELSE 'INACTIVE' END AS state,
           1 + hk % $2 AS user_id,
           now() - interval '365 days'
               + interval '365 days' * ((k - 1) + (hk % 1000) / 2000.0) / n AS created_at,
           hk
    FROM numbered
)
SELECT service_id, environment_id, k, version,
       md5(service_id || '/' || version) || lpad(to_hex(service_id), 8, '0'),
       kind, state, 'simulated', 'user', user_id,
       'user-' || lpad(user_id::text, $3, '0'),
       created_at,
       created_at + make_interval(secs => 5 + hk % 55),
       created_at + make_interval(secs => 35 + hk % 55 + hk % 570)
FROM shaped
ORDER BY created_at
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
        if sizes.deployments:
            started = time.perf_counter()
            await connection.execute("SET LOCAL work_mem = '256MB'")
            await connection.execute(
                _DEPLOYMENTS, sizes.deployments, sizes.users, slug_width(sizes.users)
            )
            log.info(
                "inserted %s deployments in %.1f s",
                f"{sizes.deployments:,}",
                time.perf_counter() - started,
            )
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
