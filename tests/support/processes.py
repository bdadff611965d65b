"""Helpers for tests that run `paved` as a process or need a database of their own."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import asyncpg

from providers.postgres.migrations import apply_migrations


def paved_command() -> list[str]:
    """The installed `paved` console script next to this interpreter, else `python -m cli.main`."""
    script = Path(sys.executable).parent / "paved"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "cli.main"]


SOURCE_ROOT = Path(__file__).resolve().parents[2]
"""The checkout the tests run from: the processes they start import its code (and not that of
wherever the package was installed from)."""


def clean_environment(**extra: str) -> dict[str, str]:
    """The inherited environment without anything that configures Paved Road, plus `extra`;
    the code imported is this checkout's."""
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PAVED_") and key not in ("DATABASE_URL", "TEST_DATABASE_URL")
    }
    python_path = os.pathsep.join(
        part for part in (str(SOURCE_ROOT), inherited.get("PYTHONPATH")) if part
    )
    return {**inherited, "PYTHONPATH": python_path, **extra}


def with_database(dsn: str, database: str) -> str:
    """`dsn` naming another database on the same server.

    Handles `postgresql://user:@/db?host=/socket/dir` (the embedded server),
    `postgresql://user@host:5432/db`, a DSN without a database and one with `?dbname=`.
    """
    parts = urlsplit(dsn)
    query = parts.query
    pairs = parse_qsl(query, keep_blank_values=True)
    if any(key == "dbname" for key, _ in pairs):
        pairs = [(key, database if key == "dbname" else value) for key, value in pairs]
        query = urlencode(pairs, quote_via=quote, safe="/")
    # Built by hand: urlunsplit drops the `//` of an empty host (`postgresql:///db?host=...`).
    url = f"{parts.scheme}://{parts.netloc}/{quote(database, safe='')}"
    if query:
        url += f"?{query}"
    if parts.fragment:
        url += f"#{parts.fragment}"
    return url


def database_name(dsn: str) -> str:
    parts = urlsplit(dsn)
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key == "dbname":
            return value
    return parts.path.lstrip("/")


@asynccontextmanager
async def scratch_database(server_dsn: str) -> AsyncIterator[str]:
    """A new, empty database on the server of `server_dsn`, dropped afterwards; yields its DSN."""
    name = f"paved_scratch_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(server_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield with_database(server_dsn, name)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@asynccontextmanager
async def migrated_scratch_database(server_dsn: str, setup: str = "") -> AsyncIterator[str]:
    """A `scratch_database` with every migration applied, then the SQL in `setup` run."""
    async with scratch_database(server_dsn) as dsn:
        connection = await asyncpg.connect(dsn)
        try:
            await apply_migrations(connection)
            if setup:
                await connection.execute(setup)
        finally:
            await connection.close()
        yield dsn


async def run_paved(cwd: Path, env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """`paved *args` to its end (at most a minute): exit code, stdout, stderr."""
    process = await asyncio.create_subprocess_exec(
        *paved_command(),
        *args,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(60):
            stdout, stderr = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()
