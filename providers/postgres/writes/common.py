"""Building blocks shared by the write use cases.

Column names come from the code only (the `Table`s below, and the field names of the drafts
and patches, which share their column's name); every value is bound as a parameter."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg

from domain.errors import Conflict, NotFound, PreconditionFailed
from providers.postgres.stored import Connection, stored_values

__all__ = ["Connection", "stored_values"]


@dataclass(frozen=True, slots=True)
class Table:
    """A catalog table whose rows are found by a unique key and carry a version."""

    name: str
    key_column: str
    noun: str
    article: str = "a"

    @property
    def path(self) -> list[str]:
        """Where the input names the row."""
        return ["input", self.noun]


TEAMS = Table("teams", "slug", "team")
USERS = Table("users", "handle", "user")
SERVICES = Table("services", "slug", "service")
ENVIRONMENTS = Table("environments", "slug", "environment", article="an")


async def lock_row(
    connection: Connection, table: Table, key: str, expected_version: int | None = None
) -> asyncpg.Record:
    """The row, locked until the transaction ends: NOT_FOUND when there is none, a CONFLICT
    when it is not at `expected_version` (when given)."""
    row = await connection.fetchrow(
        f"SELECT * FROM {table.name} WHERE {table.key_column} = $1 FOR UPDATE",
        key,
    )
    if row is None:
        raise NotFound(f"no {table.noun} '{key}'", table.path)
    if expected_version is not None and row["version"] != expected_version:
        raise Conflict(
            f"{table.noun} '{key}' is at version {row['version']}, not {expected_version}",
            ["input", "expectedVersion"],
        )
    return row


async def find_id(connection: Connection, table: Table, key: str, path: list[str]) -> int:
    found = await connection.fetchval(
        f"SELECT id FROM {table.name} WHERE {table.key_column} = $1",
        key,
    )
    if found is None:
        raise NotFound(f"no {table.noun} '{key}'", path)
    return int(found)


async def insert_row(
    connection: Connection,
    table: Table,
    values: Mapping[str, Any],
    *,
    conflicts: Mapping[str, Conflict] | None = None,
) -> asyncpg.Record:
    """The new row. A value another row already has is the CONFLICT `conflicts` gives for
    the unique constraint it breaks, else the one of a key already taken."""
    try:
        row = await connection.fetchrow(
            f"{insert_values(table, values)} RETURNING *", *values.values()
        )
    except asyncpg.UniqueViolationError as error:
        raise taken(table, values, error, conflicts) from None
    assert row is not None
    return row


def insert_values(table: Table, values: Mapping[str, Any]) -> str:
    """`INSERT INTO` the table `values`' columns, their parameters `$1` on."""
    places = ", ".join(f"${index}" for index in range(1, len(values) + 1))
    return f"INSERT INTO {table.name} ({', '.join(values)}) VALUES ({places})"


def taken(
    table: Table,
    values: Mapping[str, Any],
    error: asyncpg.UniqueViolationError,
    conflicts: Mapping[str, Conflict] | None = None,
) -> Conflict:
    """The CONFLICT of inserting `values`: the one `conflicts` gives for the unique
    constraint broken, else that of a key already taken."""
    conflict = (conflicts or {}).get(error.constraint_name or "")
    key = values[table.key_column]
    return conflict or Conflict(
        f"{table.article} {table.noun} with {table.key_column} '{key}' already exists",
        ["input", table.key_column],
    )


async def update_row(
    connection: Connection, table: Table, row_id: int, values: Mapping[str, Any]
) -> asyncpg.Record:
    """Write `values` and count one new version, even when `values` is empty."""
    assignments = [f"{column} = ${index}" for index, column in enumerate(values, start=2)]
    assignments += ["version = version + 1", "updated_at = now()"]
    row = await connection.fetchrow(
        f"UPDATE {table.name} SET {', '.join(assignments)} WHERE id = $1 RETURNING *",
        row_id,
        *values.values(),
    )
    assert row is not None
    return row


async def touch(connection: Connection, table: Table, row_id: int) -> asyncpg.Record:
    return await update_row(connection, table, row_id, {})


async def patch_row(
    connection: Connection,
    table: Table,
    key: str,
    expected_version: int | None,
    values: Mapping[str, Any],
) -> asyncpg.Record:
    """Lock the row at `expected_version`, then write `values` as its next version."""
    row = await lock_row(connection, table, key, expected_version)
    return await update_row(connection, table, row["id"], values)


async def delete_row(
    connection: Connection, table: Table, key: str, expected_version: int | None
) -> asyncpg.Record:
    """Lock the row at `expected_version`, then delete it; returns it as it was."""
    row = await lock_row(connection, table, key, expected_version)
    await connection.execute(f"DELETE FROM {table.name} WHERE id = $1", row["id"])
    return row


_LIVE_RESOURCES_SHOWN = 10


async def refuse_live_resources(
    connection: Connection, column: str, row_id: int, what: str, path: list[str]
) -> None:
    """PRECONDITION_FAILED at `path` when resources not DELETED have `column` (a column of
    `resources r`, from the code) = `row_id`: `what` (the service or environment) still has
    resources, named `name (environment)` or `service/name`, which must be deleted first."""
    found = await connection.fetch(
        "SELECT r.name, s.slug AS service, e.slug AS environment FROM resources r "
        "JOIN services s ON s.id = r.service_id JOIN environments e ON e.id = r.environment_id "
        f"WHERE {column} = $1 AND r.state <> 'DELETED' ORDER BY e.slug, s.slug, r.name "
        f"LIMIT {_LIVE_RESOURCES_SHOWN + 1}",
        row_id,
    )
    if not found:
        return
    by_service = column == "r.service_id"
    shown = [
        f"{r['name']} ({r['environment']})" if by_service else f"{r['service']}/{r['name']}"
        for r in found[:_LIVE_RESOURCES_SHOWN]
    ]
    more = " and more" if len(found) > _LIVE_RESOURCES_SHOWN else ""
    raise PreconditionFailed(
        f"{what} still has resources: {', '.join(shown)}{more}; delete them first", path
    )
