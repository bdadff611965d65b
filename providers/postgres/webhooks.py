"""Webhooks on PostgreSQL (the `WebhookStore` port): their settings, sealed secrets and
deliveries as the graph reads them. Sending is `providers/postgres/webhook_queue.py`'s."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Self

import asyncpg

from domain.audit.model import AuditEntry
from domain.audit.ports import AuditLog
from domain.errors import Conflict, NotFound
from domain.webhooks.model import (
    DeliveryRecord,
    SigningSecrets,
    WebhookDraft,
    WebhookPatch,
    WebhookRecord,
)
from providers.postgres.audited import AuditedTransactions, Connection
from providers.postgres.event_notices import EventNotices
from providers.postgres.events import NEWEST
from providers.postgres.webhook_rows import DELIVERY_COLUMNS, WEBHOOK_COLUMNS, delivery, webhook
from providers.webhooks.secret_box import SecretBox

_FAILED = "state = 'FAILED'"
_WRITABLE = frozenset({"url", "events", "description", "active"})


class PostgresWebhookStore:
    def __init__(
        self,
        pool: asyncpg.Pool,
        box: SecretBox,
        audit_log: AuditLog | None = None,
        *,
        transactions: AuditedTransactions | None = None,
        notices: EventNotices | None = None,
    ) -> None:
        self._pool = pool
        self._box = box
        self._transactions = transactions or AuditedTransactions(pool, audit_log, notices=notices)

    def audited(self, entry: AuditEntry) -> Self:
        return type(self)(self._pool, self._box, transactions=self._transactions.recording(entry))

    # --- changes ---------------------------------------------------------------------------

    async def create(self, draft: WebhookDraft, secret: str) -> WebhookRecord:
        sealed = self._box.seal(secret)

        async def change(connection: Connection) -> WebhookRecord:
            row = await connection.fetchrow(
                "INSERT INTO webhooks "
                "(url, description, team_id, events, secret, after_tx, after_event) "
                "SELECT $1, $2, $3, $4, $5, coalesce(newest.tx, '0'), coalesce(newest.id, 0) "
                f"FROM (SELECT) one LEFT JOIN ({NEWEST}) newest ON true "
                f"RETURNING {WEBHOOK_COLUMNS}",
                draft.url,
                draft.description,
                draft.team_id,
                [event.value for event in draft.events],
                sealed,
            )
            assert row is not None
            return webhook(row)

        return await self._transactions.run(change)

    async def update(
        self, webhook_id: int, expected_version: int | None, patch: WebhookPatch
    ) -> WebhookRecord:
        changes = dict(patch.changes)
        unknown = set(changes) - _WRITABLE
        if unknown:
            raise ValueError(f"not writable: {sorted(unknown)}")
        if "events" in changes:
            changes["events"] = [event.value for event in changes["events"]]

        async def change(connection: Connection) -> WebhookRecord:
            current = await _locked(connection, webhook_id)
            if expected_version is not None and current["version"] != expected_version:
                raise Conflict(
                    f"the webhook is at version {current['version']}, not {expected_version}",
                    ["input", "expectedVersion"],
                )
            assignments = [f"{name} = ${index}" for index, name in enumerate(changes, start=2)]
            if changes.get("active") is True and not current["active"]:
                assignments += ["disabled_reason = NULL", "consecutive_failures = 0"]
            assignments += ["version = version + 1", "updated_at = now()"]
            row = await connection.fetchrow(
                f"UPDATE webhooks SET {', '.join(assignments)} WHERE id = $1 "
                f"RETURNING {WEBHOOK_COLUMNS}",
                webhook_id,
                *changes.values(),
            )
            assert row is not None
            return webhook(row)

        return await self._transactions.run(change)

    async def delete(self, webhook_id: int) -> WebhookRecord:
        async def change(connection: Connection) -> WebhookRecord:
            row = await connection.fetchrow(
                f"DELETE FROM webhooks WHERE id = $1 RETURNING {WEBHOOK_COLUMNS}", webhook_id
            )
            if row is None:
                raise _missing()
            assert row is not None
            return webhook(row)

        return await self._transactions.run(change)

    async def rotate_secret(
        self, webhook_id: int, secret: str, previous_until: datetime
    ) -> WebhookRecord:
        sealed = self._box.seal(secret)

        async def change(connection: Connection) -> WebhookRecord:
            await _locked(connection, webhook_id)
            row = await connection.fetchrow(
                "UPDATE webhooks SET previous_secret = secret, previous_secret_until = $2, "
                "secret = $3, version = version + 1, updated_at = now() WHERE id = $1 "
                f"RETURNING {WEBHOOK_COLUMNS}",
                webhook_id,
                previous_until,
                sealed,
            )
            assert row is not None
            return webhook(row)

        return await self._transactions.run(change)

    async def pinged(self, webhook_id: int) -> WebhookRecord:
        async def change(connection: Connection) -> WebhookRecord:
            return webhook(await _locked(connection, webhook_id))

        return await self._transactions.run(change)

    async def redeliver(self, delivery_id: int) -> DeliveryRecord:
        async def change(connection: Connection) -> DeliveryRecord:
            row = await connection.fetchrow(
                "INSERT INTO webhook_deliveries (webhook_id, event_id) "
                "SELECT webhook_id, event_id FROM webhook_deliveries WHERE id = $1 "
                f"RETURNING {DELIVERY_COLUMNS}",
                delivery_id,
            )
            if row is None:
                raise NotFound("no such webhook delivery", ["input", "delivery"])
            return delivery(row)

        return await self._transactions.run(change)

    # --- reads -----------------------------------------------------------------------------

    async def by_ids(self, ids: Sequence[int]) -> list[WebhookRecord | None]:
        found = await self._pool.fetch(
            f"SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = ANY($1::bigint[])", list(ids)
        )
        by_id = {row["id"]: webhook(row) for row in found}
        return [by_id.get(webhook_id) for webhook_id in ids]

    async def deliveries_by_ids(self, ids: Sequence[int]) -> list[DeliveryRecord | None]:
        found = await self._pool.fetch(
            f"SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = ANY($1::bigint[])",
            list(ids),
        )
        by_id = {row["id"]: delivery(row) for row in found}
        return [by_id.get(delivery_id) for delivery_id in ids]

    async def listing(
        self, team_ids: frozenset[int] | None, after_id: int | None, limit: int
    ) -> list[WebhookRecord]:
        where, values = _of_teams(team_ids, [after_id or 0, limit])
        found = await self._pool.fetch(
            f"SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id > $1{where} ORDER BY id LIMIT $2",
            *values,
        )
        return [webhook(row) for row in found]

    async def count(self, team_ids: frozenset[int] | None) -> int:
        where, values = _of_teams(team_ids, [])
        condition = f" WHERE true{where}" if where else ""
        return int(await self._pool.fetchval(f"SELECT count(*) FROM webhooks{condition}", *values))

    async def deliveries(
        self, webhook_id: int, before_id: int | None, limit: int, failed_only: bool
    ) -> list[DeliveryRecord]:
        failed = f" AND {_FAILED}" if failed_only else ""
        found = await self._pool.fetch(
            f"SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries "
            f"WHERE webhook_id = $1 AND id < $2{failed} ORDER BY id DESC LIMIT $3",
            webhook_id,
            before_id if before_id is not None else 2**63 - 1,
            limit,
        )
        return [delivery(row) for row in found]

    async def count_deliveries(self, webhook_id: int, failed_only: bool) -> int:
        failed = f" AND {_FAILED}" if failed_only else ""
        return int(
            await self._pool.fetchval(
                f"SELECT count(*) FROM webhook_deliveries WHERE webhook_id = $1{failed}",
                webhook_id,
            )
        )

    async def signing_secrets(self, webhook_id: int) -> SigningSecrets:
        """The secrets that sign its messages now (NOT_FOUND when it is gone)."""
        row = await self._pool.fetchrow(
            "SELECT secret, CASE WHEN previous_secret_until > now() THEN previous_secret END "
            "AS previous FROM webhooks WHERE id = $1",
            webhook_id,
        )
        if row is None:
            raise _missing()
        return self.secrets_of(row["secret"], row["previous"])

    def secrets_of(self, sealed: str, previous: str | None) -> SigningSecrets:
        return SigningSecrets(
            self._box.open(sealed), None if previous is None else self._box.open(previous)
        )


def _of_teams(team_ids: frozenset[int] | None, values: list[Any]) -> tuple[str, list[Any]]:
    if team_ids is None:
        return "", values
    return f" AND team_id = ANY(${len(values) + 1}::bigint[])", [*values, sorted(team_ids)]


async def _locked(connection: Connection, webhook_id: int) -> asyncpg.Record:
    row = await connection.fetchrow("SELECT * FROM webhooks WHERE id = $1 FOR UPDATE", webhook_id)
    if row is None:
        raise _missing()
    return row


def _missing() -> NotFound:
    return NotFound("no such webhook", ["input", "webhook"])
