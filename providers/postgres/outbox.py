"""The outbox: events written in the transaction of the change they describe.

A change's code says what happened with `emit` while its transaction runs; the transaction
(`AuditedTransactions.run`) writes what was emitted just before it commits, with the actor and
request id of its audit entry (and, for an event on a service that names no team, its primary
owner team), and answers the newest event's id: once the transaction has committed, listeners
are woken with it (`event_notices.py`: a wake-up, not the event, and sent outside the change's
transaction). A change that rolls back leaves no event.

No lock is taken: concurrent changes write their events in parallel. An event's place in the
outbox is the pair (tx, id) (`domain.events.model.Position`), where `tx` is the id of the
transaction that wrote it, or, when greater, the largest `tx` among the events already
committed when it is written: an event comes after every event committed before it was
written (two changes to one entity, serialised by its row lock, keep their order), and `tx`
is never below its own transaction's id. Readers (`providers/postgres/events.py`, the webhook
dispatch) read in that order, and only the events whose `tx` is older than every transaction
still running (`pg_snapshot_xmin`): no event can ever be written below that horizon, so a
reader resuming after a position misses nothing that commits later. The price: an event
becomes readable only once the transactions that ran beside it have ended, so a long
transaction (a big catalog import) holds back the events committed while it runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import asyncpg
import orjson
from asyncpg.pool import PoolConnectionProxy

from domain.audit.model import AuditEntry
from domain.events.model import EventDraft

Connection = asyncpg.Connection | PoolConnectionProxy

CHANNEL = "paved_events"

_pending: ContextVar[list[EventDraft] | None] = ContextVar("paved_pending_events", default=None)

NEW_ROW = 0
"""In an event written with the row it is about (`events_with_new_row`): the id of that row,
which is not known before the statement runs. No row has id 0."""

NEW_ROW_OWNER = -1
"""In such an event: the id of the new row's owner team, which the same statement finds."""

_REFERENCES = ("subject_id", "service_id", "team_id", "environment_id", "deployment_id")


_MANY = """(
        SELECT * FROM unnest($e5::text[], $e6::text[], $e7::bigint[], $e8::bigint[],
                             $e9::bigint[], $e10::bigint[], $e11::bigint[], $e12::text[])
                      WITH ORDINALITY AS e(type, subject_kind, subject_id, service_id, team_id,
                                           environment_id, deployment_id, data, position)
        LIMIT cardinality($e5::text[])
    )"""
"""Several events, a column per array. The LIMIT takes every event (it is their number). It
is there for PostgreSQL's planner: without it, the statement's generic plan counts ten
events where a write has one or two, costs it above a plan made for the actual arguments,
and so every write is planned anew, which costs PostgreSQL more than the write itself. A
LIMIT it cannot know counts a tenth of the rows, so the generic plan is reused."""

_ONE = """(
        SELECT $e5::text AS type, $e6::text AS subject_kind, $e7::bigint AS subject_id,
               $e8::bigint AS service_id, $e9::bigint AS team_id,
               $e10::bigint AS environment_id, $e11::bigint AS deployment_id,
               $e12::text AS data, 1 AS position
    )"""
"""One event, a parameter per column: most changes make one, and arrays cost asyncpg a check
of `collections.abc` per array and per element (about a third of a write's encoding)."""


def one_event(events: Sequence[EventDraft]) -> bool:
    """Whether `events` are written in the one-event form (`event_arguments`)."""
    return len(events) == 1


def _appended(reference: Callable[[str], str], one: bool) -> str:
    """The events' rows, placed after every event already committed (see the module's
    docstring); `$eN` is the events' Nth parameter (`events_from`), `reference` what each
    id column of the events is written as; `one`: the one-event form."""
    subject, service, team, environment, deployment = (
        reference(f"e.{column}") for column in _REFERENCES
    )
    return f"""
place AS (
    SELECT greatest(pg_current_xact_id(),
                    (SELECT tx FROM events ORDER BY tx DESC LIMIT 1)) AS tx
),
appended AS (
    INSERT INTO events (tx, type, actor_kind, actor_id, actor_name, request_id, subject_kind,
                        subject_id, service_id, team_id, environment_id, deployment_id, data)
    SELECT place.tx, e.type, $e1, $e2, $e3, $e4, e.subject_kind, {subject}, {service},
           coalesce({team}, (SELECT o.team_id FROM service_owners o
                             WHERE o.service_id = {service} AND o.role = 'PRIMARY')),
           {environment}, {deployment}, e.data::jsonb
    FROM place, {_ONE if one else _MANY} AS e
    ORDER BY e.position
    RETURNING id
)
"""


NEWEST_EVENT = "newest_event"
"""The column of a change's statement that answers the newest id of the events it wrote (None:
it wrote none), for the wake-up sent once the change has committed (`event_notices.py`)."""


def _events(one: bool) -> str:
    """One statement: the place, the rows, then the newest id."""
    return _appended(lambda column: column, one) + f"SELECT max(id) AS {NEWEST_EVENT} FROM appended"


def _numbered(text: str, first: int) -> str:
    return re.sub(r"\$e(\d+)", lambda found: f"${first + int(found[1]) - 1}", text)


def events_from(first: int, one: bool) -> str:
    """The events' part of a `WITH` statement, their twelve parameters (`event_arguments`)
    from `$first` on; `one`: the one-event form (`one_event`)."""
    return _numbered(_events(one), first)


def events_with_new_row(first: int, row: str, owner: str | None, one: bool) -> str:
    """The same, for events written in the statement that inserts the row they are about:
    `row` names the `WITH` query that inserted it (returning its columns), and every id of an
    event that is `NEW_ROW` becomes that row's id (`NEW_ROW_OWNER`: its column `owner`). The
    statement answers exactly one row: the new row, or nulls when none was inserted (so that
    writes sent together, `write_batches`, can be told apart), with the newest event's id in
    the column `NEWEST_EVENT`."""
    known = {NEW_ROW: f"{row}.id", **({NEW_ROW_OWNER: f"{row}.{owner}"} if owner else {})}

    def reference(column: str) -> str:
        cases = " ".join(f"WHEN {column} = {id_} THEN {value}" for id_, value in known.items())
        return f"CASE {cases} ELSE {column} END"

    appended = _appended(reference, one).replace("FROM place, (", f"FROM {row}, place, (")
    return _numbered(appended, first) + (
        f"SELECT {row}.*, (SELECT max(id) FROM appended) AS {NEWEST_EVENT} "
        f"FROM (SELECT 1) AS one LEFT JOIN {row} ON true"
    )


_APPEND = {one: "WITH " + events_from(1, one) for one in (True, False)}


def emit(draft: EventDraft) -> None:
    """Say what the running change did; written when its transaction commits."""
    pending = _pending.get()
    if pending is None:
        raise RuntimeError("an event was emitted outside a change's transaction")
    pending.append(draft)


@contextmanager
def collecting() -> Iterator[list[EventDraft]]:
    """The events emitted until the block ends (a transaction's)."""
    events: list[EventDraft] = []
    token = _pending.set(events)
    try:
        yield events
    finally:
        _pending.reset(token)


def event_arguments(events: Sequence[EventDraft], entry: AuditEntry | None) -> list[Any]:
    """The twelve parameters of `events`, in the form `one_event(events)` says."""
    actor = [
        None if entry is None else entry.actor_kind.value,
        None if entry is None else entry.actor_id,
        None if entry is None else entry.actor_name,
        None if entry is None else entry.request_id,
    ]
    if one_event(events):
        (event,) = events
        return [
            *actor,
            event.type.value,
            event.subject_kind.value,
            event.subject_id,
            event.service_id,
            event.team_id,
            event.environment_id,
            event.deployment_id,
            orjson.dumps(dict(event.data)).decode(),
        ]
    return [
        *actor,
        [event.type.value for event in events],
        [event.subject_kind.value for event in events],
        [event.subject_id for event in events],
        [event.service_id for event in events],
        [event.team_id for event in events],
        [event.environment_id for event in events],
        [event.deployment_id for event in events],
        [orjson.dumps(dict(event.data)).decode() for event in events],
    ]


async def append(
    connection: Connection, events: Sequence[EventDraft], entry: AuditEntry | None
) -> int | None:
    """Write `events` in `connection`'s transaction, made by `entry`'s actor (None: by the
    platform itself); the newest one's id (None: no events)."""
    if not events:
        return None
    newest: int = await connection.fetchval(
        _APPEND[one_event(events)], *event_arguments(events, entry)
    )
    return newest
