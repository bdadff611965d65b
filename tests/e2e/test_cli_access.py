"""`paved token create`, `paved user create` and `paved audit verify`, run as processes on a
database of their own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from domain.access.model import ActorKind, AuditEntry, AuditOutcome
from domain.access.tokens import hash_token, looks_like_token
from providers.postgres.access_store import PostgresAccessStore
from providers.postgres.audit_log import PostgresAuditLog
from providers.postgres.database import create_pool
from tests.support.processes import clean_environment, migrated_scratch_database, run_paved

SLUG_RULE = (
    "must be 1-63 lowercase letters, digits or hyphens, starting and ending with a letter or digit"
)


@pytest.fixture(scope="module")
async def cli_database(database_url: str) -> AsyncIterator[str]:
    """Migrated beforehand, so that the commands log nothing about migrations."""
    platform = "INSERT INTO teams (slug, name) VALUES ('platform', 'P')"
    async with migrated_scratch_database(database_url, platform) as dsn:
        yield dsn


@pytest.fixture(scope="module")
async def cli_pool(cli_database: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(cli_database, min_size=1, max_size=2)
    yield pool
    await pool.close()


async def paved(dsn: str, cwd: Path, *args: str) -> tuple[int, str, str]:
    return await run_paved(cwd, clean_environment(DATABASE_URL=dsn), *args)


async def test_users_are_created(cli_database: str, cli_pool: asyncpg.Pool, tmp_path: Path) -> None:
    plain, admin = await asyncio.gather(
        paved(cli_database, tmp_path, "user", "create", "--handle", "ada", "--name", "Ada"),
        paved(
            cli_database, tmp_path,
            "user", "create", "--handle", "root", "--name", "Root", "--email", "r@example.com",
            "--admin",
        ),
    )  # fmt: skip
    assert plain == (0, "created user 'ada'\n", "")
    assert admin == (0, "created administrator 'root'\n", "")
    found = await cli_pool.fetch("SELECT handle, email, is_admin FROM users ORDER BY handle")
    assert [tuple(row.values()) for row in found] == [
        ("ada", "ada@localhost.localdomain", False),
        ("root", "r@example.com", True),
    ]


async def test_token_create_prints_only_the_token(
    cli_database: str, cli_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    await cli_pool.execute(
        "INSERT INTO users (handle, name, email) VALUES ('bob', 'Bob', 'bob@example.com')"
    )
    store = PostgresAccessStore(cli_pool)
    await store.create_api_client("ci-bot", "CI bot", "platform")
    started = datetime.now(UTC)
    (code, out, err), (client_code, client_out, _) = await asyncio.gather(
        paved(
            cli_database, tmp_path,
            "token", "create", "--user", "bob", "--scope", "read", "--scope", "write",
            "--name", "laptop", "--expires", "30d",
        ),
        paved(cli_database, tmp_path, "token", "create", "--client", "ci-bot", "--scope", "deploy"),
    )  # fmt: skip
    assert (code, err) == (0, "")
    secret = out.removesuffix("\n")
    assert out == f"{secret}\n"
    assert looks_like_token(secret)
    row = await cli_pool.fetchrow(
        "SELECT * FROM api_tokens WHERE secret_hash = $1", hash_token(secret)
    )
    assert row is not None
    assert (row["name"], row["scopes"]) == ("laptop", ["read", "write"])
    assert (
        started + timedelta(days=30) <= row["expires_at"] <= datetime.now(UTC) + timedelta(days=30)
    )
    identity = await store.authenticate(secret)
    assert identity is not None
    assert (identity.kind, identity.handle) == (ActorKind.USER, "bob")

    assert client_code == 0
    client_identity = await store.authenticate(client_out.strip())
    assert client_identity is not None
    assert (client_identity.kind, client_identity.handle) == (ActorKind.CLIENT, "ci-bot")
    assert client_identity.token.name == "cli"
    # No `--expires`: the longest lifetime allowed (PAVED_MAX_TOKEN_DAYS, 90 by default).
    expires_at = client_identity.token.expires_at
    assert expires_at is not None
    assert started + timedelta(days=90) <= expires_at <= datetime.now(UTC) + timedelta(days=90)


async def test_bad_input_ends_with_one_line_and_exit_code_2(
    cli_database: str, cli_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    await cli_pool.execute(
        "INSERT INTO users (handle, name, email) VALUES ('eve', 'Eve', 'eve@example.com')"
    )
    cases = {
        ("token", "create", "--scope", "read"): (
            "paved: one of the arguments --user --client is required"
        ),
        ("token", "create", "--user", "eve", "--client", "x", "--scope", "read"): (
            "paved: argument --client: not allowed with argument --user"
        ),
        ("token", "create", "--user", "eve", "--scope", "root"): (
            "paved: argument --scope: invalid choice: 'root' (choose from "
        ),
        ("token", "create", "--user", "eve", "--scope", "read", "--expires", "3w"): (
            "paved: argument --expires: expected a duration such as 30d, 12h or 45m, not '3w'"
        ),
        ("token", "create", "--user", "nobody", "--scope", "read"): "paved: no user 'nobody'",
        ("user", "create", "--handle", "Eve 2", "--name", "Eve"): f"paved: `handle` {SLUG_RULE}",
        ("user", "create", "--handle", "eve", "--name", "Eve"): (
            "paved: a user with handle 'eve' already exists"
        ),
        ("user", "create", "--handle", "eve2", "--name", "Eve", "--email", "nope"): (
            "paved: `email` String should match pattern '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$'"
        ),
    }
    results = await asyncio.gather(*(paved(cli_database, tmp_path, *args) for args in cases))
    for (args, expected), (code, out, err) in zip(cases.items(), results, strict=True):
        assert (code, out) == (2, ""), (args, err)
        lines = err.splitlines()
        assert len(lines) == 1, (args, err)
        assert lines[0].startswith(expected), args
    assert await cli_pool.fetchval("SELECT count(*) FROM users WHERE handle = 'eve2'") == 0


async def test_audit_verify_exit_codes(
    cli_database: str, cli_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    log = PostgresAuditLog(cli_pool)
    records = [
        await log.append(
            AuditEntry(
                operation="createTeam",
                outcome=AuditOutcome.ACCEPTED,
                actor_kind=ActorKind.LOCAL_ADMIN,
                actor_id=None,
                actor_name="local admin",
                targets=(f"Team:t{index}",),
            )
        )
        for index in range(3)
    ]
    total = await cli_pool.fetchval("SELECT count(*) FROM audit_events")
    assert await paved(cli_database, tmp_path, "audit", "verify") == (
        0,
        f"audit log intact: {total} record(s) verified\n",
        "",
    )
    victim = records[1]
    async with cli_pool.acquire() as connection:
        await connection.execute(
            "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"
        )
        try:
            await connection.execute(
                "UPDATE audit_events SET actor_name = 'mallory' WHERE id = $1", victim.id
            )
            code, out, err = await paved(cli_database, tmp_path, "audit", "verify")
            await connection.execute(
                "UPDATE audit_events SET actor_name = 'local admin' WHERE id = $1", victim.id
            )
        finally:
            await connection.execute(
                "ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only"
            )
    assert (code, err) == (1, "")
    assert out == (
        f"audit log broken at record {victim.id}: its hash does not match its contents"
        f" ({victim.id - 1} record(s) before it verified)\n"
    )
