"""The outbox read in its order (the `EventLog` port): by position (tx, id), and only the
events whose `tx` is below the horizon, the oldest transaction still running, since no event
can be written below it any more (`providers/postgres/outbox.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from domain.access.model import ActorKind
from domain.events.model import (
    ORIGIN,
    EventActor,
    EventFilter,
    EventRecord,
    EventType,
    Position,
    SubjectKind,
)
from domain.events.ports import EventRead
from domain.events.visibility import EventVisibility
from providers.postgres.keyset import Params

COLUMNS = (
    "id, tx, type, occurred_at, actor_kind, actor_id, actor_name, request_id, subject_kind, "
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
        tx=row["tx"],
    )


HORIZON = "pg_snapshot_xmin(pg_current_snapshot())"
"""The oldest transaction running when the statement began: every event with a lower `tx` has
committed (or never will)."""


NEWEST = f"SELECT tx, id FROM events WHERE tx < {HORIZON} ORDER BY tx DESC, id DESC LIMIT 1"
"""The position of the newest readable event (no row when there is none)."""


def after_position(position: Position, params: Params) -> str:
    """The condition on `events` for the readable events after `position`."""
    return (
        f"(tx, id) > ({params.add(position.tx)}::xid8, {params.add(position.id)}::bigint) "
        f"AND tx < {HORIZON}"
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
        position: Position,
        limit: int,
        event_filter: EventFilter | None = None,
        visibility: EventVisibility | None = None,
    ) -> EventRead:
        params = Params()
        conditions = [
            after_position(position, params),
            *_conditions(event_filter, visibility, params),
        ]
        # The events with, on each row, the horizon and the newest committed `tx`, both of the
        # statement's one snapshot (a row of nulls but for them when no event is found).
        found = await self._pool.fetch(
            f"WITH found AS (SELECT {COLUMNS} FROM events WHERE {' AND '.join(conditions)} "
            f"ORDER BY tx, id LIMIT {params.add(limit)}) "
            "SELECT found.*, now_.newest_tx, now_.horizon "
            "FROM (SELECT (SELECT tx FROM events ORDER BY tx DESC LIMIT 1) AS newest_tx, "
            f"{HORIZON} AS horizon) now_ LEFT JOIN found ON true ORDER BY found.tx, found.id",
            *params.values,
        )
        events = [event(row) for row in found if row["id"] is not None]
        return EventRead(events, found[0]["horizon"], found[0]["newest_tx"] or 0)

    async def count(
        self, event_filter: EventFilter | None = None, visibility: EventVisibility | None = None
    ) -> int:
        params = Params()
        conditions = [f"tx < {HORIZON}", *_conditions(event_filter, visibility, params)]
        return int(
            await self._pool.fetchval(
                f"SELECT count(*) FROM events WHERE {' AND '.join(conditions)}", *params.values
            )
        )

    async def newest(self) -> Position:
        found = await self._pool.fetchrow(NEWEST)
        return ORIGIN if found is None else Position(found["tx"], found["id"])

    async def by_ids(self, ids: Sequence[int]) -> list[EventRecord | None]:
        found = await self._pool.fetch(
            f"SELECT {COLUMNS} FROM events WHERE id = ANY($1::bigint[])", list(ids)
        )
        by_id = {row["id"]: event(row) for row in found}
        return [by_id.get(event_id) for event_id in ids]

    async def prune(self, older_than: datetime) -> int:
        status = await self._pool.execute("DELETE FROM events WHERE occurred_at < $1", older_than)
        return int(status.split()[-1])
