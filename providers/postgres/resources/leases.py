"""Provisioning leases (migration 0010): which process follows each resource a provider works
on (`states.DRIVEN`), as rollout leases do for deployments (`deployments/leases.py`).

A lease is the pair `leased_by`, `leased_until` on the resource's row. Claiming takes resources
nobody holds, or whose holder let the lease lapse, with `FOR UPDATE SKIP LOCKED`, so concurrent
claimers never wait for each other nor take the same row. Times are the database's
(`clock_timestamp()`). Leaving the driven states clears the lease (`transitions.apply`).
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from domain.resources.model import ResourceRecord
from providers.postgres.resources import rows
from providers.postgres.resources.transitions import DRIVEN_SQL

RELEASED_CHANNEL = "paved_resources"
"""Notified when a process gave its provisioning leases back."""

_CLAIM = f"""
WITH claimable AS (
    SELECT id FROM resources
    WHERE state IN {DRIVEN_SQL}
      AND (leased_by IS NULL OR leased_by = $1 OR leased_until < clock_timestamp())
      AND ($3::bigint[] IS NULL OR id = ANY($3::bigint[]))
    ORDER BY leased_until NULLS FIRST, id
    LIMIT $4
    FOR UPDATE SKIP LOCKED
)
UPDATE resources AS r
SET leased_by = $1, leased_until = clock_timestamp() + make_interval(secs => $2)
FROM claimable
WHERE r.id = claimable.id
RETURNING r.*
"""

_RENEW = f"""
UPDATE resources
SET leased_until = clock_timestamp() + make_interval(secs => $2)
WHERE id = ANY($3::bigint[]) AND leased_by = $1 AND state IN {DRIVEN_SQL}
RETURNING id
"""

_RELEASE = """
UPDATE resources SET leased_by = NULL, leased_until = NULL
WHERE leased_by = $1 AND ($2::bigint[] IS NULL OR id = ANY($2::bigint[]))
"""


async def claim(
    pool: asyncpg.Pool,
    owner: str,
    lease_seconds: float,
    ids: Sequence[int] | None,
    limit: int,
) -> list[ResourceRecord]:
    found = await pool.fetch(
        _CLAIM, owner, float(lease_seconds), None if ids is None else list(ids), limit
    )
    return sorted((rows.resource(row) for row in found), key=lambda r: r.id)


async def renew(
    pool: asyncpg.Pool, owner: str, ids: Sequence[int], lease_seconds: float
) -> set[int]:
    if not ids:
        return set()
    found = await pool.fetch(_RENEW, owner, float(lease_seconds), list(ids))
    return {row["id"] for row in found}


async def release(pool: asyncpg.Pool, owner: str, ids: Sequence[int] | None) -> int:
    """Give leases back; when it gave back every lease (the process stops), tell the others
    (`NOTIFY paved_resources`) so that one takes the resources over at once."""
    status = await pool.execute(_RELEASE, owner, None if ids is None else list(ids))
    released = int(status.split()[-1])
    if released and ids is None:
        await pool.execute(f"SELECT pg_notify('{RELEASED_CHANNEL}', '')")
    return released
