"""The outbox read in commit order (the `EventLog` port)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from domain.access.model import ActorKind
from domain.events.model import EventActor, EventFilter, EventRecord, EventType, SubjectKind
from domain.events.visibility import EventVisibility
from providers.postgres.keyset import Params

COLUMNS = (
    "id, type, occurred_at, actor_kind, actor_id, actor_name, request_id, subject_kind, "
    "subject_id, service_id, team_id, environment_id, deployment_id, data"
)


def event(row: asyncpg.Record) -> EventRecord:
    actor = (
        None
        if row["actor_kind"] is None
        else EventActor(ActorKind(row["actor_kind"]), row["actor_id"], row["actor_name"])
    )
    return EventRecord(
        id=row["id"],
        type=EventType(row["type"]),
        occurred_at=row["occurred_at"],
        subject_kind=SubjectKind(row["subject_kind"]),
        subject_id=row["subject_id"],
        data=row["data"],
        actor=actor,
        request_id=row["request_id"],
        service_id=row["service_id"],
        team_id=row["team_id"],
        environment_id=row["environment_id"],
        deployment_id=row["deployment_id"],
    )


def _conditions(
    event_filter: EventFilter | None, visibility: EventVisibility | None, params: Params
) -> list[str]:
    conditions: list[str] = []
    if event_filter is not None:
        if event_filter.types is not None:
            types = sorted(type_.value for type_ in event_filter.types)
            conditions.append(f"type = ANY({params.add(types)}::text[])")
        for column, value in (
            ("service_id", event_filter.service_id),
            ("team_id", event_filter.team_id),
            ("environment_id", event_filter.environment_id),
        ):
            if value is not None:
                conditions.append(f"{column} = {params.add(value)}")
        if event_filter.since is not None:
            conditions.append(f"occurred_at >= {params.add(event_filter.since)}")
    if visibility is not None:
        if not visibility.reads_catalog:
            conditions.append("false")
        elif not visibility.all_webhooks:
            teams = sorted(visibility.team_ids)
            conditions.append(
                f"(subject_kind <> 'Webhook' OR team_id = ANY({params.add(teams)}::bigint[]))"
            )
    return conditions


class PostgresEventLog:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def after(
        self,
        position: int,
        limit: int,
        event_filter: EventFilter | None = None,
        visibility: EventVisibility | None = None,
    ) -> list[EventRecord]:
        params = Params()
        conditions = [
            f"id > {params.add(position)}",
            *_conditions(event_filter, visibility, params),
        ]
        found = await self._pool.fetch(
            f"SELECT {COLUMNS} FROM events WHERE {' AND '.join(conditions)} "
            f"ORDER BY id LIMIT {params.add(limit)}",
            *params.values,
        )
        return [event(row) for row in found]

    async def count(
        self, event_filter: EventFilter | None = None, visibility: EventVisibility | None = None
    ) -> int:
        params = Params()
        conditions = _conditions(event_filter, visibility, params)
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        return int(await self._pool.fetchval(f"SELECT count(*) FROM events{where}", *params.values))

    async def newest(self) -> int:
        return int(await self._pool.fetchval("SELECT coalesce(max(id), 0) FROM events"))

    async def by_ids(self, ids: Sequence[int]) -> list[EventRecord | None]:
        found = await self._pool.fetch(
            f"SELECT {COLUMNS} FROM events WHERE id = ANY($1::bigint[])", list(ids)
        )
        by_id = {row["id"]: event(row) for row in found}
        return [by_id.get(event_id) for event_id in ids]

    async def prune(self, older_than: datetime) -> int:
        status = await self._pool.execute("DELETE FROM events WHERE occurred_at < $1", older_than)
        return int(status.split()[-1])
