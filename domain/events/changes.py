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


_DESCRIBED_FIELDS: dict[type, tuple[tuple[str, str], ...]] = {}
"""Per record class, (field, camelCase name) of each field but the bookkeeping ones: as many
entries as there are record classes."""


def _described_fields(record_type: type) -> tuple[tuple[str, str], ...]:
    found = _DESCRIBED_FIELDS.get(record_type)
    if found is None:
        found = _DESCRIBED_FIELDS[record_type] = tuple(
            (f.name, camel(f.name)) for f in fields(record_type) if f.name not in _NOT_DESCRIBED
        )
    return found


_AS_THEY_ARE = frozenset({str, int, float, bool, type(None)})
"""Types JSON holds as they are, told apart before the checks below (most values are these)."""


def as_json(value: Any) -> Any:
    """`value` as JSON can hold it: enums by value, times in ISO 8601, records as objects."""
    if type(value) in _AS_THEY_ARE:
        return value
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
    hidden = frozenset(leaving_out)
    return {
        name: as_json(getattr(record, field))
        for field, name in _described_fields(type(record))
        if field not in hidden
    }


def described_values(record_type: type[Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """What `described` gives for a `record_type` whose fields have these `values`, which
    need not hold the bookkeeping ones: the data of a record about to be inserted."""
    return {name: as_json(values[field]) for field, name in _described_fields(record_type)}


def changed_fields(
    before: Any, after: Any, *, leaving_out: Iterable[str] = ()
) -> dict[str, dict[str, Any]]:
    """The fields whose value differs between two versions of a record, as
    `{field: {"old": ..., "new": ...}}` (camelCase names)."""
    old = described(before, leaving_out=leaving_out)
    new = described(after, leaving_out=leaving_out)
    return {name: {"old": old[name], "new": new[name]} for name in new if old[name] != new[name]}
