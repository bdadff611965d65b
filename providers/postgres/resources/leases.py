"""Provisioning leases (migration 0010): which process follows each resource a provider works
on (`states.DRIVEN`), as rollout leases do for deployments (`deployments/leases.py`).

A lease is the pair `leased_by`, `leased_until` on the resource's row, claimed, renewed and
released as `providers/postgres/leases.py` says. Leaving the driven states clears the lease
(`transitions.apply`).
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from domain.resources.model import ResourceRecord
from providers.postgres.leases import Leases
from providers.postgres.resources import rows
from providers.postgres.resources.transitions import DRIVEN_SQL

RELEASED_CHANNEL = "paved_resources"
"""Notified when a process gave its provisioning leases back."""

LEASES = Leases(
    "resources", "leased_by", "leased_until", f"state IN {DRIVEN_SQL}", RELEASED_CHANNEL
)


async def claim(
    pool: asyncpg.Pool,
    owner: str,
    lease_seconds: float,
    ids: Sequence[int] | None,
    limit: int,
) -> list[ResourceRecord]:
    found = await LEASES.claim(pool, owner, lease_seconds, ids, limit)
    return [rows.resource(row) for row in found]


async def renew(
    pool: asyncpg.Pool, owner: str, ids: Sequence[int], lease_seconds: float
) -> set[int]:
    return await LEASES.renew(pool, owner, ids, lease_seconds)


async def release(pool: asyncpg.Pool, owner: str, ids: Sequence[int] | None) -> int:
    """Give leases back; when it gave back every lease (the process stops), tell the others
    (`NOTIFY paved_resources`) so that one takes the resources over at once."""
    return await LEASES.release(pool, owner, ids)
