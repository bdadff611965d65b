"""Row -> record mapping. Columns share their record field's name."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import asyncpg

from domain.catalog.records import (
    EnvironmentRecord,
    EnvironmentTier,
    Lifecycle,
    Link,
    ServiceRecord,
    TeamRecord,
    UserRecord,
)


def _names(record_type: type[Any]) -> tuple[str, ...]:
    return tuple(field.name for field in fields(record_type))


# Looked up once: these mappers run for every row the read path returns.
_TEAM, _USER, _SERVICE, _ENVIRONMENT = map(
    _names, (TeamRecord, UserRecord, ServiceRecord, EnvironmentRecord)
)


def _columns(names: tuple[str, ...], row: asyncpg.Record) -> dict[str, Any]:
    return {name: row[name] for name in names}


def team(row: asyncpg.Record) -> TeamRecord:
    return TeamRecord(**_columns(_TEAM, row))


def user(row: asyncpg.Record) -> UserRecord:
    return UserRecord(**_columns(_USER, row))


def service(row: asyncpg.Record) -> ServiceRecord:
    values = _columns(_SERVICE, row)
    values["lifecycle"] = Lifecycle(values["lifecycle"])
    values["tags"] = tuple(values["tags"])
    values["links"] = tuple(Link(title=link["title"], url=link["url"]) for link in values["links"])
    return ServiceRecord(**values)


def environment(row: asyncpg.Record) -> EnvironmentRecord:
    values = _columns(_ENVIRONMENT, row)
    values["tier"] = EnvironmentTier(values["tier"])
    return EnvironmentRecord(**values)
