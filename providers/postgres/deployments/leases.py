"""Rollout leases (migration 0009): which process follows each driven unfinished deployment.

A lease is the pair `lease_owner`, `lease_expires_at` on the deployment's row. Claiming takes
deployments nobody holds, or whose holder let the lease lapse (a process killed with `kill -9`
renews nothing), with `FOR UPDATE SKIP LOCKED`, so concurrent claimers never wait for each
other nor take the same row. Times are the database's (`clock_timestamp()`): processes need
not agree on the time. Finishing a deployment clears its lease (`progress.apply`).
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from domain.deployments.model import DeploymentRecord
from providers.postgres.deployments import rows

RELEASED_CHANNEL = "paved_rollouts"
"""Notified when a process gave its rollout leases back."""

DRIVEN_SQL = "state IN ('QUEUED', 'IN_PROGRESS') AND kind <> 'RECORDED'"
"""Deployments a provider drives (the partial index `deployments_driven_idx`)."""

_CLAIM = f"""
WITH claimable AS (
    SELECT id FROM deployments
    WHERE {DRIVEN_SQL}
      AND (lease_owner IS NULL OR lease_owner = $1 OR lease_expires_at < clock_timestamp())
      AND ($3::bigint[] IS NULL OR id = ANY($3::bigint[]))
    ORDER BY lease_expires_at NULLS FIRST, id
    LIMIT $4
    FOR UPDATE SKIP LOCKED
)
UPDATE deployments AS d
SET lease_owner = $1, lease_expires_at = clock_timestamp() + make_interval(secs => $2)
FROM claimable
WHERE d.id = claimable.id
RETURNING d.*
"""

_RENEW = f"""
UPDATE deployments
SET lease_expires_at = clock_timestamp() + make_interval(secs => $2)
WHERE id = ANY($3::bigint[]) AND lease_owner = $1 AND {DRIVEN_SQL}
RETURNING id
"""

_RELEASE = """
UPDATE deployments SET lease_owner = NULL, lease_expires_at = NULL
WHERE lease_owner = $1 AND ($2::bigint[] IS NULL OR id = ANY($2::bigint[]))
"""


async def claim(
    pool: asyncpg.Pool,
    owner: str,
    lease_seconds: float,
    ids: Sequence[int] | None,
    limit: int,
) -> list[DeploymentRecord]:
    found = await pool.fetch(
        _CLAIM, owner, float(lease_seconds), None if ids is None else list(ids), limit
    )
    return sorted((rows.deployment(row) for row in found), key=lambda d: d.id)


async def renew(
    pool: asyncpg.Pool, owner: str, ids: Sequence[int], lease_seconds: float
) -> set[int]:
    if not ids:
        return set()
    found = await pool.fetch(_RENEW, owner, float(lease_seconds), list(ids))
    return {row["id"] for row in found}


async def release(pool: asyncpg.Pool, owner: str, ids: Sequence[int] | None) -> int:
    """Give leases back; when it gave back every lease (the process stops), tell the others
    (`NOTIFY paved_rollouts`) so that one takes the deployments over at once."""
    status = await pool.execute(_RELEASE, owner, None if ids is None else list(ids))
    released = int(status.split()[-1])
    if released and ids is None:
        await pool.execute(f"SELECT pg_notify('{RELEASED_CHANNEL}', '')")
    return released
