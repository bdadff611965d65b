"""Row -> record mapping, one function per table."""

from __future__ import annotations

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


def team(row: asyncpg.Record) -> TeamRecord:
    return TeamRecord(
        id=row["id"],
        slug=row["slug"],
        name=row["name"],
        description=row["description"],
        parent_id=row["parent_id"],
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def user(row: asyncpg.Record) -> UserRecord:
    return UserRecord(
        id=row["id"],
        handle=row["handle"],
        name=row["name"],
        email=row["email"],
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def service(row: asyncpg.Record) -> ServiceRecord:
    return ServiceRecord(
        id=row["id"],
        slug=row["slug"],
        name=row["name"],
        description=row["description"],
        lifecycle=Lifecycle(row["lifecycle"]),
        tier=row["tier"],
        tags=tuple(row["tags"]),
        links=tuple(Link(title=link["title"], url=link["url"]) for link in row["links"]),
        repository_url=row["repository_url"],
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def environment(row: asyncpg.Record) -> EnvironmentRecord:
    return EnvironmentRecord(
        id=row["id"],
        slug=row["slug"],
        name=row["name"],
        description=row["description"],
        tier=EnvironmentTier(row["tier"]),
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
