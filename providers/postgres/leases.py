"""Leases on rows that one process at a time must work on (rollouts, provisioning): which
process holds each row a provider drives, claimed in PostgreSQL, never coordinated in memory.

A lease is a pair of columns on the row: its holder and when the lease lapses. Claiming takes
rows nobody holds, that the claimer holds already, or whose holder let the lease lapse (a
process killed with `kill -9` renews nothing), with `FOR UPDATE SKIP LOCKED`, so concurrent
claimers never wait for each other nor take the same row. Times are the database's
(`clock_timestamp()`): processes need not agree on the time. Giving every lease back (a
process stopping) notifies the others on `channel`, so that one takes the rows over at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import asyncpg


@dataclass(frozen=True, slots=True)
class Leases:
    table: str
    holder: str
    """The column naming the holding process."""
    lapses: str
    """The column saying when the lease lapses."""
    driven: str
    """The SQL condition of the rows a provider drives (those that may be leased)."""
    channel: str
    _claim: str = field(init=False)
    _renew: str = field(init=False)
    _release: str = field(init=False)

    def __post_init__(self) -> None:
        table, holder, lapses, driven = self.table, self.holder, self.lapses, self.driven
        claim = f"""
WITH claimable AS (
    SELECT id FROM {table}
    WHERE {driven}
      AND ({holder} IS NULL OR {holder} = $1 OR {lapses} < clock_timestamp())
      AND ($3::bigint[] IS NULL OR id = ANY($3::bigint[]))
    ORDER BY {lapses} NULLS FIRST, id
    LIMIT $4
    FOR UPDATE SKIP LOCKED
)
UPDATE {table} AS leased
SET {holder} = $1, {lapses} = clock_timestamp() + make_interval(secs => $2)
FROM claimable
WHERE leased.id = claimable.id
RETURNING leased.*
"""
        renew = f"""
UPDATE {table}
SET {lapses} = clock_timestamp() + make_interval(secs => $2)
WHERE id = ANY($3::bigint[]) AND {holder} = $1 AND {driven}
RETURNING id
"""
        # Only driven rows hold leases (leaving the driven states clears the lease): saying
        # so lets a release read their partial index instead of the whole table.
        release = f"""
UPDATE {table} SET {holder} = NULL, {lapses} = NULL
WHERE {holder} = $1 AND {driven} AND ($2::bigint[] IS NULL OR id = ANY($2::bigint[]))
"""
        object.__setattr__(self, "_claim", claim)
        object.__setattr__(self, "_renew", renew)
        object.__setattr__(self, "_release", release)

    async def claim(
        self,
        pool: asyncpg.Pool,
        owner: str,
        lease_seconds: float,
        ids: Sequence[int] | None,
        limit: int,
    ) -> list[asyncpg.Record]:
        """The rows claimed, by id."""
        found = await pool.fetch(
            self._claim, owner, float(lease_seconds), None if ids is None else list(ids), limit
        )
        return sorted(found, key=lambda row: int(row["id"]))

    async def renew(
        self, pool: asyncpg.Pool, owner: str, ids: Sequence[int], lease_seconds: float
    ) -> set[int]:
        """The ids `owner` still holds among `ids`, their leases extended."""
        if not ids:
            return set()
        found = await pool.fetch(self._renew, owner, float(lease_seconds), list(ids))
        return {row["id"] for row in found}

    async def release(self, pool: asyncpg.Pool, owner: str, ids: Sequence[int] | None) -> int:
        """Give leases back (of `ids`, or all of them, then telling the others)."""
        status = await pool.execute(self._release, owner, None if ids is None else list(ids))
        released = int(status.split()[-1])
        if released and ids is None:
            await pool.execute("SELECT pg_notify($1, '')", self.channel)
        return released
