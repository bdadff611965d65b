"""The audit log on PostgreSQL (the `AuditLog` port): append-only, hash-chained, redacted.

Targets name objects as `<Type>:<key>`: the GraphQL type name, a colon, and the slug or
handle the input used (`Service:payments-api`, `Team:platform`, `User:ada`,
`ApiClient:ci-bot`).

Each record's `hash` is the SHA-256, in hex, of the previous record's hash (nothing for the
first record) followed by the canonical JSON of the record's own fields: an object with
sorted keys holding `at` (UTC, ISO 8601 with microseconds), the actor, token, operation,
targets, outcome, error codes, request id and idempotency key as stored, the channel (`mcp`)
only when set (so the records written before it existed still verify), and `input` as the
text PostgreSQL renders for the stored `jsonb`. Appends are serialised by a
transaction-scoped advisory lock, so records chain in id order. A changed or removed
record breaks the chain at or after it; removing the newest records is only noticed
against a head hash kept elsewhere.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import astuple, replace
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson

from domain.access.model import ActorKind
from domain.access.tokens import contains_token
from domain.audit.model import AuditEntry, AuditEventRecord, AuditOutcome
from domain.audit.ports import AuditFilter, VerifyResult
from domain.catalog.records import Page, PageRequest
from providers.postgres.keyset import (
    Ordering,
    Params,
    SortKey,
    build_window,
    page_from_rows,
    scope_digest,
)
from providers.postgres.rows import RecordRows
from providers.postgres.writes.common import Connection, stored_values

# Any constant works; it only has to be the same for every Paved Road process.
_CHAIN_LOCK_KEY = 0x6175646974
_VERIFY_BATCH = 1000

REDACTED = "[REDACTED]"
# Compared with the key lowercased and without `_` or `-`: `clientSecret`, `db_password`,
# `accessToken`, `privateKey`, `apiKey`, `Authorization` are redacted; `idempotencyKey`,
# `tokenId`, `publicKey` are not.
_SECRET_KEY_ENDINGS = (
    "secret",
    "password",
    "passphrase",
    "token",
    "privatekey",
    "apikey",
    "authorization",
)

_ORDERING = Ordering((SortKey("e.id", "bigint"),), descending=True)
_COLUMNS = (
    "e.id, e.at, e.actor_kind, e.actor_id, e.actor_name, e.token_id, e.operation, e.targets, "
    "e.input::text AS input, e.outcome, e.error_codes, e.request_id, e.idempotency_key, "
    "e.channel, e.prev_hash, e.hash"
)

# After the lock, so that this statement's snapshot sees the last committed record.
_HEAD = """
SELECT clock_timestamp() AS at,
       $1::text::jsonb::text AS input,
       (SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1) AS prev_hash,
       current_setting('transaction_isolation') AS isolation
"""

_INSERT = """
INSERT INTO audit_events (at, actor_kind, actor_id, actor_name, token_id, operation, targets,
                          input, outcome, error_codes, request_id, idempotency_key,
                          prev_hash, hash, channel)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::jsonb, $9, $10, $11, $12, $13, $14, $15)
RETURNING id
"""


def _secret_key(key: object) -> bool:
    normalized = str(key).lower().replace("_", "").replace("-", "")
    return normalized.endswith(_SECRET_KEY_ENDINGS)


def redact(value: Any) -> Any:
    """`value` with secrets replaced by `[REDACTED]`, at any depth: the non-null value of
    every key that names a secret (see `_SECRET_KEY_ENDINGS`) and every string that
    contains a Paved Road API token."""
    if isinstance(value, Mapping):
        return {
            key: REDACTED if item is not None and _secret_key(key) else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    if isinstance(value, str) and contains_token(value):
        return REDACTED
    return value


def _chain_hash(prev_hash: str | None, fields: Mapping[str, Any]) -> str:
    canonical = orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256((prev_hash or "").encode() + canonical).hexdigest()


_HASHED = (
    "actor_kind", "actor_id", "actor_name", "token_id", "operation", "targets", "input",
    "outcome", "error_codes", "request_id", "idempotency_key",
)  # fmt: skip
"""Besides `at`, the stored columns a record's hash covers, in the order `_INSERT` names
them. Fixed, so that the hashes of the records already written can still be checked."""


def _hashed_fields(at: datetime, columns: Mapping[str, Any] | asyncpg.Record) -> dict[str, Any]:
    """What a record's hash covers: `at`, the `_HASHED` columns as stored, and the channel
    when it is set (it came later: the records written before it have none)."""
    hashed = {
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        **{name: columns[name] for name in _HASHED},
    }
    if columns["channel"] is not None:
        hashed["channel"] = columns["channel"]
    return hashed


_entry = RecordRows(
    AuditEntry,
    outcome=AuditOutcome,
    actor_kind=ActorKind,
    targets=tuple,
    input=orjson.loads,
    error_codes=tuple,
)


def _record(row: asyncpg.Record) -> AuditEventRecord:
    return AuditEventRecord(
        id=row["id"], at=row["at"], entry=_entry(row), prev_hash=row["prev_hash"], hash=row["hash"]
    )


def _conditions(audit_filter: AuditFilter, params: Params) -> list[str]:
    conditions: list[str] = []
    if audit_filter.actor is not None:
        actor = params.add(audit_filter.actor)
        conditions.append(
            f"((e.actor_kind = 'user' AND e.actor_id = "
            f"(SELECT id FROM users WHERE handle = {actor}))"
            f" OR (e.actor_kind = 'client' AND e.actor_id = "
            f"(SELECT id FROM api_clients WHERE slug = {actor})))"
        )
    outcome = audit_filter.outcome
    # Each condition, with `{}` where its value's parameter goes.
    for value, condition in (
        (audit_filter.target, "e.targets @> ARRAY[{}::text]"),
        (audit_filter.operation, "e.operation = {}"),
        (None if outcome is None else outcome.value, "e.outcome = {}"),
        (audit_filter.since, "e.at >= {}::timestamptz"),
        (audit_filter.until, "e.at < {}::timestamptz"),
        (audit_filter.request_id, "e.request_id = {}"),
    ):
        if value is not None:
            conditions.append(condition.format(params.add(value)))
    return conditions


def _where(conditions: list[str]) -> str:
    return f" WHERE {' AND '.join(conditions)}" if conditions else ""


class PostgresAuditLog:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def append(
        self, entry: AuditEntry, connection: Connection | None = None
    ) -> AuditEventRecord:
        """Record `entry`, redacted. With `connection`, inside the caller's open transaction
        (which must be READ COMMITTED, the default); otherwise in a transaction of its own.
        The chain lock is held until that transaction ends."""
        if connection is not None:
            if not connection.is_in_transaction():
                raise RuntimeError("append(entry, connection) needs an open transaction")
            return await self._append(connection, entry)
        async with self._pool.acquire() as own, own.transaction():
            return await self._append(own, entry)

    async def _append(self, connection: Connection, entry: AuditEntry) -> AuditEventRecord:
        input_json = orjson.dumps(
            redact(entry.input), default=str, option=orjson.OPT_NON_STR_KEYS
        ).decode()
        await connection.execute("SELECT pg_advisory_xact_lock($1)", _CHAIN_LOCK_KEY)
        head = await connection.fetchrow(_HEAD, input_json)
        assert head is not None
        if head["isolation"] != "read committed":
            raise RuntimeError("the audit log appends only in READ COMMITTED transactions")
        stored = replace(
            entry,
            targets=tuple(entry.targets),
            input=orjson.loads(head["input"]),
            error_codes=tuple(entry.error_codes),
        )
        # The entry as its columns hold it, `input` as PostgreSQL renders the stored jsonb.
        columns = {**stored_values(stored), "input": head["input"]}
        prev_hash: str | None = head["prev_hash"]
        digest = _chain_hash(prev_hash, _hashed_fields(head["at"], columns))
        event_id = await connection.fetchval(
            _INSERT,
            head["at"],
            *(columns[name] for name in _HASHED),
            prev_hash,
            digest,
            columns["channel"],
        )
        return AuditEventRecord(
            id=event_id, at=head["at"], entry=stored, prev_hash=prev_hash, hash=digest
        )

    async def verify(self) -> VerifyResult:
        """Walk the chain in id order, a batch at a time; report the first broken record."""
        checked = 0
        previous: asyncpg.Record | None = None
        while True:
            batch = await self._pool.fetch(
                f"SELECT {_COLUMNS} FROM audit_events e WHERE e.id > $1 ORDER BY e.id LIMIT $2",
                previous["id"] if previous is not None else 0,
                _VERIFY_BATCH,
            )
            if not batch:
                return VerifyResult(checked)
            for row in batch:
                expected_prev = previous["hash"] if previous is not None else None
                if row["prev_hash"] != expected_prev:
                    if previous is None:
                        reason = "it is the first record but names a previous hash"
                    else:
                        reason = f"its prev_hash is not the hash of record {previous['id']}"
                    return VerifyResult(checked, row["id"], reason)
                if _chain_hash(row["prev_hash"], _hashed_fields(row["at"], row)) != row["hash"]:
                    return VerifyResult(checked, row["id"], "its hash does not match its contents")
                checked += 1
                previous = row

    async def events(self, page: PageRequest, audit_filter: AuditFilter) -> Page[AuditEventRecord]:
        """Newest first; the cursor is valid only with the filter it came from."""
        params = Params()
        conditions = _conditions(audit_filter, params)
        scope = scope_digest("audit_events", *astuple(audit_filter))
        window = build_window(_ORDERING, page, scope, params)
        sql = (
            f"SELECT {_COLUMNS}, {window.key_columns} FROM audit_events e"
            f"{_where([*conditions, *window.conditions])}"
            f" ORDER BY {window.order_by} LIMIT {window.limit}"
        )
        found = await self._pool.fetch(sql, *params.values)
        return page_from_rows(found, window, page, scope, _record, len(_ORDERING.keys))

    async def events_count(self, audit_filter: AuditFilter) -> int:
        params = Params()
        conditions = _conditions(audit_filter, params)
        value = await self._pool.fetchval(
            f"SELECT count(*) FROM audit_events e{_where(conditions)}", *params.values
        )
        return int(value)

    async def trail(self, target: str, page: PageRequest) -> Page[AuditEventRecord]:
        """The records naming `target` (`<Type>:<key>`), newest first."""
        return await self.events(page, AuditFilter(target=target))
