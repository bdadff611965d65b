"""How a value is stored: what the write modules and the audit log share, apart from the
write use cases (so the audit log can be imported before them)."""

from __future__ import annotations

import enum
from dataclasses import asdict, fields, is_dataclass
from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from domain.catalog.changes import KEEP

Connection: TypeAlias = asyncpg.Connection | PoolConnectionProxy


def stored_values(change: Any, *, leaving_out: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The columns a draft or patch sets, by their names (its fields' names, but those
    `leaving_out` and a patch's fields left at `KEEP`), with each value as the column stores
    it: an enum by its value, a tuple as an array, a dataclass (a link) as a JSON object."""
    return {
        field.name: _stored(value)
        for field in fields(change)
        if field.name not in leaving_out and (value := getattr(change, field.name)) is not KEEP
    }


def _stored(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple):
        return [_stored(item) for item in value]
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    return value
