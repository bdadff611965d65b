"""Creating deployments: by the platform (`create`) and as reported by CI (`record`).

Both run inside a transaction the caller opened, under the service x environment's advisory
lock, so numbers, the one-unfinished rule and idempotency hold under concurrency; the partial
unique indexes back them up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NoReturn

import asyncpg

from domain.deployments import states
from domain.deployments.model import DeploymentKind, DeploymentRecord, DeploymentState, Requester
from domain.deployments.ports import RecordedDeployment
from domain.errors import Conflict, NotFound, PreconditionFailed, ValidationFailed
from domain.events import describe
from domain.events.model import EventType
from providers.postgres.deployments import rows
from providers.postgres.deployments.progress import apply, supersede
from providers.postgres.deployments.rows import PAIR_LOCK, UNFINISHED_SQL
from providers.postgres.outbox import emit
from providers.postgres.writes.common import Connection

RECORDED_PROVIDER = "recorded"
"""The `provider` of deployments CI made itself."""


class KeyTaken(Exception):
    """Another transaction inserted the same idempotency key meanwhile: look again."""


@dataclass(frozen=True, slots=True)
class Draft:
    service_slug: str
    environment_slug: str
    version: str
    commit_sha: str | None
    description: str | None
    kind: DeploymentKind
    requester: Requester
    idempotency_key: str | None
    fingerprint: str | None
    promoted_from_id: int | None
    rollback_of_id: int | None
    rollback_to_id: int | None = None


@dataclass(frozen=True, slots=True)
class _Target:
    service_id: int
    environment_id: int
    environment: asyncpg.Record
    now: datetime
    """The time once the pair is locked."""


_CURRENT = "_current_"

# The service found, the environment locked FOR SHARE (a freeze or a protection change waits
# for this deployment, and the reverse), then the pair's lock (`PAIR_LOCK`): the fenced
# subquery (OFFSET 0) runs first.
_PAIR = f"""
    SELECT s.id AS _service_id, e.*,
           pg_advisory_xact_lock(hashtextextended({PAIR_LOCK.format("s.id", "e.id")}, 0))
    FROM (SELECT id FROM services WHERE slug = $1) s,
         (SELECT * FROM environments WHERE slug = $2 FOR SHARE) e
    OFFSET 0
"""

# One trip: the pair locked, then the time.
_TARGET = f"SELECT clock_timestamp() AS _now, target.* FROM ({_PAIR}) target"

# One trip: the pair locked, then its current deployment locked FOR UPDATE (as `_current`
# locks it), its columns named `_current_<column>`, then the time.
_TARGET_AND_CURRENT = f"""
SELECT clock_timestamp() AS _now, target.*,
       {", ".join(f"current.{name} AS {_CURRENT}{name}" for name in rows.COLUMNS)}
FROM ({_PAIR}) target
LEFT JOIN LATERAL (
    SELECT * FROM deployments
    WHERE service_id = target._service_id AND environment_id = target.id
      AND state = 'SUCCEEDED'
    FOR UPDATE
) current ON true
"""


async def _target(connection: Connection, service_slug: str, environment_slug: str) -> _Target:
    found = await connection.fetchrow(_TARGET, service_slug, environment_slug)
    if found is None:
        await _missing(connection, service_slug, environment_slug)
    return _Target(found["_service_id"], found["id"], found, found["_now"])


async def _target_and_current(
    connection: Connection, service_slug: str, environment_slug: str
) -> tuple[_Target, DeploymentRecord | None]:
    """`_target` and then `_current`, in one trip."""
    found = await connection.fetchrow(_TARGET_AND_CURRENT, service_slug, environment_slug)
    if found is None:
        await _missing(connection, service_slug, environment_slug)
    target = _Target(found["_service_id"], found["id"], found, found["_now"])
    current = None if found[_CURRENT + "id"] is None else rows.deployment(found, _CURRENT)
    return target, current


async def _missing(connection: Connection, service_slug: str, environment_slug: str) -> NoReturn:
    """Which of the service and the environment does not exist."""
    if await connection.fetchval("SELECT id FROM services WHERE slug = $1", service_slug) is None:
        raise NotFound(f"no service '{service_slug}'", ["input", "service"])
    raise NotFound(f"no environment '{environment_slug}'", ["input", "environment"])


async def _refuse_unfinished(
    connection: Connection, target: _Target, service_slug: str, environment_slug: str
) -> None:
    busy = await connection.fetchrow(
        f"SELECT id, number, state FROM deployments WHERE service_id = $1 "
        f"AND environment_id = $2 AND state IN {UNFINISHED_SQL}",
        target.service_id, target.environment_id,
    )  # fmt: skip
    if busy is not None:
        raise Conflict(
            f"deployment #{busy['number']} (id {busy['id']}) of '{service_slug}' to "
            f"'{environment_slug}' is still {busy['state']}",
            ["input", "service"],
        )


async def _current(connection: Connection, target: _Target) -> DeploymentRecord | None:
    row = await connection.fetchrow(
        "SELECT * FROM deployments WHERE service_id = $1 AND environment_id = $2 "
        "AND state = 'SUCCEEDED' FOR UPDATE",
        target.service_id, target.environment_id,
    )  # fmt: skip
    return None if row is None else rows.deployment(row)


_INSERT = """
INSERT INTO deployments (
    service_id, environment_id, number, version, commit_sha, committed_at, description, kind,
    state, provider, external_id, url, requested_by_kind, requested_by_id, requested_by_name,
    started_at, finished_at, promoted_from_id, rollback_of_id, previous_id, idempotency_key,
    idempotency_fingerprint, provider_settings, rollback_to_id)
SELECT $1, $2, coalesce(max(number), 0) + 1, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
       $15, $16, $17, $18, $19, $20, $21, $22, $23
FROM deployments WHERE service_id = $1 AND environment_id = $2
"""

# A key already taken by another deployment of the same requester: no row (`KeyTaken`).
_KEY_TAKEN = """
ON CONFLICT (requested_by_kind, (coalesce(requested_by_id, 0)), idempotency_key)
    WHERE idempotency_key IS NOT NULL DO NOTHING
"""


def _insert_logged(on_conflict: str = "") -> str:
    """The deployment's row and its first status event ($24 message, $25 source), in one
    statement."""
    return (
        f"WITH inserted AS ({_INSERT} {on_conflict} RETURNING *), "
        "logged AS (INSERT INTO deployment_events (deployment_id, state, raw_status, message, "
        "source) SELECT id, state, NULL, $24, $25 FROM inserted) "
        "SELECT * FROM inserted"
    )


_INSERT_REQUESTED = _insert_logged(_KEY_TAKEN)
_INSERT_RECORDED = _insert_logged()


async def _check_source(connection: Connection, draft: Draft, target: _Target) -> None:
    """A promotion comes from a deployment of the same service elsewhere that succeeded; a
    rollback replaces the current deployment of its service x environment."""
    if draft.kind is DeploymentKind.PROMOTION:
        source = await connection.fetchrow(
            "SELECT service_id, environment_id, state FROM deployments WHERE id = $1",
            draft.promoted_from_id,
        )
        if (
            source is None
            or source["service_id"] != target.service_id
            or source["environment_id"] == target.environment_id
            or DeploymentState(source["state"]) not in states.SUCCESSFUL
        ):
            raise PreconditionFailed(
                f"deployment {draft.promoted_from_id} is not a successful deployment of "
                f"'{draft.service_slug}' in another environment",
                ["input", "fromEnvironment"],
            )


async def create(connection: Connection, draft: Draft) -> tuple[DeploymentRecord, bool]:
    target, current = await _target_and_current(
        connection, draft.service_slug, draft.environment_slug
    )
    if draft.idempotency_key is not None:
        first = await connection.fetchrow(
            "SELECT * FROM deployments WHERE requested_by_kind = $1 "
            "AND coalesce(requested_by_id, 0) = coalesce($2::bigint, 0) AND idempotency_key = $3",
            draft.requester.kind.value, draft.requester.actor_id, draft.idempotency_key,
        )  # fmt: skip
        if first is not None:
            if first["idempotency_fingerprint"] != draft.fingerprint:
                raise Conflict(
                    f"idempotency key '{draft.idempotency_key}' was used for another request "
                    f"(deployment {first['id']})",
                    ["input", "idempotencyKey"],
                )
            return rows.deployment(first), False
    environment = target.environment
    if environment["frozen"]:
        reason = environment["freeze_reason"]
        raise PreconditionFailed(
            f"environment '{draft.environment_slug}' is frozen" + (f": {reason}" if reason else ""),
            ["input", "environment"],
        )
    await _refuse_unfinished(connection, target, draft.service_slug, draft.environment_slug)
    await _check_source(connection, draft, target)
    if draft.kind is DeploymentKind.ROLLBACK and (
        current is None or current.id != draft.rollback_of_id
    ):
        raise PreconditionFailed(
            f"deployment {draft.rollback_of_id} is not the current deployment of "
            f"'{draft.service_slug}' in '{draft.environment_slug}'",
            ["input", "toDeployment"],
        )
    state = (
        DeploymentState.WAITING_APPROVAL
        if environment["required_approvals"] > 0
        else DeploymentState.QUEUED
    )
    requester = draft.requester
    # The deployment keeps the environment's provider (kind and settings) as it is now, the row
    # being locked FOR SHARE: the runner follows it there whatever the environment's becomes.
    row = await connection.fetchrow(
        _INSERT_REQUESTED,
        target.service_id, target.environment_id, draft.version, draft.commit_sha, None,
        draft.description, draft.kind.value, state.value, environment["provider_kind"],
        None, None, requester.kind.value, requester.actor_id, requester.name, None, None,
        draft.promoted_from_id, draft.rollback_of_id,
        None if current is None else current.id, draft.idempotency_key,
        draft.fingerprint, environment["provider_settings"], draft.rollback_to_id,
        "requested", "api",
    )  # fmt: skip
    if row is None:
        raise KeyTaken
    created = rows.deployment(row)
    emit(describe.deployment(EventType.DEPLOYMENT_CREATED, created, state=state))
    if state is DeploymentState.WAITING_APPROVAL:
        required = environment["required_approvals"]
        emit(
            describe.deployment(
                EventType.DEPLOYMENT_APPROVAL_REQUESTED, created, requiredApprovals=required
            )
        )
    return created, True


def _recorded_times(
    report: RecordedDeployment, now: datetime
) -> tuple[datetime | None, datetime | None]:
    started = report.started_at
    finished = report.finished_at
    if report.state is not DeploymentState.QUEUED and started is None:
        started = finished if finished is not None and finished < now else now
    if report.state in states.FINISHED and finished is None:
        finished = now
    if started is not None and finished is not None and finished < started:
        raise ValidationFailed("`finishedAt` is before `startedAt`", ["input", "finishedAt"])
    return started, finished


async def record(
    connection: Connection, report: RecordedDeployment, requester: Requester
) -> tuple[DeploymentRecord, bool]:
    """A deployment CI made itself. A report with a known `external_id` (per service x
    environment) is a replay when its state is the same, a state change when the state machine
    allows it, and a CONFLICT when its version or commit differ."""
    current: DeploymentRecord | None
    if report.external_id is None:
        target, current = await _target_and_current(connection, report.service, report.environment)
    else:
        # The report may be known: that deployment is locked before the current one, as a
        # transition that replaces the current deployment locks them.
        target = await _target(connection, report.service, report.environment)
        known = await connection.fetchrow(
            "SELECT * FROM deployments WHERE service_id = $1 AND environment_id = $2 "
            "AND kind = 'RECORDED' AND external_id = $3 FOR UPDATE",
            target.service_id, target.environment_id, report.external_id,
        )  # fmt: skip
        if known is not None:
            return await _record_again(connection, known, report, target.now), False
        current = await _current(connection, target)
    now = target.now
    if report.state not in states.RECORDABLE:
        allowed = ", ".join(sorted(state.value for state in states.RECORDABLE))
        raise ValidationFailed(f"`state` must be one of {allowed}", ["input", "state"])
    started, finished = _recorded_times(report, now)
    state = report.state
    if state in states.UNFINISHED:
        await _refuse_unfinished(connection, target, report.service, report.environment)
    if state is DeploymentState.SUCCEEDED:
        assert finished is not None
        if (
            current is not None
            and current.finished_at is not None
            and current.finished_at > finished
        ):
            state = DeploymentState.INACTIVE  # a late report: a newer one already runs
        elif current is not None:
            await supersede(connection, current, DeploymentState.INACTIVE, "recorded")
    row = await connection.fetchrow(
        _INSERT_RECORDED,
        target.service_id, target.environment_id, report.version, report.commit_sha,
        report.committed_at, report.description, DeploymentKind.RECORDED.value, state.value,
        RECORDED_PROVIDER, report.external_id, report.url, requester.kind.value,
        requester.actor_id, requester.name, started, finished, None, None,
        None if current is None else current.id, None, None, None, None,
        "recorded", "ci",
    )  # fmt: skip
    assert row is not None
    recorded = rows.deployment(row)
    emit(describe.deployment(EventType.DEPLOYMENT_CREATED, recorded, state=state))
    return recorded, True


async def _record_again(
    connection: Connection,
    known: asyncpg.Record,
    report: RecordedDeployment,
    now: datetime,
) -> DeploymentRecord:
    if (known["version"], known["commit_sha"]) != (report.version, report.commit_sha):
        raise Conflict(
            f"external id '{report.external_id}' was recorded for another version "
            f"(deployment {known['id']})",
            ["input", "externalId"],
        )
    current_state = DeploymentState(known["state"])
    if current_state == report.state or (
        current_state in states.SUCCESSFUL and report.state is DeploymentState.SUCCEEDED
    ):
        return rows.deployment(known)
    return await apply(
        connection, known, report.state, raw_status=None, message=None, source="ci",
        url=report.url, external_id=None, log_url=None, now=now,
        started_at=report.started_at, finished_at=report.finished_at,
    )  # fmt: skip
