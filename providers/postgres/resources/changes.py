"""What a resource's users ask of it once it exists: new parameters, deletion. Each runs inside
a transaction the caller opened."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.errors import PreconditionFailed
from domain.events import describe
from domain.events.model import EventType
from domain.resources.model import ResourceRecord, ResourceState
from providers.postgres.outbox import emit
from providers.postgres.resources import rows, transitions
from providers.postgres.resources.rows import RESOURCE_PATH, locked_resource, plain
from providers.postgres.writes.common import Connection

S = ResourceState

_UPDATABLE = frozenset({S.READY, S.FAILED})
_NOTHING_BUILT = frozenset({S.REQUESTED, S.WAITING_APPROVAL})
"""States in which no provider has built anything yet: deleting is immediate."""


async def update_parameters(
    connection: Connection,
    resource_id: int,
    expected_version: int | None,
    parameters: Mapping[str, Any],
) -> ResourceRecord:
    row = await locked_resource(connection, resource_id, expected_version)
    state = S(row["state"])
    if state not in _UPDATABLE:
        raise PreconditionFailed(
            f"resource {resource_id} is {state.value}: only a READY or FAILED resource takes "
            "new parameters",
            RESOURCE_PATH,
        )
    updated = await transitions.apply(
        connection, row, S.UPDATING, message="parameters changed", source="api",
        parameters=parameters, path=RESOURCE_PATH,
    )  # fmt: skip
    old, new = plain(row["parameters"]), plain(updated.parameters)
    emit(
        describe.resource(EventType.RESOURCE_UPDATED, updated, parameters={"old": old, "new": new})
    )
    return updated


async def request_delete(
    connection: Connection, resource_id: int, expected_version: int | None
) -> ResourceRecord:
    """DELETED at once when nothing was built yet, else DELETING (the provider removes it);
    a resource DELETING already stays as it is."""
    row = await locked_resource(connection, resource_id, expected_version)
    state = S(row["state"])
    if state is S.DELETED:
        raise PreconditionFailed(f"resource {resource_id} is DELETED already", RESOURCE_PATH)
    if state is S.DELETING:
        return rows.resource(row)
    if state in _NOTHING_BUILT:
        target, message = S.DELETED, "withdrawn before it was built"
    else:
        target, message = S.DELETING, "deletion requested"
    return await transitions.apply(
        connection, row, target, message=message, source="api", path=RESOURCE_PATH
    )
