"""Rollout leases (migration 0009): which process follows each driven unfinished deployment.

A lease is the pair `lease_owner`, `lease_expires_at` on the deployment's row, claimed,
renewed and released as `providers/postgres/leases.py` says. Finishing a deployment clears its
lease (`progress.apply`).
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from domain.deployments.model import DeploymentRecord
from providers.postgres.deployments import rows
from providers.postgres.leases import Leases

RELEASED_CHANNEL = "paved_rollouts"
"""Notified when a process gave its rollout leases back."""

DRIVEN_SQL = "state IN ('QUEUED', 'IN_PROGRESS') AND kind <> 'RECORDED'"
"""Deployments a provider drives (the partial index `deployments_driven_idx`)."""

LEASES = Leases("deployments", "lease_owner", "lease_expires_at", DRIVEN_SQL, RELEASED_CHANNEL)


async def claim(
    pool: asyncpg.Pool,
    owner: str,
    lease_seconds: float,
    ids: Sequence[int] | None,
    limit: int,
) -> list[DeploymentRecord]:
    found = await LEASES.claim(pool, owner, lease_seconds, ids, limit)
    return [rows.deployment(row) for row in found]


async def renew(
    pool: asyncpg.Pool, owner: str, ids: Sequence[int], lease_seconds: float
) -> set[int]:
    return await LEASES.renew(pool, owner, ids, lease_seconds)


async def release(pool: asyncpg.Pool, owner: str, ids: Sequence[int] | None) -> int:
    """Give leases back; when it gave back every lease (the process stops), tell the others
    (`NOTIFY paved_rollouts`) so that one takes the deployments over at once."""
    return await LEASES.release(pool, owner, ids)
