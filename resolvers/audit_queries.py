"""Reading the audit log: all of it for admins, an object's trail for its readers."""

from __future__ import annotations

from domain.access.model import ActorKind, ApiClientRecord
from domain.access.policy import Action, require
from domain.audit.model import AuditEventRecord
from domain.audit.ports import AuditFilter
from domain.catalog.records import PageRequest, UserRecord
from resolvers.catalog_queries import Listing
from resolvers.context import Context


async def audit_events(
    context: Context, page: PageRequest, audit_filter: AuditFilter
) -> Listing[AuditEventRecord]:
    require(context.principal, Action.READ_AUDIT_LOG)
    found = await context.audit.events(page, audit_filter)
    return Listing(found, lambda: context.audit.events_count(audit_filter))


async def audit_trail(
    context: Context, target: str, page: PageRequest
) -> Listing[AuditEventRecord]:
    require(context.principal, Action.READ_CATALOG)
    found = await context.audit.trail(target, page)
    return Listing(found, lambda: context.audit.events_count(AuditFilter(target=target)))


async def actor_of(
    context: Context, event: AuditEventRecord
) -> UserRecord | ApiClientRecord | ActorKind | None:
    """The record of who acted, the kind for the built-in local admin, None once deleted."""
    return await actor_record(context, event.entry.actor_kind, event.entry.actor_id)


async def actor_record(
    context: Context, kind: ActorKind, actor_id: int | None
) -> UserRecord | ApiClientRecord | ActorKind | None:
    """The record of the actor `kind` `actor_id`, the kind for the built-in local admin, None
    once deleted."""
    if kind is ActorKind.LOCAL_ADMIN or actor_id is None:
        return kind
    if kind is ActorKind.CLIENT:
        return await context.access_loaders.api_client_by_id.load(actor_id)
    return await context.loaders.user_by_id.load(actor_id)
