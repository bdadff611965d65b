"""`paved token create`, `paved user create` and `paved audit verify`, run as processes on a
database of their own."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from api.bootstrap import build_ports
from api.settings import Settings
from domain.access.model import LOCAL_ADMIN, ActorKind, Scope
from domain.access.tokens import hash_token, looks_like_token
from domain.audit.model import AuditEntry, AuditOutcome
from domain.catalog.records import PageRequest
from providers.postgres.access_store import PostgresAccessStore
from providers.postgres.audit_log import PostgresAuditLog
from providers.postgres.database import create_pool
from resolvers.access_mutations import create_api_token
from resolvers.context import Context
from tests.support.processes import clean_environment, migrated_scratch_database, run_paved

SLUG_RULE = (
    "must be 1-63 lowercase letters, digits or hyphens, starting and ending with a letter or digit"
)
EMAIL_RULE = "String should match pattern '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$'"


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
            "paved: Invalid value for '--user' / '--client': give exactly one of them"
        ),
        ("token", "create", "--user", "eve", "--client", "x", "--scope", "read"): (
            "paved: Invalid value for '--user' / '--client': give exactly one of them"
        ),
        ("token", "create", "--user", "eve"): "paved: Missing option '--scope'.",
        ("token", "create", "--user", "eve", "--scope", "root"): (
            "paved: Invalid value for '--scope': "
        ),
        ("token", "create", "--user", "eve", "--scope", "read", "--expires", "3w"): (
            "paved: Invalid value for '--expires': "
            "expected a duration such as 30d, 12h or 45m, not '3w'"
        ),
        ("token", "create", "--user", "nobody", "--scope", "read"): "paved: no user 'nobody'",
        ("user", "create", "--handle", "Eve 2", "--name", "Eve"): f"paved: `handle` {SLUG_RULE}",
        ("user", "create", "--handle", "eve", "--name", "Eve"): (
            "paved: a user with handle 'eve' already exists"
        ),
        ("user", "create", "--handle", "eve2", "--name", "Eve", "--email", "nope"): (
            f"paved: `email` {EMAIL_RULE}"
        ),
    }
    results = await asyncio.gather(*(paved(cli_database, tmp_path, *args) for args in cases))
    for (args, expected), (code, out, err) in zip(cases.items(), results, strict=True):
        assert (code, out) == (2, ""), (args, err)
        lines = err.splitlines()
        assert len(lines) == 1, (args, err)
        assert lines[0].startswith(expected), args
    assert await cli_pool.fetchval("SELECT count(*) FROM users WHERE handle = 'eve2'") == 0


async def audit_trail(pool: asyncpg.Pool, target: str) -> list[AuditEntry]:
    """The audit records naming `target`, newest first."""
    page = await PostgresAuditLog(pool).trail(target, PageRequest(first=20))
    return [edge.node.entry for edge in page.edges]


def by_the_local_operator(operation: str, target: str, input: dict[str, Any]) -> AuditEntry:
    return AuditEntry(
        operation=operation,
        outcome=AuditOutcome.ACCEPTED,
        actor_kind=ActorKind.LOCAL_ADMIN,
        actor_id=None,
        actor_name="local operator",
        targets=(target,),
        input=input,
    )


async def test_a_token_made_at_the_terminal_is_audited_like_create_api_token(
    cli_database: str, cli_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    await cli_pool.execute(
        "INSERT INTO users (handle, name, email) VALUES ('tess', 'Tess', 'tess@example.com')"
    )
    code, out, err = await paved(
        cli_database, tmp_path,
        "token", "create", "--user", "tess", "--scope", "read", "--scope", "deploy",
        "--name", "laptop",
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert looks_like_token(out.strip())
    # The same input, sent to `createApiToken` by the development mode's local admin.
    context = Context.for_request(build_ports(Settings(), cli_pool), LOCAL_ADMIN)
    sent = {"user": "tess", "name": "laptop", "scopes": [Scope.READ, Scope.DEPLOY]}
    assert (await create_api_token(context, sent)).errors == []

    by_the_mutation, by_the_terminal = await audit_trail(cli_pool, "User:tess")
    assert by_the_terminal == dataclasses.replace(by_the_mutation, actor_name="local operator")
    assert by_the_terminal == by_the_local_operator(
        "createApiToken",
        "User:tess",
        input={"user": "tess", "name": "laptop", "scopes": ["read", "deploy"]},
    )


async def test_a_token_made_at_the_terminal_follows_the_rules_of_create_api_token(
    cli_database: str, cli_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    await cli_pool.execute(
        "INSERT INTO users (handle, name, email) VALUES ('uma', 'Uma', 'uma@example.com')"
    )
    await PostgresAccessStore(cli_pool).create_api_client("uma-bot", "Uma's bot", "platform")
    beyond = "paved: scopes not available to this token: admin\n"
    cases = {
        # Uma is no administrator, and an API client never is one.
        ("--user", "uma", "--scope", "read", "--scope", "admin"): beyond,
        ("--client", "uma-bot", "--scope", "admin"): beyond,
        ("--user", "uma", "--scope", "read", "--name", " "): "paved: `name` must not be blank\n",
    }
    results = await asyncio.gather(
        *(paved(cli_database, tmp_path, "token", "create", *args) for args in cases)
    )
    for (args, expected), result in zip(cases.items(), results, strict=True):
        assert result == (2, "", expected), args
    made = await cli_pool.fetchval(
        "SELECT count(*) FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id"
        " LEFT JOIN api_clients c ON c.id = t.client_id"
        " WHERE u.handle = 'uma' OR c.slug = 'uma-bot'"
    )
    assert made == 0

    for target in ("User:uma", "ApiClient:uma-bot"):
        for entry in await audit_trail(cli_pool, target):
            assert (entry.operation, entry.outcome, entry.actor_name, entry.error_codes) == (
                "createApiToken", AuditOutcome.INVALID, "local operator", ("VALIDATION",)
            )  # fmt: skip
    assert len(await audit_trail(cli_pool, "User:uma")) == 2


async def test_users_made_at_the_terminal_are_audited_like_create_user(
    cli_database: str, cli_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    plain, admin, refused = await asyncio.gather(
        paved(cli_database, tmp_path, "user", "create", "--handle", "vic", "--name", "Vic"),
        paved(
            cli_database, tmp_path,
            "user", "create", "--handle", "wes", "--name", "Wes", "--email", "w@example.com",
            "--admin",
        ),
        paved(cli_database, tmp_path, "user", "create", "--handle", "Wes 2", "--name", "Wes"),
    )  # fmt: skip
    assert plain == (0, "created user 'vic'\n", "")
    assert admin == (0, "created administrator 'wes'\n", "")
    # Every refusal of the input, on one line.
    assert refused == (2, "", f"paved: `handle` {SLUG_RULE}; `email` {EMAIL_RULE}\n")

    assert await audit_trail(cli_pool, "User:vic") == [
        by_the_local_operator(
            "createUser",
            "User:vic",
            input={"handle": "vic", "name": "Vic", "email": "vic@localhost.localdomain"},
        )
    ]
    assert await audit_trail(cli_pool, "User:wes") == [
        by_the_local_operator("grantAdministrator", "User:wes", input={"user": "wes"}),
        by_the_local_operator(
            "createUser",
            "User:wes",
            input={"handle": "wes", "name": "Wes", "email": "w@example.com"},
        ),
    ]
    [invalid] = await audit_trail(cli_pool, "User:Wes 2")
    assert invalid == dataclasses.replace(
        by_the_local_operator(
            "createUser",
            "User:Wes 2",
            input={"handle": "Wes 2", "name": "Wes", "email": "Wes 2@localhost.localdomain"},
        ),
        outcome=AuditOutcome.INVALID,
        error_codes=("VALIDATION", "VALIDATION"),
    )


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
