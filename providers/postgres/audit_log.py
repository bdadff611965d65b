"""The audit log on PostgreSQL (the `AuditLog` port): append-only, hash-chained, redacted.

Targets name objects as `<Type>:<key>`: the GraphQL type name, a colon, and the slug or
handle the input used (`Service:payments-api`, `Team:platform`, `User:ada`,
`ApiClient:ci-bot`).

An append is one INSERT in the caller's transaction: no lock, no read of the chain, so writes
never wait for each other here. Records are hash-chained shortly after they commit, by a
sealer (`audit_chain.py`: what each hash covers, and sealing). A changed, removed or
reordered sealed record breaks the chain at or after it; removing the newest records is only
noticed against a head kept elsewhere (`verify(expected)`, the sealer's log lines).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import astuple, replace
from typing import Any

import asyncpg
import orjson

from domain.access.model import ActorKind
from domain.access.tokens import contains_token
from domain.audit.model import AuditEntry, AuditEventRecord, AuditOutcome
from domain.audit.ports import AuditFilter, SealBatch, VerifyResult
from domain.audit.seals import ExpectedHead, SealHead
from domain.catalog.records import Page, PageRequest
from providers.postgres.audit_chain import (
    HASHED,
    RECORD_COLUMNS,
    anything_unsealed,
    record_hash,
    seal_batch,
)
from providers.postgres.keyset import (
    Ordering,
    Params,
    SortKey,
    build_window,
    page_from_rows,
    scope_digest,
)
from providers.postgres.rows import RecordRows
from providers.postgres.stored import Connection, stored_values

_VERIFY_BATCH = 1000
_SEAL_BATCH = 5000

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
_COLUMNS = RECORD_COLUMNS

_INTO = """
INSERT INTO audit_events (actor_kind, actor_id, actor_name, token_id, operation, targets,
                          input, outcome, error_codes, request_id, idempotency_key, channel)
"""
_PLACES = "{}, {}, {}, {}, {}, {}, {}::text::jsonb, {}, {}, {}, {}, {}"

INSERT_VALUES = f"{_INTO}VALUES ({_PLACES})\n"
"""The insert of one record, its parameters' places left to fill (see `insert_arguments`):
a change's transaction writes its record with its events in one statement."""

INSERT_FOR_EACH = f"{_INTO}SELECT {_PLACES} FROM {{}}\n"
"""The same, once per row of the query named by its last place: a statement that makes a
change and records it writes its record only when the change is made."""


_INSERT = (
    INSERT_VALUES.format(*(f"${n}" for n in range(1, 13)))
    + "RETURNING id, at, input::text AS input, "
    "current_setting('transaction_isolation') AS isolation"
)

_CHAIN = f"""
SELECT {RECORD_COLUMNS} FROM audit_events e
WHERE e.seal_seq > $1 ORDER BY e.seal_seq LIMIT $2
"""

_UNSEALED = "SELECT count(*) AS count, min(at) AS oldest FROM audit_events WHERE seal_seq IS NULL"


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
        id=row["id"],
        at=row["at"],
        entry=_entry(row),
        prev_hash=row["prev_hash"],
        hash=row["hash"],
        seal_seq=row["seal_seq"],
        sealed_at=row["sealed_at"],
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


def _broken(
    row: asyncpg.Record, previous: asyncpg.Record | None, expected: ExpectedHead | None
) -> str | None:
    """Why `row`, following `previous` in seal order, breaks the chain (None: it does not)."""
    expected_prev = previous["hash"] if previous is not None else None
    if row["prev_hash"] != expected_prev:
        if previous is None:
            return "it is the first record but names a previous hash"
        return f"its prev_hash is not the hash of record {previous['id']}"
    if record_hash(row) != row["hash"]:
        return "its hash does not match its contents"
    place = previous["seal_seq"] + 1 if previous is not None else 1
    if row["seal_seq"] != place:
        return f"its seal_seq is {row['seal_seq']}, not {place}"
    if expected is not None and row["seal_seq"] == expected.seq and row["hash"] != expected.hash:
        return f"its hash is not the expected head's ({expected.seq}): the chain was rewritten"
    return None


_LISTS = frozenset({"targets", "error_codes"})
"""An entry's fields stored as arrays, whatever sequence of strings they were given as."""


def insert_arguments(entry: AuditEntry) -> list[Any]:
    """The values of `entry`'s record, redacted, in the order `INSERT_VALUES` takes them."""
    input_json = orjson.dumps(
        redact(entry.input), default=str, option=orjson.OPT_NON_STR_KEYS
    ).decode()
    values = stored_values(entry, leaving_out=_LISTS)
    values["targets"], values["error_codes"] = list(entry.targets), list(entry.error_codes)
    return [
        *(input_json if name == "input" else values[name] for name in HASHED),
        values["channel"],
    ]


class PostgresAuditLog:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def append(
        self, entry: AuditEntry, connection: Connection | None = None
    ) -> AuditEventRecord:
        """Record `entry`, redacted, unsealed. With `connection`, inside the caller's open
        transaction (which must be READ COMMITTED, the default, as every store's is);
        otherwise in a transaction of its own."""
        if connection is not None:
            if not connection.is_in_transaction():
                raise RuntimeError("append(entry, connection) needs an open transaction")
            return await self._append(connection, entry)
        async with self._pool.acquire() as own, own.transaction():
            return await self._append(own, entry)

    async def _append(self, connection: Connection, entry: AuditEntry) -> AuditEventRecord:
        row = await connection.fetchrow(_INSERT, *insert_arguments(entry))
        assert row is not None
        if row["isolation"] != "read committed":
            raise RuntimeError("the audit log appends only in READ COMMITTED transactions")
        stored = replace(
            entry,
            targets=tuple(entry.targets),
            input=orjson.loads(row["input"]),
            error_codes=tuple(entry.error_codes),
        )
        return AuditEventRecord(id=row["id"], at=row["at"], entry=stored, prev_hash=None, hash=None)

    async def seal(self, limit: int = 1000, *, wait: bool = False) -> SealBatch | None:
        if not wait and not await anything_unsealed(self._pool):
            return SealBatch(0, None)
        async with self._pool.acquire() as connection, connection.transaction():
            return await seal_batch(connection, limit, wait=wait)

    async def verify(
        self, expected: ExpectedHead | None = None, *, seal_first: bool = True
    ) -> VerifyResult:
        """Walk the chain in seal order, a batch at a time; report the first broken record,
        or a chain that stops short of `expected`."""
        if seal_first:
            while (batch := await self.seal(_SEAL_BATCH, wait=True)) and batch.sealed:
                pass
        walked = await self._walk(expected)
        unsealed = await self._pool.fetchrow(_UNSEALED)
        assert unsealed is not None
        return replace(walked, unsealed=unsealed["count"], oldest_unsealed=unsealed["oldest"])

    async def _walk(self, expected: ExpectedHead | None) -> VerifyResult:
        checked = 0
        previous: asyncpg.Record | None = None
        while True:
            batch = await self._pool.fetch(
                _CHAIN, previous["seal_seq"] if previous is not None else 0, _VERIFY_BATCH
            )
            for row in batch:
                reason = _broken(row, previous, expected)
                if reason is not None:
                    return VerifyResult(checked, row["id"], reason)
                checked += 1
                previous = row
            if len(batch) < _VERIFY_BATCH:
                break
        head = None if previous is None else SealHead(previous["seal_seq"], previous["hash"])
        if expected is not None and (head is None or head.seq < expected.seq):
            reached = "no sealed record" if head is None else f"seal {head.seq}"
            return VerifyResult(
                checked,
                None,
                f"the chain ends at {reached}, before the expected head {expected.seq}:"
                " its newest records were removed",
                head,
            )
        return VerifyResult(checked, head=head)

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
