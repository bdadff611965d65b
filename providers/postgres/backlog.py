"""The background runners' unfinished work, counted for `/metrics`: one statement, each count
read through the partial index of the rows a runner drives (cheap however long the history)."""

from __future__ import annotations

import asyncpg

from providers.postgres.deployments.leases import DRIVEN_SQL as ROLLOUTS
from providers.postgres.resources.transitions import DRIVEN_SQL as RESOURCES

_COUNTS = f"""
SELECT (SELECT count(*) FROM deployments WHERE {ROLLOUTS}) AS rollouts,
       (SELECT count(*) FROM resources WHERE state IN {RESOURCES}) AS resources,
       (SELECT count(*) FROM webhook_deliveries
         WHERE state IN ('PENDING', 'RETRYING')) AS webhook_deliveries
"""


async def backlog(pool: asyncpg.Pool) -> dict[str, int]:
    """Deployments being rolled out, resources a provider works on, webhook deliveries not yet
    delivered (nor given up)."""
    row = await pool.fetchrow(_COUNTS)
    assert row is not None
    return {name: int(count) for name, count in row.items()}
