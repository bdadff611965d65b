"""Row -> record mapping for deployments, their events and approvals, and shared SQL bits."""

from __future__ import annotations

import asyncpg

from domain.access.model import ActorKind
from domain.deployments.model import (
    ApprovalDecision,
    ApprovalRecord,
    DeploymentKind,
    DeploymentRecord,
    DeploymentState,
    Requester,
    StatusEvent,
)
from domain.deployments.ports import Protection, ProviderSettings
from providers.postgres.rows import RecordRows, column_names
from providers.postgres.writes.common import Connection

UNFINISHED_SQL = "('QUEUED', 'WAITING_APPROVAL', 'IN_PROGRESS')"

_PLAIN = column_names(DeploymentRecord, leaving_out={"kind", "state", "requested_by"})
COLUMNS = (*_PLAIN, "kind", "state", "requested_by_kind", "requested_by_id", "requested_by_name")
"""The columns `deployment` reads."""


def deployment(row: asyncpg.Record, prefix: str = "") -> DeploymentRecord:
    """`prefix`: of the deployment's columns, where a query joins them with others."""
    return DeploymentRecord(
        **{name: row[prefix + name] for name in _PLAIN},
        kind=DeploymentKind(row[prefix + "kind"]),
        state=DeploymentState(row[prefix + "state"]),
        requested_by=Requester(
            ActorKind(row[prefix + "requested_by_kind"]),
            row[prefix + "requested_by_id"],
            row[prefix + "requested_by_name"],
        ),
    )


event = RecordRows(StatusEvent, state=DeploymentState)


def approval(row: asyncpg.Record) -> ApprovalRecord:
    return ApprovalRecord(
        deployment_id=row["deployment_id"],
        actor=Requester(ActorKind(row["actor_kind"]), row["actor_id"], row["actor_name"]),
        decision=ApprovalDecision(row["decision"]),
        comment=row["comment"],
        at=row["at"],
    )


PROTECTION_SQL = (
    "SELECT e.id, e.required_approvals, e.prevent_self_approval, e.frozen, e.freeze_reason, "
    "ARRAY(SELECT a.team_id FROM environment_approver_teams a WHERE a.environment_id = e.id "
    "ORDER BY a.team_id) AS approver_team_ids FROM environments e"
)


def protection(row: asyncpg.Record) -> Protection:
    return Protection(
        environment_id=row["id"],
        required_approvals=row["required_approvals"],
        approver_team_ids=tuple(row["approver_team_ids"]),
        prevent_self_approval=row["prevent_self_approval"],
        frozen=row["frozen"],
        freeze_reason=row["freeze_reason"],
    )


def provider(row: asyncpg.Record) -> ProviderSettings:
    return ProviderSettings(row["id"], row["provider_kind"], row["provider_settings"])


async def add_event(
    connection: Connection,
    deployment_id: int,
    state: DeploymentState,
    raw_status: str | None,
    message: str | None,
    source: str,
) -> None:
    await connection.execute(
        "INSERT INTO deployment_events (deployment_id, state, raw_status, message, source) "
        "VALUES ($1, $2, $3, $4, $5)",
        deployment_id, state.value, raw_status, message, source,
    )  # fmt: skip


PAIR_LOCK = "'paved-deployments:' || {}::bigint || ':' || {}::bigint"
"""The key of one service x environment's lock, from the SQL of its two ids."""


async def lock_pair(connection: Connection, service_id: int, environment_id: int) -> None:
    """Serialise changes to one service x environment until the transaction ends."""
    await connection.execute(
        f"SELECT pg_advisory_xact_lock(hashtextextended({PAIR_LOCK.format('$1', '$2')}, 0))",
        service_id, environment_id,
    )  # fmt: skip
