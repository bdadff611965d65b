"""Building blocks shared by the write use cases."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from domain.catalog.changes import KEEP
from domain.errors import Conflict, NotFound

Connection: TypeAlias = asyncpg.Connection | PoolConnectionProxy

_TABLE_NOUN = {
    "teams": "team",
    "users": "user",
    "services": "service",
    "environments": "environment",
}


async def lock_row(
    connection: Connection, table: str, key_column: str, key: str, path: list[str]
) -> asyncpg.Record:
    row = await connection.fetchrow(
        f"SELECT * FROM {table} WHERE {key_column} = $1 FOR UPDATE",
        key,
    )
    if row is None:
        raise NotFound(f"no {_TABLE_NOUN[table]} '{key}'", path)
    return row


async def find_id(
    connection: Connection, table: str, key_column: str, key: str, path: list[str]
) -> int:
    found = await connection.fetchval(
        f"SELECT id FROM {table} WHERE {key_column} = $1",
        key,
    )
    if found is None:
        raise NotFound(f"no {_TABLE_NOUN[table]} '{key}'", path)
    return int(found)


def check_version(row: asyncpg.Record, expected: int | None, table: str, key: str) -> None:
    if expected is not None and row["version"] != expected:
        raise Conflict(
            f"{_TABLE_NOUN[table]} '{key}' is at version {row['version']}, not {expected}",
            ["input", "expectedVersion"],
        )


def patch_values(patch: Any) -> dict[str, Any]:
    return {
        f.name: getattr(patch, f.name) for f in fields(patch) if getattr(patch, f.name) is not KEEP
    }


async def update_row(
    connection: Connection, table: str, row_id: int, values: Mapping[str, Any]
) -> asyncpg.Record:
    """Write `values` and count one new version, even when `values` is empty."""
    assignments = [f"{column} = ${index}" for index, column in enumerate(values, start=2)]
    assignments += ["version = version + 1", "updated_at = now()"]
    row = await connection.fetchrow(
        f"UPDATE {table} SET {', '.join(assignments)} WHERE id = $1 RETURNING *",
        row_id,
        *values.values(),
    )
    assert row is not None
    return row


async def touch(connection: Connection, table: str, row_id: int) -> asyncpg.Record:
    return await update_row(connection, table, row_id, {})
