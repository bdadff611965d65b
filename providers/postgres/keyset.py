"""Keyset pagination: opaque cursors and the SQL window that continues after one.

A cursor carries the sort-key values of its row (as text) and a digest of the
listing it came from (its filter and order), so a cursor from one listing is
refused by another instead of silently skipping rows.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
import orjson

from providers.errors import InvalidCursor
from providers.records import Edge, Page, PageRequest

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SortKey:
    expression: str
    sql_type: str


@dataclass(frozen=True, slots=True)
class Ordering:
    """Sort keys, the last one unique (the id), all in one direction."""

    keys: tuple[SortKey, ...]
    descending: bool = False


class Params:
    """Collects positional parameters for one statement."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def add(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def scope_digest(*parts: object) -> str:
    return hashlib.sha256(orjson.dumps(parts, default=str)).hexdigest()[:12]


def encode_cursor(scope: str, values: Sequence[str]) -> str:
    raw = orjson.dumps([scope, list(values)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, scope: str, arity: int, argument: str) -> list[str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = orjson.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeEncodeError, orjson.JSONDecodeError):
        raise InvalidCursor(f"`{argument}` is not a valid cursor", [argument]) from None
    if not isinstance(decoded, list) or len(decoded) != 2 or not isinstance(decoded[1], list):
        raise InvalidCursor(f"`{argument}` is not a valid cursor", [argument])
    if decoded[0] != scope:
        raise InvalidCursor(
            f"`{argument}` is a cursor from a listing with another filter or order", [argument]
        )
    values = decoded[1]
    if len(values) != arity or not all(isinstance(value, str) for value in values):
        raise InvalidCursor(f"`{argument}` is not a valid cursor", [argument])
    return values


@dataclass(frozen=True, slots=True)
class Window:
    """The keyset part of one listing's SQL: extra select columns, condition, order, limit."""

    key_columns: str
    conditions: list[str]
    order_by: str
    limit: int
    backward: bool


def build_window(ordering: Ordering, page: PageRequest, scope: str, params: Params) -> Window:
    keys = ordering.keys
    key_columns = ", ".join(
        f"({key.expression})::text AS _k{index}" for index, key in enumerate(keys)
    )
    row = ", ".join(key.expression for key in keys)
    conditions: list[str] = []
    for argument, cursor, wants_greater in (
        ("after", page.after, not ordering.descending),
        ("before", page.before, ordering.descending),
    ):
        if cursor is None:
            continue
        values = decode_cursor(cursor, scope, len(keys), argument)
        placeholders = ", ".join(
            f"({params.add(value)}::text)::{key.sql_type}"
            for value, key in zip(values, keys, strict=True)
        )
        operator = ">" if wants_greater else "<"
        conditions.append(f"({row}) {operator} ({placeholders})")
    descending = ordering.descending != page.backward
    direction = "DESC" if descending else "ASC"
    order_by = ", ".join(f"{key.expression} {direction}" for key in keys)
    return Window(key_columns, conditions, order_by, page.size + 1, page.backward)


def page_from_rows(
    rows: Sequence[asyncpg.Record],
    window: Window,
    page: PageRequest,
    scope: str,
    build: Callable[[asyncpg.Record], T],
    arity: int,
) -> Page[T]:
    has_more = len(rows) > page.size
    visible = list(rows[: page.size])
    if window.backward:
        visible.reverse()
    edges = [
        Edge(encode_cursor(scope, [row[f"_k{index}"] for index in range(arity)]), build(row))
        for row in visible
    ]
    if window.backward:
        return Page(edges, has_next_page=page.before is not None, has_previous_page=has_more)
    return Page(edges, has_next_page=has_more, has_previous_page=page.after is not None)
