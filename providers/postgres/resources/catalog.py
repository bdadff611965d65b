"""What classes and templates share: their rows are found by slug, written column by column
from a draft or a patch (`changes`, by the draft's field names), and link to environments and
other rows through join tables replaced whole."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, fields
from typing import Any

import asyncpg

from domain.errors import Conflict, NotFound
from providers.postgres.resources.rows import plain
from providers.postgres.writes.common import Connection, Table, insert_row, update_row


@dataclass(frozen=True, slots=True)
class Kind:
    """Resource classes or templates: their table, what the input calls one, and which of
    their draft's fields are join tables rather than columns."""

    table: Table
    label: str
    links: frozenset[str]
    draft: type[Any]

    def columns(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        """The column values among `changes` (JSON as the codec writes it); ValueError for a
        name the draft does not have: patches come from code, never from clients' keys."""
        known = {field.name for field in fields(self.draft)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"not fields of {self.draft.__name__}: {sorted(unknown)}")
        return {name: plain(value) for name, value in changes.items() if name not in self.links}

    def slug_taken(self, slug: object) -> Conflict:
        return Conflict(f"a {self.label} with slug '{slug}' already exists", ["input", "slug"])


def values_of(draft: Any) -> dict[str, Any]:
    """A draft's fields by name, as they are (no deep copy: `asdict` cannot copy every
    mapping)."""
    return {field.name: getattr(draft, field.name) for field in fields(draft)}


async def locked(
    connection: Connection, kind: Kind, slug: str, expected_version: int | None = None
) -> asyncpg.Record:
    row = await connection.fetchrow(
        f"SELECT * FROM {kind.table.name} WHERE slug = $1 FOR UPDATE", slug
    )
    if row is None:
        raise NotFound(f"no {kind.label} '{slug}'", kind.table.path)
    if expected_version is not None and row["version"] != expected_version:
        raise Conflict(
            f"{kind.label} '{slug}' is at version {row['version']}, not {expected_version}",
            ["input", "expectedVersion"],
        )
    return row


async def insert(connection: Connection, kind: Kind, changes: Mapping[str, Any]) -> int:
    values = kind.columns(changes)
    conflicts = {f"{kind.table.name}_slug_key": kind.slug_taken(values.get("slug"))}
    row = await insert_row(connection, kind.table, values, conflicts=conflicts)
    return int(row["id"])


async def update(
    connection: Connection, kind: Kind, row_id: int, changes: Mapping[str, Any]
) -> None:
    """Write the column values among `changes` as the row's next version."""
    values = kind.columns(changes)
    try:
        async with connection.transaction():
            await update_row(connection, kind.table, row_id, values)
    except asyncpg.UniqueViolationError:
        raise kind.slug_taken(values.get("slug")) from None


@dataclass(frozen=True, slots=True)
class Link:
    """A join table from an owner row (`owner_column`) to rows of `target` (`column`); `path`
    is where the input names them, `noun` what they are."""

    table: str
    owner_column: str
    column: str
    target: str
    path: tuple[str, ...]
    noun: str
    ordered: bool = False
    """Rows keep the order given (a `position` column)."""


async def replace_links(
    connection: Connection, link: Link, owner_id: int, ids: Collection[int]
) -> None:
    """The owner's links are `ids`, each once, in their order; NOT_FOUND when one names
    nothing. The rows named are locked (FOR KEY SHARE) until the transaction ends: none can be
    deleted between the check and the insert."""
    await connection.execute(f"DELETE FROM {link.table} WHERE {link.owner_column} = $1", owner_id)
    unique = list(dict.fromkeys(ids))
    if not unique:
        return
    found = await connection.fetch(
        f"SELECT id FROM {link.target} WHERE id = ANY($1::bigint[]) FOR KEY SHARE", unique
    )
    missing = sorted(set(unique) - {row["id"] for row in found})
    if missing:
        listed = ", ".join(str(item) for item in missing)
        raise NotFound(f"no {link.noun} with id {listed}", list(link.path))
    position = ", position" if link.ordered else ""
    ordinal = ", u.p - 1" if link.ordered else ""
    await connection.execute(
        f"INSERT INTO {link.table} ({link.owner_column}, {link.column}{position}) "
        f"SELECT $1, u.x{ordinal} FROM unnest($2::bigint[]) WITH ORDINALITY AS u(x, p)",
        owner_id, unique,
    )  # fmt: skip
