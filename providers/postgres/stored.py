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
        name: _stored(value)
        for name in _field_names(type(change))
        if name not in leaving_out and (value := getattr(change, name)) is not KEEP
    }


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
"""Per draft, patch or entry class, its fields' names: as many entries as such classes."""


def _field_names(dataclass: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(dataclass)
    if names is None:
        names = _FIELD_NAMES[dataclass] = tuple(field.name for field in fields(dataclass))
    return names


_AS_THEY_ARE = frozenset({str, int, float, bool, type(None)})
"""Types stored as they are, told apart before the checks below (most values are these)."""


def _stored(value: Any) -> Any:
    if type(value) in _AS_THEY_ARE:
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple):
        return [_stored(item) for item in value]
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    return value
