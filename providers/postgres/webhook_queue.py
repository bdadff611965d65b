"""Deliveries as a queue on PostgreSQL, shared by every process of the platform.

- `dispatch`: turns the outbox into delivery rows. One row of `webhook_dispatch` holds how far
  the outbox was read; whoever dispatches locks it (FOR UPDATE SKIP LOCKED: the others skip
  the round), reads the next events, inserts a delivery per webhook that receives each
  (`domain.webhooks.matching`) and advances it, in one transaction: each event is dispatched
  exactly once. The position is an event's place in the outbox (tx, id), and only the events
  below the horizon are read (`providers/postgres/events.py`), so reading after it misses
  nothing that commits later.
- `claim`: due deliveries leased to one worker (`leased_until`, FOR UPDATE SKIP LOCKED): no two
  workers send one at the same time, and a lease left by a process that died expires. While a
  webhook is failing (a run of consecutive failures), only its oldest waiting delivery is sent,
  as a probe on its own retry schedule; the others wait instead of failing too, and are all due
  again as soon as a delivery succeeds. A receiver that is down for a while is thus neither
  flooded nor disabled by the backlog, and catches up as soon as it is back.
- `record`: an attempt's outcome, only while the lease is still the worker's; retries are
  scheduled, a webhook failing too often (or answered 410 Gone) is disabled with a
  WEBHOOK_DISABLED event in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from domain.events.model import EventDraft, EventRecord, EventType, Position, SubjectKind
from domain.webhooks.matching import receives
from domain.webhooks.model import Attempt, DeliveryState, SigningSecrets
from domain.webhooks.payload import Reference
from providers.postgres import outbox
from providers.postgres.audited import AuditedTransactions, Connection
from providers.postgres.events import COLUMNS as EVENT_COLUMNS
from providers.postgres.events import HORIZON, after_position, event
from providers.postgres.keyset import Params
from providers.postgres.webhook_rows import WEBHOOK_COLUMNS, webhook
from providers.postgres.webhooks import PostgresWebhookStore

_DISPATCHER = "deliveries"

_CLAIM = """
WITH due AS (
    SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
    WHERE d.state IN ('PENDING', 'RETRYING') AND d.next_attempt_at <= clock_timestamp()
      AND (d.leased_until IS NULL OR d.leased_until < clock_timestamp()) AND w.active
      AND (w.consecutive_failures = 0 OR d.id = (
          SELECT min(p.id) FROM webhook_deliveries p
          WHERE p.webhook_id = d.webhook_id AND p.state IN ('PENDING', 'RETRYING')))
    ORDER BY d.next_attempt_at, d.id
    LIMIT $3
    FOR UPDATE OF d SKIP LOCKED
)
UPDATE webhook_deliveries d
SET leased_until = clock_timestamp() + make_interval(secs => $1), leased_by = $2
FROM due, webhooks w
WHERE d.id = due.id AND w.id = d.webhook_id
RETURNING d.id, d.webhook_id, d.event_id, d.attempt, w.url, w.secret,
          CASE WHEN w.previous_secret_until > clock_timestamp() THEN w.previous_secret END
              AS previous_secret
"""

_EVENTS_WITH_REFERENCES = f"""
SELECT {", ".join(f"e.{column.strip()}" for column in EVENT_COLUMNS.split(","))},
       s.slug AS service_slug, t.slug AS team_slug, en.slug AS environment_slug,
       dp.number::text AS deployment_slug
FROM events e
LEFT JOIN services s ON s.id = e.service_id
LEFT JOIN teams t ON t.id = e.team_id
LEFT JOIN environments en ON en.id = e.environment_id
LEFT JOIN deployments dp ON dp.id = e.deployment_id
WHERE e.id = ANY($1::bigint[])
"""

_SUBJECT_REFERENCE = {
    SubjectKind.SERVICE: "service",
    SubjectKind.TEAM: "team",
    SubjectKind.ENVIRONMENT: "environment",
    SubjectKind.DEPLOYMENT: "deployment",
}


@dataclass(frozen=True, slots=True)
class Claim:
    """A delivery leased to this worker, with what sending it needs."""

    delivery_id: int
    webhook_id: int
    event_id: int
    attempts_made: int
    url: str
    secrets: SigningSecrets


@dataclass(frozen=True, slots=True)
class EventToSend:
    event: EventRecord
    references: dict[str, Reference | None]


@dataclass(frozen=True, slots=True)
class Dispatched:
    """One round of dispatch."""

    read: int
    """How many events were read (0: caught up, or another process is dispatching)."""
    waiting: bool = False
    """Whether committed events wait behind an older transaction still running: readable
    as soon as it ends, so the next round had better come soon."""


@dataclass(frozen=True, slots=True)
class Limits:
    max_attempts: int
    disable_after: int


ROUND_START = (
    "SELECT tx, position, set_config('synchronous_commit', 'off', true), "
    "EXISTS (SELECT FROM webhooks WHERE active) AS hooks, "
    f"coalesce((SELECT tx FROM events ORDER BY tx DESC LIMIT 1) >= {HORIZON}, false) AS waiting "
    "FROM webhook_dispatch WHERE name = $1 FOR UPDATE SKIP LOCKED"
)
"""A dispatch round's first statement: the position (locked), whether any webhook is active,
and whether events are written above the horizon (the newest event's `tx`, one index entry:
as `EXISTS (... WHERE tx >= horizon)` the planner expected a third of the table to match and
scanned all of it, finding none)."""


async def _pass_by(connection: Connection, position: Position, batch: int) -> int:
    """With no webhook to receive them: the position past up to `batch` events; how many."""
    params = Params()
    after = after_position(position, params)
    limit = params.add(batch)
    name = params.add(_DISPATCHER)
    passed: int = await connection.fetchval(
        f"WITH next AS (SELECT tx, id FROM events WHERE {after} ORDER BY tx, id LIMIT {limit}), "
        "last AS (SELECT tx, id FROM next ORDER BY tx DESC, id DESC LIMIT 1), "
        "moved AS (UPDATE webhook_dispatch d SET tx = last.tx, position = last.id FROM last "
        f"WHERE d.name = {name} RETURNING 1) "
        "SELECT count(*) FROM next",
        *params.values,
    )
    return passed


async def _dispatch(connection: Connection, position: Position, batch: int) -> int:
    """The deliveries of up to `batch` events after `position`, and the position past them;
    how many events."""
    params = Params()
    after = after_position(position, params)
    limit = params.add(batch)
    found = await connection.fetch(
        f"SELECT {EVENT_COLUMNS} FROM events WHERE {after} ORDER BY tx, id LIMIT {limit}",
        *params.values,
    )
    if not found:
        return 0
    events = [event(row) for row in found]
    hooks = [
        webhook(row)
        for row in await connection.fetch(f"SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE active")
    ]
    pairs = [(hook.id, item.id) for item in events for hook in hooks if receives(hook, item)]
    if pairs:
        await connection.execute(
            "INSERT INTO webhook_deliveries (webhook_id, event_id) "
            "SELECT * FROM unnest($1::bigint[], $2::bigint[])",
            [hook_id for hook_id, _ in pairs],
            [event_id for _, event_id in pairs],
        )
    await connection.execute(
        "UPDATE webhook_dispatch SET tx = $2, position = $3 WHERE name = $1",
        _DISPATCHER,
        events[-1].tx,
        events[-1].id,
    )
    return len(events)


class PostgresWebhookQueue:
    def __init__(self, pool: asyncpg.Pool, store: PostgresWebhookStore) -> None:
        self._pool = pool
        self._store = store
        self._transactions = AuditedTransactions(pool)

    async def dispatch(self, batch: int = 500) -> Dispatched:
        """Deliveries for up to `batch` events after the dispatch position. With no active
        webhook, the position moves past them without reading them."""
        async with self._pool.acquire() as connection, connection.transaction():
            # The round commits without waiting for its flush to disk (`synchronous_commit`
            # off, this transaction only): a round a crash loses is lost whole, position and
            # deliveries together, and dispatched again after the restart; any later commit
            # that depends on it (a delivery's attempt) flushes it first. Under a write load
            # the rounds then stop adding flushes to the ones the writes wait for.
            stored = await connection.fetchrow(ROUND_START, _DISPATCHER)
            if stored is None:
                # Locked by another process, or gone (emptied tables start again from 0).
                await connection.execute(
                    "INSERT INTO webhook_dispatch (name, position) VALUES ($1, 0) "
                    "ON CONFLICT DO NOTHING",
                    _DISPATCHER,
                )
                return Dispatched(0)
            position = Position(stored["tx"], stored["position"])
            if not stored["hooks"]:
                read = await _pass_by(connection, position, batch)
            else:
                read = await _dispatch(connection, position, batch)
            return Dispatched(read, stored["waiting"] and read < batch)

    async def claim(self, owner: str, lease_seconds: float, limit: int) -> list[Claim]:
        found = await self._pool.fetch(_CLAIM, lease_seconds, owner, limit)
        return [
            Claim(
                delivery_id=row["id"],
                webhook_id=row["webhook_id"],
                event_id=row["event_id"],
                attempts_made=row["attempt"],
                url=row["url"],
                secrets=self._store.secrets_of(row["secret"], row["previous_secret"]),
            )
            for row in found
        ]

    async def events(self, ids: Sequence[int]) -> dict[int, EventToSend]:
        """The events by id, with the slugs of what they concern."""
        found = await self._pool.fetch(_EVENTS_WITH_REFERENCES, list(ids))
        return {row["id"]: _to_send(row) for row in found}

    async def record(
        self, claim: Claim, owner: str, attempt: Attempt, limits: Limits, retry_in: float
    ) -> DeliveryState | None:
        """The attempt's outcome; None when the lease is no longer `owner`'s (nothing
        written: whoever holds it now records its own attempt)."""

        async def work(connection: Connection) -> DeliveryState | None:
            attempts = await connection.fetchval(
                "SELECT attempt FROM webhook_deliveries WHERE id = $1 AND leased_by = $2 "
                "FOR UPDATE",
                claim.delivery_id,
                owner,
            )
            if attempts is None:
                return None
            attempts += 1
            state = _state_after(attempt, attempts, limits)
            await connection.execute(
                "UPDATE webhook_deliveries SET attempt = $2, state = $3, status_code = $4, "
                "duration_ms = $5, response_excerpt = $6, error = $7, "
                "next_attempt_at = CASE WHEN $3 = 'RETRYING' "
                "    THEN clock_timestamp() + make_interval(secs => $8) END, "
                "leased_until = NULL, leased_by = NULL, updated_at = now() WHERE id = $1",
                claim.delivery_id,
                attempts,
                state.value,
                attempt.status_code,
                attempt.duration_ms,
                attempt.response_excerpt,
                attempt.error,
                retry_in,
            )
            await _count_on_webhook(connection, claim.webhook_id, attempt, limits)
            return state

        return await self._transactions.run(work)

    async def release(self, owner: str) -> int:
        """Give up every lease `owner` holds (on shutdown): others send them at once."""
        status = await self._pool.execute(
            "UPDATE webhook_deliveries SET leased_until = NULL, leased_by = NULL "
            "WHERE leased_by = $1",
            owner,
        )
        return int(status.split()[-1])


def _state_after(attempt: Attempt, attempts: int, limits: Limits) -> DeliveryState:
    if attempt.delivered:
        return DeliveryState.SUCCEEDED
    if attempt.gone or attempts >= limits.max_attempts:
        return DeliveryState.FAILED
    return DeliveryState.RETRYING


async def _count_on_webhook(
    connection: Connection, webhook_id: int, attempt: Attempt, limits: Limits
) -> None:
    """Its run of consecutive failures; disabled (with an event) when the receiver is gone or
    the run reaches the limit."""
    if attempt.delivered:
        # Writes (and locks) the webhook's row only to end a run of failures: deliveries to
        # one webhook do not queue behind each other on it. The deliveries that waited
        # during the run are due at once.
        await connection.execute(
            "WITH ended AS (UPDATE webhooks SET consecutive_failures = 0 "
            "               WHERE id = $1 AND consecutive_failures > 0 RETURNING id) "
            "UPDATE webhook_deliveries d SET next_attempt_at = clock_timestamp() FROM ended "
            "WHERE d.webhook_id = ended.id AND d.state = 'RETRYING'",
            webhook_id,
        )
        return
    row = await connection.fetchrow(
        "UPDATE webhooks SET consecutive_failures = consecutive_failures + 1 "
        "WHERE id = $1 RETURNING consecutive_failures, active, team_id",
        webhook_id,
    )
    if row is None or not row["active"]:
        return
    failures = row["consecutive_failures"]
    if attempt.gone:
        reason = "the receiver answered 410 Gone"
    elif failures >= limits.disable_after:
        reason = f"{failures} consecutive deliveries failed"
    else:
        return
    await connection.execute(
        "UPDATE webhooks SET active = false, disabled_reason = $2, version = version + 1, "
        "updated_at = now() WHERE id = $1",
        webhook_id,
        reason,
    )
    outbox.emit(
        EventDraft(
            EventType.WEBHOOK_DISABLED,
            SubjectKind.WEBHOOK,
            webhook_id,
            {"reason": reason, "consecutiveFailures": failures, "statusCode": attempt.status_code},
            team_id=row["team_id"],
        )
    )


def _to_send(row: asyncpg.Record) -> EventToSend:
    found = event(row)
    references: dict[str, Reference | None] = {}
    for name, type_name, column in (
        ("service", "Service", found.service_id),
        ("team", "Team", found.team_id),
        ("environment", "Environment", found.environment_id),
        ("deployment", "Deployment", found.deployment_id),
    ):
        references[name] = (
            None if column is None else Reference(type_name, column, row[f"{name}_slug"])
        )
    subject = _SUBJECT_REFERENCE.get(found.subject_kind)
    own = references.get(subject) if subject is not None else None
    data: dict[str, Any] = dict(found.data)
    slug = data.get("slug")
    references["subject"] = own or Reference(
        found.subject_kind.value, found.subject_id, slug if isinstance(slug, str) else None
    )
    return EventToSend(found, references)
