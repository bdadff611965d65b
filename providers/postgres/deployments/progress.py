"""Moving deployments along the state machine: reported transitions and approvals.

Each runs inside a transaction the caller opened, with the deployment's row locked under its
service x environment's advisory lock (the lock `create` and `record` take).

When a deployment SUCCEEDS, the one that was current for its service x environment is replaced
first (the unique index `deployments_current` allows one SUCCEEDED per pair): it becomes
ROLLED_BACK when the new one is a ROLLBACK whose `rollback_of` it is, INACTIVE otherwise (also
for a ROLLBACK whose target was replaced meanwhile, say by a recorded deployment: what it
replaces then was not what it rolled back).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import asyncpg

from domain.access.model import Forbidden
from domain.deployments import states
from domain.deployments.model import (
    ApprovalDecision,
    DeploymentKind,
    DeploymentRecord,
    DeploymentState,
    Requester,
)
from domain.errors import Conflict, NotFound, PreconditionFailed
from domain.events import describe
from domain.events.model import EventType
from providers.postgres.deployments import rows
from providers.postgres.deployments.rows import add_event, lock_pair
from providers.postgres.outbox import emit
from providers.postgres.writes.common import Connection


async def locked(connection: Connection, deployment_id: int, path: list[str]) -> asyncpg.Record:
    pair = await connection.fetchrow(
        "SELECT service_id, environment_id FROM deployments WHERE id = $1", deployment_id
    )
    if pair is None:
        raise NotFound(f"no deployment {deployment_id}", path)
    await lock_pair(connection, pair["service_id"], pair["environment_id"])
    row = await connection.fetchrow(
        "SELECT * FROM deployments WHERE id = $1 FOR UPDATE", deployment_id
    )
    assert row is not None
    return row


async def supersede(
    connection: Connection, current: DeploymentRecord, state: DeploymentState, source: str
) -> None:
    """SUCCEEDED -> INACTIVE or ROLLED_BACK: another deployment now runs in its place."""
    states.check(current.state, state, system=True)
    await connection.execute(
        "WITH replaced AS (UPDATE deployments SET state = $2 WHERE id = $1 RETURNING id, state) "
        "INSERT INTO deployment_events (deployment_id, state, raw_status, message, source) "
        "SELECT id, state, NULL, 'replaced', $3 FROM replaced",
        current.id, state.value, source,
    )  # fmt: skip
    emit(describe.state_changed(current, current.state, state, message="replaced"))


_UPDATE = """
UPDATE deployments SET
    state = $2,
    raw_status = coalesce($3, raw_status),
    status_message = coalesce($4, status_message),
    url = coalesce($5, url),
    external_id = coalesce($6, external_id),
    log_url = coalesce($7, log_url),
    started_at = $8,
    finished_at = $9,
    lease_owner = CASE WHEN $2 IN ('QUEUED', 'IN_PROGRESS') THEN lease_owner END,
    lease_expires_at = CASE WHEN $2 IN ('QUEUED', 'IN_PROGRESS') THEN lease_expires_at END
WHERE id = $1
RETURNING *
"""


async def apply(
    connection: Connection,
    row: asyncpg.Record,
    target: DeploymentState,
    *,
    raw_status: str | None,
    message: str | None,
    source: str,
    url: str | None,
    external_id: str | None,
    log_url: str | None,
    now: datetime,
    started_at: datetime | None = None,
    finished_at: datetime | None = None,
    system: bool = False,
) -> DeploymentRecord:
    """Move the locked `row` to `target`, or refresh its details when it is already there.

    Entering IN_PROGRESS (or finishing without a start) sets `started_at`; entering SUCCEEDED,
    FAILED or CANCELED sets `finished_at`; leaving QUEUED and IN_PROGRESS clears the rollout
    lease (nobody follows a finished deployment). A report of the state a deployment is already in
    is accepted: an unfinished one takes the new details (and an event when the provider's
    words changed), a finished one stays as it is.
    """
    source_state = DeploymentState(row["state"])
    if source_state == target:
        if target not in states.UNFINISHED:
            return rows.deployment(row)
        changed = (raw_status, message) != (row["raw_status"], row["status_message"]) and (
            raw_status is not None or message is not None
        )
    else:
        states.check(source_state, target, system=system)
        changed = True
    started = row["started_at"]
    if started is None and target in {DeploymentState.IN_PROGRESS, DeploymentState.SUCCEEDED}:
        started = started_at or now
    finished = row["finished_at"]
    if finished is None and target in states.FINISHED:
        finished = finished_at or now
    if target is DeploymentState.SUCCEEDED:
        await _replace_current(connection, row, source)
    updated = await connection.fetchrow(
        _UPDATE,
        row["id"], target.value, raw_status, message, url, external_id, log_url, started,
        finished,
    )  # fmt: skip
    assert updated is not None
    if changed:
        await add_event(connection, row["id"], target, raw_status, message, source)
    moved = rows.deployment(updated)
    if source_state != target:
        emit(describe.state_changed(moved, source_state, target, message=message))
    return moved


async def _replace_current(connection: Connection, row: asyncpg.Record, source: str) -> None:
    current = await connection.fetchrow(
        "SELECT * FROM deployments WHERE service_id = $1 AND environment_id = $2 "
        "AND state = 'SUCCEEDED' AND id <> $3 FOR UPDATE",
        row["service_id"], row["environment_id"], row["id"],
    )  # fmt: skip
    if current is None:
        return
    rolled_back = (
        row["kind"] == DeploymentKind.ROLLBACK.value and row["rollback_of_id"] == current["id"]
    )
    state = DeploymentState.ROLLED_BACK if rolled_back else DeploymentState.INACTIVE
    await supersede(connection, rows.deployment(current), state, source)


async def approve(
    connection: Connection,
    deployment_id: int,
    actor: Requester,
    decision: ApprovalDecision,
    comment: str | None,
    approver_team_ids_of_actor: Collection[int] | None,
) -> DeploymentRecord:
    """Record `actor`'s decision. A rejection cancels the deployment; enough approvals (the
    environment's `required_approvals`, at least one) queue it."""
    path = ["input", "deployment"]
    row = await locked(connection, deployment_id, path)
    if row["state"] != DeploymentState.WAITING_APPROVAL.value:
        raise PreconditionFailed(
            f"deployment {deployment_id} is {row['state']}, not waiting for approval", path
        )
    environment = await connection.fetchrow(
        "SELECT required_approvals, prevent_self_approval, "
        "ARRAY(SELECT team_id FROM environment_approver_teams WHERE environment_id = $1) AS teams "
        "FROM environments WHERE id = $1",
        row["environment_id"],
    )
    assert environment is not None
    same_actor = (row["requested_by_kind"], row["requested_by_id"]) == (
        actor.kind.value,
        actor.actor_id,
    )
    if environment["prevent_self_approval"] and same_actor:
        raise Forbidden("the requester of a deployment may not approve it", path)
    if approver_team_ids_of_actor is not None and not set(environment["teams"]) & set(
        approver_team_ids_of_actor
    ):
        raise Forbidden("only members of the environment's approver teams may approve", path)
    try:
        async with connection.transaction():
            await connection.execute(
                "INSERT INTO deployment_approvals "
                "(deployment_id, actor_kind, actor_id, actor_name, decision, comment) "
                "VALUES ($1, $2, $3, $4, $5, $6)",
                deployment_id, actor.kind.value, actor.actor_id, actor.name, decision.value,
                comment,
            )  # fmt: skip
    except asyncpg.UniqueViolationError:
        raise Conflict(
            f"{actor.name} already decided on deployment {deployment_id}", path
        ) from None
    now: datetime = await connection.fetchval("SELECT clock_timestamp()")
    type_ = (
        EventType.DEPLOYMENT_REJECTED
        if decision is ApprovalDecision.REJECTED
        else EventType.DEPLOYMENT_APPROVED
    )
    emit(describe.deployment(type_, rows.deployment(row), by=actor.name, comment=comment))
    if decision is ApprovalDecision.REJECTED:
        message = f"rejected by {actor.name}" + (f": {comment}" if comment else "")
        return await apply(
            connection, row, DeploymentState.CANCELED, raw_status=None, message=message,
            source="approval", url=None, external_id=None, log_url=None, now=now,
        )  # fmt: skip
    approved = await connection.fetchval(
        "SELECT count(*) FROM deployment_approvals WHERE deployment_id = $1 "
        "AND decision = 'APPROVED'",
        deployment_id,
    )
    if approved < max(environment["required_approvals"], 1):
        return rows.deployment(row)
    return await apply(
        connection, row, DeploymentState.QUEUED, raw_status=None,
        message=f"approved ({approved} of {environment['required_approvals']})",
        source="approval", url=None, external_id=None, log_url=None, now=now, system=True,
    )  # fmt: skip
