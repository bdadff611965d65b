"""Moving a resource along the state machine (`domain.resources.states`), inside a transaction
the caller opened, with its row locked (`rows.locked_resource`).

Each state change writes one history row (`resource_status_events`) and one
RESOURCE_STATE_CHANGED event, counts a new version, sets `ready_at` the first time the resource
is READY, and keeps `action_started_at`, when the current provisioning, update or deletion
began: set when one begins (REQUESTED -> PROVISIONING goes on with the same one), cleared when
no provider works on the resource any more. Leaving the driven states (`states.DRIVEN`) drops
the lease: nobody follows a resource no provider works on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg

from domain.events import describe
from domain.resources import states
from domain.resources.model import ResourceRecord, ResourceState, SecretRef
from providers.postgres.outbox import emit
from providers.postgres.resources import rows
from providers.postgres.resources.rows import add_status_event, plain, stored_refs
from providers.postgres.writes.common import Connection

S = ResourceState

DRIVEN_SQL = "(" + ", ".join(f"'{state.value}'" for state in sorted(states.DRIVEN)) + ")"
"""The driven states as an SQL list (the partial index `resources_driven_idx`)."""

_MOVE = f"""
UPDATE resources SET
    state = $2::text,
    status_message = $3,
    outputs = coalesce($4::jsonb, outputs),
    secret_refs = coalesce($5::jsonb, secret_refs),
    parameters = coalesce($6::jsonb, parameters),
    ready_at = CASE WHEN $2::text = 'READY' THEN coalesce(ready_at, clock_timestamp())
                    ELSE ready_at END,
    action_started_at = CASE WHEN $2::text NOT IN {DRIVEN_SQL} THEN NULL
                             WHEN $7::boolean THEN clock_timestamp()
                             ELSE coalesce(action_started_at, clock_timestamp()) END,
    leased_by = CASE WHEN $2::text IN {DRIVEN_SQL} THEN leased_by END,
    leased_until = CASE WHEN $2::text IN {DRIVEN_SQL} THEN leased_until END,
    version = version + 1,
    updated_at = clock_timestamp()
WHERE id = $1
RETURNING *
"""

_REFRESH = """
UPDATE resources SET
    status_message = coalesce($2, status_message),
    outputs = coalesce($3::jsonb, outputs),
    secret_refs = coalesce($4::jsonb, secret_refs),
    version = version + 1,
    updated_at = clock_timestamp()
WHERE id = $1
RETURNING *
"""


def _begins_action(source: ResourceState, target: ResourceState) -> bool:
    """Whether entering `target` from `source` starts a new provisioning, update or deletion."""
    return target in states.DRIVEN and (source, target) != (S.REQUESTED, S.PROVISIONING)


async def apply(
    connection: Connection,
    row: asyncpg.Record,
    target: ResourceState,
    *,
    message: str | None,
    source: str,
    outputs: Mapping[str, Any] | None = None,
    secret_refs: Sequence[SecretRef] | None = None,
    parameters: Mapping[str, Any] | None = None,
    system: bool = False,
    path: Sequence[str] = ("input", "state"),
) -> ResourceRecord:
    """Move the locked `row` to `target` (PRECONDITION_FAILED at `path` when the state machine
    does not allow it), or, when it is there already, only take the new message, outputs and
    secret references (a new version only if one of them changed; no history, no event)."""
    current = ResourceState(row["state"])
    new_outputs = None if outputs is None else plain(outputs)
    new_refs = stored_refs(secret_refs)
    if current == target:
        if (
            (message is None or message == row["status_message"])
            and (new_outputs is None or new_outputs == row["outputs"])
            and (new_refs is None or new_refs == row["secret_refs"])
        ):
            return rows.resource(row)
        refreshed = await connection.fetchrow(_REFRESH, row["id"], message, new_outputs, new_refs)
        assert refreshed is not None
        return rows.resource(refreshed)
    states.check(current, target, system=system, path=tuple(path))
    moved_row = await connection.fetchrow(
        _MOVE,
        row["id"], target.value, message, new_outputs, new_refs,
        None if parameters is None else plain(parameters), _begins_action(current, target),
    )  # fmt: skip
    assert moved_row is not None
    await add_status_event(connection, row["id"], target, message, source)
    moved = rows.resource(moved_row)
    emit(describe.resource_state_changed(moved, current, target, message))
    return moved
