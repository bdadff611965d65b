"""Mutations on webhooks."""

from __future__ import annotations

from typing import Self

import strawberry

from domain.webhooks import model
from resolvers import webhook_mutations as m
from resolvers.auditing import Outcome
from resolvers.global_ids import encode_id
from schema.common import UserError, user_errors
from schema.mutation_fields import mutation
from schema.webhooks import Webhook, WebhookDelivery

_SHOWN_ONCE = (
    "The signing secret (`whsec_...`), for the receiver's Standard Webhooks library; shown "
    "only here."
)


@strawberry.type
class CreateWebhookPayload:
    webhook: Webhook | None
    secret: str | None = strawberry.field(description=_SHOWN_ONCE)
    errors: list[UserError]

    @classmethod
    def from_outcome(cls, outcome: Outcome[tuple[model.WebhookRecord, str]]) -> Self:
        if outcome.value is None:
            return cls(webhook=None, secret=None, errors=user_errors(outcome.errors))
        record, secret = outcome.value
        # A replay of its idempotency key answers no secret: it is shown once.
        return cls(webhook=Webhook.from_record(record), secret=secret or None, errors=[])


@strawberry.type
class RotateWebhookSecretPayload(CreateWebhookPayload):
    pass


@strawberry.type
class UpdateWebhookPayload:
    webhook: Webhook | None
    errors: list[UserError]

    @classmethod
    def from_outcome(cls, outcome: Outcome[model.WebhookRecord]) -> Self:
        webhook = Webhook.from_record(outcome.value) if outcome.value else None
        return cls(webhook=webhook, errors=user_errors(outcome.errors))


@strawberry.type
class DeleteWebhookPayload:
    deleted_id: strawberry.ID | None
    errors: list[UserError]

    @classmethod
    def from_outcome(cls, outcome: Outcome[model.WebhookRecord]) -> Self:
        value = outcome.value
        deleted = strawberry.ID(encode_id("Webhook", value.id)) if value else None
        return cls(deleted_id=deleted, errors=user_errors(outcome.errors))


@strawberry.type
class PingWebhookPayload:
    webhook: Webhook | None
    delivered: bool | None = strawberry.field(description="Whether the receiver answered 2xx.")
    status_code: int | None
    duration_ms: int | None
    response_excerpt: str | None = strawberry.field(description="The first KiB of its answer.")
    error: str | None
    errors: list[UserError]

    @classmethod
    def from_outcome(cls, outcome: Outcome[m.Ping]) -> Self:
        ping = outcome.value
        attempt = ping.attempt if ping is not None else None
        return cls(
            webhook=Webhook.from_record(ping.webhook) if ping is not None else None,
            delivered=attempt.delivered if attempt is not None else None,
            status_code=attempt.status_code if attempt is not None else None,
            duration_ms=attempt.duration_ms if attempt is not None else None,
            response_excerpt=attempt.response_excerpt if attempt is not None else None,
            error=attempt.error if attempt is not None else None,
            errors=user_errors(outcome.errors),
        )


@strawberry.type
class RedeliverWebhookDeliveryPayload:
    delivery: WebhookDelivery | None = strawberry.field(description="The new delivery.")
    errors: list[UserError]

    @classmethod
    def from_outcome(cls, outcome: Outcome[model.DeliveryRecord]) -> Self:
        delivery = WebhookDelivery.from_record(outcome.value) if outcome.value else None
        return cls(delivery=delivery, errors=user_errors(outcome.errors))


@strawberry.type
class WebhookMutation:
    create_webhook = mutation(m.create_webhook, CreateWebhookPayload)
    update_webhook = mutation(m.update_webhook, UpdateWebhookPayload)
    delete_webhook = mutation(m.delete_webhook, DeleteWebhookPayload)
    rotate_webhook_secret = mutation(m.rotate_webhook_secret, RotateWebhookSecretPayload)
    ping_webhook = mutation(m.ping_webhook, PingWebhookPayload)
    redeliver_webhook_delivery = mutation(
        m.redeliver_webhook_delivery, RedeliverWebhookDeliveryPayload
    )
