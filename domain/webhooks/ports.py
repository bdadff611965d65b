"""What webhooks need from storage and from the network."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, Self

from domain.audit.model import AuditEntry
from domain.webhooks.model import (
    Attempt,
    DeliveryRecord,
    WebhookDraft,
    WebhookPatch,
    WebhookRecord,
)


class WebhookStore(Protocol):
    def audited(self, entry: AuditEntry) -> Self:
        """The same store, recording `entry` in the transaction of each change."""
        ...

    async def create(self, draft: WebhookDraft, secret: str) -> WebhookRecord: ...

    async def update(
        self, webhook_id: int, expected_version: int | None, patch: WebhookPatch
    ) -> WebhookRecord:
        """NOT_FOUND when it is gone, CONFLICT when not at `expected_version`. Turning it
        active again clears its failures and disabled reason."""
        ...

    async def delete(self, webhook_id: int) -> WebhookRecord: ...

    async def rotate_secret(
        self, webhook_id: int, secret: str, previous_until: datetime
    ) -> WebhookRecord:
        """`secret` signs from now on; the current one too until `previous_until`."""
        ...

    async def pinged(self, webhook_id: int) -> WebhookRecord:
        """Record a ping (the audit record); the webhook, NOT_FOUND when it is gone."""
        ...

    async def redeliver(self, delivery_id: int) -> DeliveryRecord:
        """A new delivery of the same event to the same webhook, due now."""
        ...

    async def by_ids(self, ids: Sequence[int]) -> list[WebhookRecord | None]: ...

    async def deliveries_by_ids(self, ids: Sequence[int]) -> list[DeliveryRecord | None]: ...

    async def listing(
        self, team_ids: frozenset[int] | None, after_id: int | None, limit: int
    ) -> list[WebhookRecord]:
        """Oldest first after `after_id`; only those of `team_ids` (None: every webhook,
        teamless ones included)."""
        ...

    async def count(self, team_ids: frozenset[int] | None) -> int: ...

    async def deliveries(
        self, webhook_id: int, before_id: int | None, limit: int, failed_only: bool
    ) -> list[DeliveryRecord]:
        """Newest first, before `before_id`."""
        ...

    async def count_deliveries(self, webhook_id: int, failed_only: bool) -> int: ...


class WebhookOutbound(Protocol):
    """Where webhooks may point, and sending one a ping."""

    async def check_url(self, url: str) -> None:
        """ValidationFailed when the URL may not be a webhook's (scheme, SSRF rule)."""
        ...

    async def ping(self, webhook: WebhookRecord) -> Attempt:
        """A signed PING message to the webhook, now."""
        ...
