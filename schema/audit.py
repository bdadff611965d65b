"""The audit log in the graph: `auditEvents` for admins, `auditTrail` on audited objects."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import UNSET
from strawberry.scalars import JSON

from domain.access import model as access
from domain.audit import model as audit
from domain.audit.ports import AuditFilter
from domain.catalog.records import UserRecord
from resolvers import audit_queries as q
from resolvers.global_ids import encode_id
from schema.access import ApiClient, LocalAdmin
from schema.catalog import CatalogInfo, User
from schema.common import Actor, Connection, connection
from schema.inputs import given, page

AuditOutcome = strawberry.enum(audit.AuditOutcome, name="AuditOutcome")


@strawberry.type(description="One mutation attempt: accepted, invalid or denied.")
class AuditEvent:
    record: strawberry.Private[audit.AuditEventRecord]
    id: strawberry.ID
    at: datetime
    operation: str
    targets: list[str] = strawberry.field(description="Objects named `Type:slug`.")
    input: JSON = strawberry.field(description="The input as sent, secrets redacted.")
    outcome: audit.AuditOutcome
    error_codes: list[str]
    request_id: str | None
    idempotency_key: str | None
    actor_name: str = strawberry.field(description="The actor's name when it acted.")
    channel: str | None = strawberry.field(
        description="The face it came through when not the GraphQL API itself: `mcp` for "
        "the Model Context Protocol endpoint; null for /graphql and operator commands."
    )

    @classmethod
    def from_record(cls, record: audit.AuditEventRecord) -> AuditEvent:
        entry = record.entry
        return cls(
            record=record,
            id=strawberry.ID(encode_id("AuditEvent", record.id)),
            at=record.at,
            operation=entry.operation,
            targets=list(entry.targets),
            input=JSON(entry.input),
            outcome=entry.outcome,
            error_codes=list(entry.error_codes),
            request_id=entry.request_id,
            idempotency_key=entry.idempotency_key,
            actor_name=entry.actor_name,
            channel=entry.channel,
        )

    @strawberry.field(description="Who acted; null once that actor was deleted.")
    async def actor(self, info: CatalogInfo) -> Actor | None:
        return shown_actor(await q.actor_of(info.context, self.record))


def shown_actor(
    found: UserRecord | access.ApiClientRecord | access.ActorKind | None,
) -> Actor | None:
    """An actor as `audit_queries.actor_record` found it."""
    if isinstance(found, access.ApiClientRecord):
        return ApiClient.from_record(found)
    if isinstance(found, access.ActorKind):
        return LocalAdmin(id=strawberry.ID(encode_id("LocalAdmin", 0)), name="local admin")
    return User.from_optional(found)


@strawberry.input(description="All given conditions must hold.")
class AuditEventFilter:
    actor: str | None = strawberry.field(
        default=UNSET, description="A user's handle or an API client's slug."
    )
    target: str | None = strawberry.field(default=UNSET, description="`Type:slug`.")
    operation: str | None = UNSET
    outcome: audit.AuditOutcome | None = UNSET
    since: datetime | None = UNSET
    until: datetime | None = UNSET

    def to_filter(self) -> AuditFilter:
        return AuditFilter(
            actor=given(self.actor),
            target=given(self.target),
            operation=given(self.operation),
            outcome=given(self.outcome),
            since=given(self.since),
            until=given(self.until),
        )


@strawberry.type
class AuditQuery:
    @strawberry.field(description="Every mutation attempt, newest first. Admins only.")
    async def audit_events(
        self,
        info: CatalogInfo,
        first: int | None = UNSET,
        after: str | None = UNSET,
        filter: AuditEventFilter | None = UNSET,
    ) -> Connection[AuditEvent]:
        audit_filter = filter.to_filter() if filter else AuditFilter()
        listing = await q.audit_events(info.context, page(first, after), audit_filter)
        return connection(listing, AuditEvent.from_record)
