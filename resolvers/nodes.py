"""`node`/`nodes`: global IDs back to records, batched through the request's loaders."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from domain.access.model import ActorKind, ApiClientRecord, ApiTokenRecord
from domain.access.policy import acts_as_admin
from domain.catalog.records import EnvironmentRecord, TeamRecord, UserRecord
from domain.catalog.services import ServiceRecord
from domain.deployments.model import DeploymentRecord
from domain.events.model import EventRecord
from domain.webhooks.model import DeliveryRecord, WebhookRecord
from resolvers import event_queries, webhook_queries
from resolvers.context import Context
from resolvers.global_ids import decode_id

NodeRecord = (
    TeamRecord
    | UserRecord
    | ServiceRecord
    | EnvironmentRecord
    | ApiClientRecord
    | ApiTokenRecord
    | DeploymentRecord
    | EventRecord
    | WebhookRecord
    | DeliveryRecord
)


async def node(context: Context, global_id: str) -> NodeRecord | None:
    decoded = decode_id(global_id)
    if decoded is None:
        return None
    type_name, pk = decoded
    loaders = context.loaders
    if type_name == "Team":
        return await loaders.team_by_id.load(pk)
    if type_name == "User":
        return await loaders.user_by_id.load(pk)
    if type_name == "Service":
        return await loaders.service_by_id.load(pk)
    if type_name == "Environment":
        return await loaders.environment_by_id.load(pk)
    if type_name == "ApiClient":
        return await context.access_loaders.api_client_by_id.load(pk)
    if type_name == "ApiToken":
        return await _visible_token(context, pk)
    if type_name == "Deployment":
        return await context.deployment_loaders.by_id.load(pk)
    if type_name == "Event":
        return await event_queries.event(context, pk)
    if type_name == "Webhook":
        return await webhook_queries.webhook(context, pk)
    if type_name == "WebhookDelivery":
        return await webhook_queries.delivery(context, pk)
    return None


async def _visible_token(context: Context, token_id: int) -> ApiTokenRecord | None:
    """A token, to its own user and to admins; to anyone else it does not exist."""
    token = await context.access.token_by_id(token_id)
    principal = context.principal
    own = (
        token is not None
        and principal.kind is ActorKind.USER
        and token.user_id == principal.actor_id
    )
    return token if own or acts_as_admin(principal) else None


async def nodes(context: Context, global_ids: Sequence[str]) -> list[NodeRecord | None]:
    return list(await asyncio.gather(*(node(context, global_id) for global_id in global_ids)))
