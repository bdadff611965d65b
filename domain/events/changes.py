"""How a change is described in an event's `data`: JSON values, changed fields as old/new."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import fields, is_dataclass
from datetime import date, datetime
from typing import Any

_NOT_DESCRIBED = frozenset({"id", "version", "created_at", "updated_at"})
"""Bookkeeping every change moves; what changed is the rest."""


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def as_json(value: Any) -> Any:
    """`value` as JSON can hold it: enums by value, times in ISO 8601, records as objects."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, tuple | list | frozenset | set):
        return [as_json(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): as_json(item) for key, item in value.items()}
    if is_dataclass(value) and not isinstance(value, type):
        return {camel(f.name): as_json(getattr(value, f.name)) for f in fields(value)}
    return value


def described(record: Any, *, leaving_out: Iterable[str] = ()) -> dict[str, Any]:
    """A record's fields as event data (camelCase names), without bookkeeping."""
    hidden = _NOT_DESCRIBED | frozenset(leaving_out)
    return {
        camel(f.name): as_json(getattr(record, f.name))
        for f in fields(record)
        if f.name not in hidden
    }


def described_values(record_type: type[Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """What `described` gives for a `record_type` whose fields have these `values`, which
    need not hold the bookkeeping ones: the data of a record about to be inserted."""
    return {
        camel(f.name): as_json(values[f.name])
        for f in fields(record_type)
        if f.name not in _NOT_DESCRIBED
    }


def changed_fields(
    before: Any, after: Any, *, leaving_out: Iterable[str] = ()
) -> dict[str, dict[str, Any]]:
    """The fields whose value differs between two versions of a record, as
    `{field: {"old": ..., "new": ...}}` (camelCase names)."""
    old = described(before, leaving_out=leaving_out)
    new = described(after, leaving_out=leaving_out)
    return {name: {"old": old[name], "new": new[name]} for name in new if old[name] != new[name]}
