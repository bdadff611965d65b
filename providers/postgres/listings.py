"""Paged listings over one table: a root listing, or many per-parent listings in one statement."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import asyncpg

from domain.catalog.records import Page, PageRequest
from providers.postgres.keyset import Ordering, Params, build_window, page_from_rows
from providers.postgres.rows import grouped

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Listing(Generic[T]):
    """`source` is `table alias`; `build` maps a row of `alias.*` to a record."""

    source: str
    alias: str
    build: Callable[[asyncpg.Record], T]


async def fetch_page(
    pool: asyncpg.Pool,
    listing: Listing[T],
    ordering: Ordering,
    page: PageRequest,
    scope: str,
    conditions: Sequence[str],
    params: Params,
) -> Page[T]:
    window = build_window(ordering, page, scope, params)
    where = _where([*conditions, *window.conditions])
    sql = (
        f"SELECT {listing.alias}.*, {window.key_columns} FROM {listing.source}"
        f"{where} ORDER BY {window.order_by} LIMIT {window.limit}"
    )
    rows = await pool.fetch(sql, *params.values)
    return page_from_rows(rows, window, page, scope, listing.build, len(ordering.keys))


async def fetch_pages(
    pool: asyncpg.Pool,
    listing: Listing[T],
    ordering: Ordering,
    page: PageRequest,
    scope: str,
    parent_ids: Sequence[int],
    parent_condition: str,
    conditions: Sequence[str],
    params: Params,
) -> dict[int, Page[T]]:
    """One page per parent id; `parent_condition` refers to the parent as `parent.id`."""
    keys = params.add(list(parent_ids))
    window = build_window(ordering, page, scope, params)
    where = _where([parent_condition, *conditions, *window.conditions])
    sql = (
        f"SELECT parent.id AS _parent, x.* FROM unnest({keys}::bigint[]) AS parent(id) "
        f"CROSS JOIN LATERAL (SELECT {listing.alias}.*, {window.key_columns} "
        f"FROM {listing.source}{where} ORDER BY {window.order_by} LIMIT {window.limit}) AS x"
    )
    found = grouped(parent_ids, await pool.fetch(sql, *params.values), "_parent", _as_is)
    arity = len(ordering.keys)
    return {
        parent_id: page_from_rows(group, window, page, scope, listing.build, arity)
        for parent_id, group in found.items()
    }


def _as_is(row: asyncpg.Record) -> asyncpg.Record:
    return row


async def count(pool: asyncpg.Pool, source: str, conditions: Sequence[str], params: Params) -> int:
    value = await pool.fetchval(
        f"SELECT count(*) FROM {source}{_where(conditions)}", *params.values
    )
    return int(value)


async def counts(
    pool: asyncpg.Pool,
    source: str,
    parent_ids: Sequence[int],
    parent_condition: str,
    conditions: Sequence[str],
    params: Params,
) -> dict[int, int]:
    keys = params.add(list(parent_ids))
    where = _where([parent_condition, *conditions])
    sql = (
        f"SELECT parent.id AS _parent, (SELECT count(*) FROM {source}{where}) AS n "
        f"FROM unnest({keys}::bigint[]) AS parent(id)"
    )
    rows = await pool.fetch(sql, *params.values)
    return {row["_parent"]: int(row["n"]) for row in rows}


def _where(conditions: Sequence[str]) -> str:
    return f" WHERE {' AND '.join(conditions)}" if conditions else ""


def like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
