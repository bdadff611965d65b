"""Idempotency keys on PostgreSQL (the `IdempotencyKeys` port; table from migration 0015).

`claim` runs first in the transaction of the change (`AuditedTransactions.run`): the key is
inserted there, so that it is taken exactly when the change commits; a concurrent attempt's
insert waits on the row and then stops before any work (`KeyInUse`), which the use-case runner
answers as a replay. A change that turns out to change nothing `release`s it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
import orjson
from asyncpg.pool import PoolConnectionProxy

from domain.idempotency import KEPT, FirstUse, KeyClaim, KeyInUse

Connection = asyncpg.Connection | PoolConnectionProxy

_FIRST_USE = """
SELECT operation, input_hash, result::text AS result, created_at FROM idempotency_keys
WHERE actor_kind = $1 AND actor_id = $2 AND key = $3 AND created_at > now() - $4::interval
"""

# A row left from before `KEPT` is taken over; one of this attempt is kept as it is.
_CLAIM = """
INSERT INTO idempotency_keys (actor_kind, actor_id, key, operation, input_hash, attempt)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (actor_kind, actor_id, key) DO UPDATE
SET operation = EXCLUDED.operation, input_hash = EXCLUDED.input_hash,
    attempt = EXCLUDED.attempt, result = NULL, created_at = now()
WHERE idempotency_keys.attempt = EXCLUDED.attempt
   OR idempotency_keys.created_at <= now() - $7::interval
RETURNING 1
"""

_REMEMBER = """
UPDATE idempotency_keys SET result = $5::text::jsonb
WHERE actor_kind = $1 AND actor_id = $2 AND key = $3 AND attempt = $4
"""


def _actor(claim: KeyClaim) -> tuple[str, int, str]:
    return claim.actor_kind, claim.actor_id or 0, claim.key


async def claim(connection: Connection, claim: KeyClaim) -> None:
    """Take the key in the change's transaction; `KeyInUse` when another attempt has it."""
    taken = await connection.fetchval(
        _CLAIM, *_actor(claim), claim.operation, claim.input_hash, claim.attempt, KEPT
    )
    if taken is None:
        raise KeyInUse(claim.key)


async def release(connection: Connection, claim: KeyClaim) -> None:
    """Give the key back: the work it was claimed for changed nothing."""
    await connection.execute(
        "DELETE FROM idempotency_keys WHERE actor_kind = $1 AND actor_id = $2 AND key = $3 "
        "AND attempt = $4",
        *_actor(claim),
        claim.attempt,
    )


class PostgresIdempotencyKeys:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def first_use(self, claim: KeyClaim) -> FirstUse | None:
        row = await self._pool.fetchrow(_FIRST_USE, *_actor(claim), KEPT)
        if row is None:
            return None
        result = None if row["result"] is None else orjson.loads(row["result"])
        return FirstUse(row["operation"], row["input_hash"], result, row["created_at"])

    async def remember(self, claim: KeyClaim, result: Any) -> None:
        await self._pool.execute(
            _REMEMBER, *_actor(claim), claim.attempt, orjson.dumps(result).decode()
        )

    async def prune(self, older_than: datetime) -> int:
        status = await self._pool.execute(
            "DELETE FROM idempotency_keys WHERE created_at < $1", older_than
        )
        return int(status.split()[-1])
