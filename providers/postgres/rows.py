"""Row -> record mapping. Columns share their record field's name."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import asyncpg

from providers.records import (
    EnvironmentRecord,
    EnvironmentTier,
    Lifecycle,
    Link,
    ServiceRecord,
    TeamRecord,
    UserRecord,
)


def _columns(record_type: type[Any], row: asyncpg.Record) -> dict[str, Any]:
    return {field.name: row[field.name] for field in fields(record_type)}


def team(row: asyncpg.Record) -> TeamRecord:
    return TeamRecord(**_columns(TeamRecord, row))


def user(row: asyncpg.Record) -> UserRecord:
    return UserRecord(**_columns(UserRecord, row))


def service(row: asyncpg.Record) -> ServiceRecord:
    values = _columns(ServiceRecord, row)
    values["lifecycle"] = Lifecycle(values["lifecycle"])
    values["tags"] = tuple(values["tags"])
    values["links"] = tuple(Link(title=link["title"], url=link["url"]) for link in values["links"])
    return ServiceRecord(**values)


def environment(row: asyncpg.Record) -> EnvironmentRecord:
    values = _columns(EnvironmentRecord, row)
    values["tier"] = EnvironmentTier(values["tier"])
    return EnvironmentRecord(**values)
