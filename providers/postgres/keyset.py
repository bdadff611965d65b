"""Keyset pagination: opaque cursors and the SQL window that continues after one.

A cursor carries the sort-key values of its row (as text) and a digest of the
listing it came from (its filter and order), so a cursor from one listing is
refused by another instead of silently skipping rows. Cursors are not signed: each
value is checked against its sort key's type before any SQL runs, so a forged one is an
`InvalidCursor` (VALIDATION), never a failed statement.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeVar

import asyncpg
import orjson

from domain.catalog.records import Edge, Page, PageRequest
from domain.errors import InvalidCursor

T = TypeVar("T")

SqlType = Literal["bigint", "integer", "text", "timestamptz"]
"""The types a sort key may have: those `decode_cursor` knows how to check."""


@dataclass(frozen=True, slots=True)
class SortKey:
    expression: str
    sql_type: SqlType


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


# How PostgreSQL writes `timestamptz::text` with DateStyle ISO (pinned by `create_pool`), in
# any session time zone: the offset has hours, and minutes and seconds when not zero.
_TIMESTAMPTZ = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
    r"[+-][0-9]{2}(:[0-9]{2}(:[0-9]{2})?)?"
)
_INTEGER = re.compile(r"-?[0-9]{1,19}")
_LONGEST_TEXT = 1_000
"""Longer than any sorted text the catalog accepts (names, handles)."""


def _integer_within(bits: int) -> Callable[[str], bool]:
    low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return lambda text: _INTEGER.fullmatch(text) is not None and low <= int(text) <= high


def _timestamptz(text: str) -> bool:
    if text in ("infinity", "-infinity"):
        return True
    if _TIMESTAMPTZ.fullmatch(text) is None:
        return False
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _text(text: str) -> bool:
    if len(text) > _LONGEST_TEXT or "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


_VALID: dict[SqlType, Callable[[str], bool]] = {
    "bigint": _integer_within(64),
    "integer": _integer_within(32),
    "text": _text,
    "timestamptz": _timestamptz,
}


def decode_cursor(cursor: str, scope: str, keys: Sequence[SortKey], argument: str) -> list[str]:
    """The sort-key values in `cursor`, each a valid text form of its key's type."""
    invalid = InvalidCursor(f"`{argument}` is not a valid cursor", [argument])
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = orjson.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeEncodeError, orjson.JSONDecodeError):
        raise invalid from None
    if not isinstance(decoded, list) or len(decoded) != 2 or not isinstance(decoded[1], list):
        raise invalid
    if decoded[0] != scope:
        raise InvalidCursor(
            f"`{argument}` is a cursor from a listing with another filter or order", [argument]
        )
    values = decoded[1]
    if len(values) != len(keys) or not all(
        isinstance(value, str) and _VALID[key.sql_type](value)
        for value, key in zip(values, keys, strict=True)
    ):
        raise invalid
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
        values = decode_cursor(cursor, scope, keys, argument)
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
