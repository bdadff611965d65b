"""Approving or rejecting a resource that waits for approval, inside a transaction the caller
opened. Who may decide (the class's approver teams) is the caller's check; the store counts."""

from __future__ import annotations

import asyncpg

from domain.deployments.model import ApprovalDecision, Requester
from domain.errors import Conflict, PreconditionFailed
from domain.events import describe
from domain.events.model import EventType
from domain.resources.model import ResourceRecord, ResourceState
from providers.postgres.outbox import emit
from providers.postgres.resources import rows, transitions
from providers.postgres.resources.rows import RESOURCE_PATH, locked_resource
from providers.postgres.writes.common import Connection

S = ResourceState


async def decide(
    connection: Connection,
    resource_id: int,
    actor: Requester,
    decision: ApprovalDecision,
    comment: str | None,
    prevent_self_approval: bool,
) -> ResourceRecord:
    """Record `actor`'s decision. A rejection fails the resource; enough approvals (its
    `required_approvals`, at least one) make it REQUESTED."""
    row = await locked_resource(connection, resource_id)
    if row["state"] != S.WAITING_APPROVAL.value:
        raise PreconditionFailed(
            f"resource {resource_id} is {row['state']}, not waiting for approval", RESOURCE_PATH
        )
    requested_by = rows.requester(row)
    if prevent_self_approval and (requested_by.kind, requested_by.actor_id) == (
        actor.kind,
        actor.actor_id,
    ):
        raise PreconditionFailed("the requester of a resource may not decide on it", RESOURCE_PATH)
    try:
        async with connection.transaction():  # a savepoint: the error below is recoverable
            await connection.execute(
                "INSERT INTO resource_approvals "
                "(resource_id, actor_kind, actor_id, actor_name, decision, comment) "
                "VALUES ($1, $2, $3, $4, $5, $6)",
                resource_id, actor.kind.value, actor.actor_id, actor.name, decision.value,
                comment,
            )  # fmt: skip
    except asyncpg.UniqueViolationError:
        raise Conflict(
            f"{actor.name} already decided on resource {resource_id}", RESOURCE_PATH
        ) from None
    waiting = rows.resource(row)
    if decision is ApprovalDecision.REJECTED:
        emit(
            describe.resource(EventType.RESOURCE_REJECTED, waiting, by=actor.name, comment=comment)
        )
        message = f"rejected by {actor.name}" + (f": {comment}" if comment else "")
        return await transitions.apply(
            connection, row, S.FAILED, message=message, source="approval", system=True,
            path=RESOURCE_PATH,
        )  # fmt: skip
    emit(describe.resource(EventType.RESOURCE_APPROVED, waiting, by=actor.name, comment=comment))
    approved = await connection.fetchval(
        "SELECT count(*) FROM resource_approvals WHERE resource_id = $1 AND decision = 'APPROVED'",
        resource_id,
    )
    required = row["required_approvals"]
    if approved < max(required, 1):
        return waiting
    return await transitions.apply(
        connection, row, S.REQUESTED, message=f"approved ({approved} of {required})",
        source="approval", system=True, path=RESOURCE_PATH,
    )  # fmt: skip
