"""The audit log's hash chain: what a record's hash covers, and sealing records into it.

An append is a plain INSERT (`seal_seq`, `prev_hash`, `hash` NULL). Sealing, shortly after,
takes the committed unsealed records oldest id first, in one transaction under an advisory
lock that only sealers take (never a writer), and gives each its place (`seal_seq`, the head's
plus one), the previous record's hash and its own: the SHA-256, in hex, of the previous hash
followed by the canonical JSON of the record's fields (`hashed_fields`). Ids are not commit
order (a lower id may commit later): the chain's order is the order records were sealed in,
`seal_seq`. A record is sealed once: the lock, the `seal_seq IS NULL` guard of the UPDATE and
the unique `seal_seq` each stand in the way of a second time, and the table's trigger refuses
any other change (migration 0016).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import asyncpg
import orjson

from domain.audit.ports import SealBatch
from domain.audit.seals import SealHead
from providers.postgres.stored import Connection

# Any constant works; it only has to be the same for every Paved Road process. Sealers take
# it, writers never do.
SEAL_LOCK_KEY = 0x7365616C6572

HASHED = (
    "actor_kind", "actor_id", "actor_name", "token_id", "operation", "targets", "input",
    "outcome", "error_codes", "request_id", "idempotency_key",
)  # fmt: skip
"""Besides `at`, the stored columns a record's hash covers. Fixed, so that the hashes of the
records already written can still be checked."""

RECORD_COLUMNS = (
    "e.id, e.at, e.actor_kind, e.actor_id, e.actor_name, e.token_id, e.operation, e.targets, "
    "e.input::text AS input, e.outcome, e.error_codes, e.request_id, e.idempotency_key, "
    "e.channel, e.prev_hash, e.hash, e.seal_seq, e.sealed_at"
)

ANY_UNSEALED = "SELECT id FROM audit_events WHERE seal_seq IS NULL ORDER BY id LIMIT 1"
"""The sealer's look, through the partial index of unsealed records whatever the statistics
say: as `EXISTS (...)` the planner may scan the whole table for the first unsealed record,
the newest rows, at its end (3 ms a look under a write load)."""

_HEAD = """
SELECT clock_timestamp() AS now, h.seal_seq, h.hash, h.sealed_at
FROM (SELECT 1) AS one
LEFT JOIN LATERAL (SELECT seal_seq, hash, sealed_at FROM audit_events
                   WHERE seal_seq IS NOT NULL ORDER BY seal_seq DESC LIMIT 1) h ON true
"""

_UNSEALED = f"""
SELECT {RECORD_COLUMNS} FROM audit_events e WHERE e.seal_seq IS NULL ORDER BY e.id LIMIT $1
"""

_SEAL = """
UPDATE audit_events e
SET seal_seq = s.seq, prev_hash = s.prev_hash, hash = s.hash, sealed_at = $5
FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[]) AS s(id, seq, prev_hash, hash)
WHERE e.id = s.id AND e.seal_seq IS NULL
"""


@lru_cache(maxsize=2)
def _iso(at: datetime) -> str:
    """Remembers two: a batch's records alternate their own `at` and the `sealed_at` they
    share."""
    return (at if at.tzinfo is UTC else at.astimezone(UTC)).isoformat(timespec="microseconds")


def chain_hash(prev_hash: str | None, fields: Mapping[str, Any]) -> str:
    canonical = orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256((prev_hash or "").encode() + canonical).hexdigest()


def hashed_fields(
    at: datetime,
    columns: Mapping[str, Any] | asyncpg.Record,
    seal: tuple[int, int, datetime] | None = None,
) -> dict[str, Any]:
    """What a record's hash covers: `at`, the `HASHED` columns as stored (`input` as
    PostgreSQL renders the stored jsonb), the channel when it is set (it came later), and,
    for a record sealed by a sealer (`seal`: its id, seal_seq and sealed_at), those three:
    the records chained in the transaction that wrote them, before sealers existed, have no
    `sealed_at` and verify as they always did."""
    hashed = {"at": _iso(at), **{name: columns[name] for name in HASHED}}
    if columns["channel"] is not None:
        hashed["channel"] = columns["channel"]
    if seal is not None:
        record_id, seq, sealed_at = seal
        hashed.update(id=record_id, seal_seq=seq, sealed_at=_iso(sealed_at))
    return hashed


def record_hash(row: Mapping[str, Any] | asyncpg.Record) -> str:
    """The hash a stored, sealed record should carry."""
    sealed_at = row["sealed_at"]
    seal = None if sealed_at is None else (row["id"], row["seal_seq"], sealed_at)
    return chain_hash(row["prev_hash"], hashed_fields(row["at"], row, seal))


async def anything_unsealed(pool: asyncpg.Pool) -> bool:
    return await pool.fetchval(ANY_UNSEALED) is not None


async def unsealed_count(pool: asyncpg.Pool) -> int:
    """The records waiting to be sealed (read through the partial index of them)."""
    return int(await pool.fetchval("SELECT count(*) FROM audit_events WHERE seal_seq IS NULL"))


async def seal_batch(connection: Connection, limit: int, *, wait: bool) -> SealBatch | None:
    """Seal up to `limit` records in `connection`'s open transaction (they stay sealed only
    if it commits); None when another sealer holds the lock and `wait` is false."""
    if wait:
        await connection.execute("SELECT pg_advisory_xact_lock($1)", SEAL_LOCK_KEY)
    elif not await connection.fetchval("SELECT pg_try_advisory_xact_lock($1)", SEAL_LOCK_KEY):
        return None
    # After the lock, so that these statements see the last sealer's commit.
    head = await connection.fetchrow(_HEAD)
    assert head is not None
    previous = (
        None
        if head["seal_seq"] is None
        else SealHead(head["seal_seq"], head["hash"], head["sealed_at"])
    )
    rows = await connection.fetch(_UNSEALED, limit)
    if not rows:
        return SealBatch(0, previous)
    sealed_at: datetime = head["now"]
    seq = 0 if previous is None else previous.seq
    prev_hash = None if previous is None else previous.hash
    ids: list[int] = []
    seqs: list[int] = []
    prevs: list[str | None] = []
    hashes: list[str] = []
    lags: list[float] = []
    for row in rows:
        seq += 1
        digest = chain_hash(prev_hash, hashed_fields(row["at"], row, (row["id"], seq, sealed_at)))
        ids.append(row["id"])
        seqs.append(seq)
        prevs.append(prev_hash)
        hashes.append(digest)
        lags.append(max(0.0, (sealed_at - row["at"]).total_seconds()))
        prev_hash = digest
    status = await connection.execute(_SEAL, ids, seqs, prevs, hashes, sealed_at)
    if int(status.split()[-1]) != len(ids):
        raise RuntimeError("audit records were sealed by someone else during a sealing")
    assert prev_hash is not None
    return SealBatch(len(ids), SealHead(seq, prev_hash, sealed_at), tuple(lags))
