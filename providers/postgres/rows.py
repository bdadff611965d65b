"""Row -> record mapping. Columns share their record field's name, so a record is read from
its row field by field, and a new plain column needs no change here; only a field whose
stored form differs (an enum's value, an array, JSON) names its conversion."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import fields
from typing import Any, Generic, TypeVar

import asyncpg

from domain.catalog.records import EnvironmentRecord, EnvironmentTier, TeamRecord, UserRecord
from domain.catalog.services import Lifecycle, Link, ServiceRecord

K = TypeVar("K")
R = TypeVar("R")


def column_names(record_type: type[Any], *, leaving_out: Collection[str] = ()) -> tuple[str, ...]:
    """The names of the record's fields, which are its columns' names, but `leaving_out`."""
    return tuple(field.name for field in fields(record_type) if field.name not in leaving_out)


class RecordRows(Generic[R]):
    """Reads a row into a `record_type`: each field from the column of its name, through the
    conversion given for it, if any."""

    def __init__(self, record_type: type[R], **conversions: Callable[[Any], Any]) -> None:
        self._record_type = record_type
        # Looked up once: these mappers run for every row the read path returns.
        self._plain = column_names(record_type, leaving_out=conversions)
        self._conversions = tuple(conversions.items())

    def __call__(self, row: asyncpg.Record) -> R:
        values = {name: row[name] for name in self._plain}
        for name, convert in self._conversions:
            values[name] = convert(row[name])
        return self._record_type(**values)


def grouped(
    keys: Iterable[K],
    found: Iterable[asyncpg.Record],
    under: str,
    build: Callable[[asyncpg.Record], R],
) -> dict[K, list[R]]:
    """Each of `keys` with what `build` makes of the rows whose column `under` holds it, in
    the rows' order; a key no row holds has an empty list."""
    result: dict[K, list[R]] = {key: [] for key in keys}
    for row in found:
        result[row[under]].append(build(row))
    return result


def _links(stored: list[dict[str, str]]) -> tuple[Link, ...]:
    return tuple(Link(title=link["title"], url=link["url"]) for link in stored)


team = RecordRows(TeamRecord)
user = RecordRows(UserRecord)
service = RecordRows(ServiceRecord, lifecycle=Lifecycle, tags=tuple, links=_links)
environment = RecordRows(EnvironmentRecord, tier=EnvironmentTier)
