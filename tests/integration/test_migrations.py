"""Migrations from empty, on brand-new databases: order, idempotence, concurrent starters,
the constraints the catalog relies on, and `paved migrate`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from providers.postgres.migrations import apply_migrations, bundled_migrations
from providers.postgres.tables import CATALOG_TABLES
from tests.support.processes import (
    clean_environment,
    database_name,
    migrated_scratch_database,
    run_paved,
    scratch_database,
    with_database,
)


def bundled_versions() -> list[str]:
    return [migration.version for migration in bundled_migrations()]


@pytest.mark.parametrize(
    ("dsn", "expected"),
    [
        (
            "postgresql://postgres:@/postgres?host=/tmp/pytest-of-me/embedded0/pg",
            "postgresql://postgres:@/scratch_1?host=/tmp/pytest-of-me/embedded0/pg",
        ),
        (
            "postgresql://postgres@127.0.0.1:5432/test",
            "postgresql://postgres@127.0.0.1:5432/scratch_1",
        ),
        (
            "postgres://u:p%40ss@db.example:6543/app?sslmode=require",
            "postgres://u:p%40ss@db.example:6543/scratch_1?sslmode=require",
        ),
        ("postgresql://postgres@localhost", "postgresql://postgres@localhost/scratch_1"),
        ("postgresql:///test?host=/run/pg", "postgresql:///scratch_1?host=/run/pg"),
        (
            "postgresql://postgres@/?host=/run/pg&dbname=test",
            "postgresql://postgres@/scratch_1?host=/run/pg&dbname=scratch_1",
        ),
    ],
)
def test_with_database(dsn: str, expected: str) -> None:
    scratch = with_database(dsn, "scratch_1")
    assert scratch == expected
    assert database_name(scratch) == "scratch_1"


async def test_scratch_database_is_new_and_dropped_afterwards(database_url: str) -> None:
    async with scratch_database(database_url) as dsn:
        name = database_name(dsn)
        connection = await asyncpg.connect(dsn)
        try:
            assert await connection.fetchval("SELECT current_database()") == name
            assert await connection.fetchval("SELECT to_regclass('schema_migrations')") is None
        finally:
            await connection.close()
    admin = await asyncpg.connect(database_url)
    try:
        assert not await admin.fetchval(
            "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", name
        )
    finally:
        await admin.close()


# --- applying ---------------------------------------------------------------------------


def test_bundled_migrations_are_numbered_in_order() -> None:
    versions = bundled_versions()
    assert versions, "no migrations bundled"
    assert versions == sorted(versions)
    assert len(set(versions)) == len(versions)
    for version in versions:
        number, _, name = version.partition("_")
        assert len(number) == 4, version
        assert number.isdigit(), version
        assert name, version
    assert [int(version[:4]) for version in versions] == list(range(1, len(versions) + 1))
    assert all(migration.sql.strip() for migration in bundled_migrations())


async def test_migrations_from_empty_apply_all_in_order_then_nothing(database_url: str) -> None:
    async with scratch_database(database_url) as dsn:
        connection = await asyncpg.connect(dsn)
        try:
            assert await apply_migrations(connection) == bundled_versions()
            recorded = await connection.fetch(
                "SELECT version, applied_at FROM schema_migrations ORDER BY applied_at, version"
            )
            assert [row["version"] for row in recorded] == bundled_versions()
            assert all(row["applied_at"] is not None for row in recorded)

            assert await apply_migrations(connection) == []
            assert await connection.fetchval("SELECT count(*) FROM schema_migrations") == len(
                bundled_versions()
            )
            # The advisory lock is released: this session holds none.
            assert (
                await connection.fetchval(
                    "SELECT count(*) FROM pg_locks"
                    " WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
                )
                == 0
            )
        finally:
            await connection.close()


async def test_a_new_connection_finds_nothing_to_apply(database_url: str) -> None:
    async with scratch_database(database_url) as dsn:
        first = await asyncpg.connect(dsn)
        try:
            assert await apply_migrations(first) == bundled_versions()
        finally:
            await first.close()
        second = await asyncpg.connect(dsn)
        try:
            assert await apply_migrations(second) == []
        finally:
            await second.close()


async def test_concurrent_applies_run_each_migration_exactly_once(database_url: str) -> None:
    async with scratch_database(database_url) as dsn:
        connections = await asyncio.gather(*(asyncpg.connect(dsn) for _ in range(3)))
        try:
            results = await asyncio.gather(*(apply_migrations(c) for c in connections))
            # Under the lock, the first starter applies everything; the others find it done.
            assert sorted(results, key=len, reverse=True) == [bundled_versions(), [], []]
            rows = await connections[0].fetch("SELECT version FROM schema_migrations")
            assert sorted(row["version"] for row in rows) == bundled_versions()
            tables = await _public_tables(connections[0])
            assert tables >= set(CATALOG_TABLES)
        finally:
            await asyncio.gather(*(c.close() for c in connections))


async def test_a_failing_migration_leaves_nothing_behind_and_releases_the_lock(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from providers.postgres import migrations

    broken = migrations.Migration("9999_broken", "CREATE TABLE half_done (id int); SELECT 1/0;")
    monkeypatch.setattr(migrations, "bundled_migrations", lambda: [*bundled_migrations(), broken])
    async with scratch_database(database_url) as dsn:
        connection = await asyncpg.connect(dsn)
        try:
            with pytest.raises(asyncpg.DivisionByZeroError):
                await apply_migrations(connection)
            assert await connection.fetchval("SELECT to_regclass('half_done')") is None
            rows = await connection.fetch("SELECT version FROM schema_migrations")
            assert sorted(row["version"] for row in rows) == bundled_versions()
            assert (
                await connection.fetchval(
                    "SELECT count(*) FROM pg_locks"
                    " WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
                )
                == 0
            )
            monkeypatch.undo()
            assert await apply_migrations(connection) == []
        finally:
            await connection.close()


# --- what the schema guarantees ---------------------------------------------------------


async def _public_tables(connection: asyncpg.Connection) -> set[str]:
    rows = await connection.fetch(
        "SELECT table_name FROM information_schema.tables"
        " WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
    )
    return {row["table_name"] for row in rows}


@pytest.fixture(scope="module")
async def migrated_scratch(database_url: str) -> AsyncIterator[str]:
    async with migrated_scratch_database(database_url) as dsn:
        yield dsn


@pytest.fixture
async def db(migrated_scratch: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the migrated scratch database, inside a transaction rolled back after."""
    connection = await asyncpg.connect(migrated_scratch)
    try:
        transaction = connection.transaction()
        await transaction.start()
        try:
            yield connection
        finally:
            await transaction.rollback()
    finally:
        await connection.close()


async def _team(db: asyncpg.Connection, slug: str) -> int:
    team_id: int = await db.fetchval(
        "INSERT INTO teams (slug, name) VALUES ($1, $1) RETURNING id", slug
    )
    return team_id


async def _service(db: asyncpg.Connection, slug: str) -> int:
    service_id: int = await db.fetchval(
        "INSERT INTO services (slug, name) VALUES ($1, $1) RETURNING id", slug
    )
    return service_id


async def test_the_catalog_tables_exist(db: asyncpg.Connection) -> None:
    assert await _public_tables(db) == {*CATALOG_TABLES, "schema_migrations", "audit_events"}


async def test_a_service_has_at_most_one_primary_owner(db: asyncpg.Connection) -> None:
    service = await _service(db, "checkout-api")
    first, second, third = [await _team(db, slug) for slug in ("a", "b", "c")]
    insert = "INSERT INTO service_owners (service_id, team_id, role) VALUES ($1, $2, $3)"
    await db.execute(insert, service, first, "PRIMARY")
    await db.execute(insert, service, third, "CONTRIBUTOR")
    with pytest.raises(asyncpg.UniqueViolationError) as caught:
        async with db.transaction():
            await db.execute(insert, service, second, "PRIMARY")
    assert caught.value.constraint_name == "service_owners_one_primary"
    # Another service may have its own primary owner.
    await db.execute(insert, await _service(db, "cart-api"), second, "PRIMARY")


async def test_a_team_owns_a_service_once(db: asyncpg.Connection) -> None:
    service, team = await _service(db, "svc"), await _team(db, "team")
    insert = "INSERT INTO service_owners (service_id, team_id, role) VALUES ($1, $2, $3)"
    await db.execute(insert, service, team, "CONTRIBUTOR")
    with pytest.raises(asyncpg.UniqueViolationError):
        await db.execute(insert, service, team, "PRIMARY")


async def test_a_service_cannot_depend_on_itself(db: asyncpg.Connection) -> None:
    service = await _service(db, "loopy")
    with pytest.raises(asyncpg.CheckViolationError) as caught:
        await db.execute(
            "INSERT INTO service_dependencies (service_id, depends_on_id) VALUES ($1, $1)",
            service,
        )
    assert caught.value.constraint_name == "service_dependencies_not_self"


async def test_a_dependency_is_recorded_once(db: asyncpg.Connection) -> None:
    web, api = await _service(db, "web"), await _service(db, "api")
    insert = "INSERT INTO service_dependencies (service_id, depends_on_id) VALUES ($1, $2)"
    await db.execute(insert, web, api)
    await db.execute(insert, api, web)  # the schema allows cycles; the rules forbid them
    with pytest.raises(asyncpg.UniqueViolationError):
        await db.execute(insert, web, api)


@pytest.mark.parametrize(
    ("statement", "value"),
    [
        ("INSERT INTO services (slug, name, lifecycle) VALUES ('s', 's', $1)", "RETIRED"),
        ("INSERT INTO services (slug, name, lifecycle) VALUES ('s', 's', $1)", "production"),
        ("INSERT INTO services (slug, name, tier) VALUES ('s', 's', $1)", 0),
        ("INSERT INTO services (slug, name, tier) VALUES ('s', 's', $1)", 5),
        ("INSERT INTO environments (slug, name, tier) VALUES ('e', 'e', $1)", "PROD"),
    ],
    ids=["lifecycle-unknown", "lifecycle-lowercase", "tier-0", "tier-5", "environment-tier"],
)
async def test_enumerations_outside_their_values_violate_a_check(
    db: asyncpg.Connection, statement: str, value: str | int
) -> None:
    with pytest.raises(asyncpg.CheckViolationError):
        await db.execute(statement, value)


async def test_every_lifecycle_and_tier_value_is_accepted(db: asyncpg.Connection) -> None:
    for index, lifecycle in enumerate(("EXPERIMENTAL", "PRODUCTION", "DEPRECATED")):
        await db.execute(
            "INSERT INTO services (slug, name, lifecycle, tier) VALUES ($1, $1, $2, $3)",
            f"s{index}",
            lifecycle,
            index + 1,
        )
    await db.execute("INSERT INTO services (slug, name) VALUES ('defaults', 'd')")
    row = await db.fetchrow(
        "SELECT lifecycle, tier, tags, version FROM services WHERE slug = 'defaults'"
    )
    assert row is not None
    assert (row["lifecycle"], row["tier"], row["tags"], row["version"]) == (
        "EXPERIMENTAL",
        None,
        [],
        1,
    )


async def test_an_ownership_role_outside_the_enum_violates_a_check(db: asyncpg.Connection) -> None:
    service, team = await _service(db, "svc"), await _team(db, "team")
    with pytest.raises(asyncpg.CheckViolationError):
        await db.execute(
            "INSERT INTO service_owners (service_id, team_id, role) VALUES ($1, $2, 'OWNER')",
            service,
            team,
        )


async def test_a_team_cannot_be_its_own_parent(db: asyncpg.Connection) -> None:
    team = await _team(db, "platform")
    with pytest.raises(asyncpg.CheckViolationError) as caught:
        await db.execute("UPDATE teams SET parent_id = id WHERE id = $1", team)
    assert caught.value.constraint_name == "teams_not_own_parent"


async def test_slugs_and_emails_are_unique(db: asyncpg.Connection) -> None:
    await _team(db, "platform")
    with pytest.raises(asyncpg.UniqueViolationError):
        async with db.transaction():
            await _team(db, "platform")
    await _service(db, "api")
    with pytest.raises(asyncpg.UniqueViolationError):
        async with db.transaction():
            await _service(db, "api")
    insert_user = "INSERT INTO users (handle, name, email) VALUES ($1, $1, $2)"
    await db.execute(insert_user, "ada", "Ada@Example.com")
    with pytest.raises(asyncpg.UniqueViolationError) as caught:
        await db.execute(insert_user, "ada2", "ada@example.COM")
    assert caught.value.constraint_name == "users_email_key"


async def test_references_are_enforced(db: asyncpg.Connection) -> None:
    service, team = await _service(db, "svc"), await _team(db, "team")
    await db.execute(
        "INSERT INTO service_owners (service_id, team_id, role) VALUES ($1, $2, 'PRIMARY')",
        service,
        team,
    )
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        async with db.transaction():
            await db.execute(
                "INSERT INTO service_owners (service_id, team_id, role)"
                " VALUES ($1, $2, 'CONTRIBUTOR')",
                service,
                team + 1000,
            )
    # A team that owns a service cannot be deleted; deleting the service drops its owners.
    # (PostgreSQL 18 reports ON DELETE RESTRICT as restrict_violation, older ones as a
    # foreign_key_violation.)
    with pytest.raises((asyncpg.RestrictViolationError, asyncpg.ForeignKeyViolationError)):
        async with db.transaction():
            await db.execute("DELETE FROM teams WHERE id = $1", team)
    await db.execute("DELETE FROM services WHERE id = $1", service)
    assert await db.fetchval("SELECT count(*) FROM service_owners") == 0
    await db.execute("DELETE FROM teams WHERE id = $1", team)


async def test_ids_are_generated(db: asyncpg.Connection) -> None:
    with pytest.raises(asyncpg.GeneratedAlwaysError):
        await db.execute("INSERT INTO teams (id, slug, name) VALUES (1, 'x', 'x')")


# --- `paved migrate` --------------------------------------------------------------------


async def test_paved_migrate_applies_to_database_url(database_url: str, tmp_path: Path) -> None:
    async with scratch_database(database_url) as dsn:
        env = clean_environment(DATABASE_URL=dsn)
        code, out, err = await run_paved(tmp_path, env, "migrate")
        assert code == 0, err
        versions = bundled_versions()
        assert out == f"applied {len(versions)} migration(s): {', '.join(versions)}\n", err
        assert "Traceback" not in err

        connection = await asyncpg.connect(dsn)
        try:
            assert await _public_tables(connection) == {
                *CATALOG_TABLES,
                "schema_migrations",
                "audit_events",
            }
            # Migrating never loads the demo organisation.
            assert await connection.fetchval("SELECT count(*) FROM teams") == 0
        finally:
            await connection.close()

        code, out, err = await run_paved(tmp_path, env, "migrate")
        assert code == 0, err
        assert out == "applied 0 migration(s)\n"
        # Nothing embedded was started.
        assert not (tmp_path / ".paved").exists()


async def test_paved_migrate_without_database_url_exits_2(tmp_path: Path) -> None:
    code, out, err = await run_paved(tmp_path, clean_environment(), "migrate")
    assert code == 2
    assert out == ""
    assert err.splitlines() == ["paved: set DATABASE_URL to the database to migrate"]
    assert not (tmp_path / ".paved").exists()


@pytest.mark.parametrize(
    "command", [("migrate",), ("serve",), ("user", "create", "--handle", "a", "--name", "A")]
)
async def test_an_unusable_database_url_is_one_line_and_exit_2(
    database_url: str, tmp_path: Path, command: tuple[str, ...]
) -> None:
    """Refused connections and refused logins alike; the password never shows."""
    real = urlsplit(database_url)
    where = (real.hostname or "") + (f":{real.port}" if real.port else "")
    unknown_role = real._replace(netloc=f"no_such_role:s3cret@{where}")
    for dsn, reason in (
        ("postgresql://paved:s3cret@127.0.0.1:1/paved", "ConnectionRefusedError"),
        (urlunsplit(unknown_role), "no_such_role"),
    ):
        code, out, err = await run_paved(tmp_path, clean_environment(DATABASE_URL=dsn), *command)
        assert code == 2, err
        assert out == ""
        [line] = err.splitlines()
        assert line.startswith("paved: cannot use the database at "), line
        assert reason in line
        assert "s3cret" not in line
