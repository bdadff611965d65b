"""`node`/`nodes`: global IDs back to records, batched through the request's loaders."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from domain.access.model import ActorKind, ApiClientRecord, ApiTokenRecord
from domain.access.policy import acts_as_admin
from domain.catalog.records import EnvironmentRecord, TeamRecord, UserRecord
from domain.catalog.services import ServiceRecord
from domain.deployments.model import DeploymentRecord
from domain.events.model import EventRecord
from domain.resources.model import ResourceClassRecord, ResourceRecord, TemplateRecord
from domain.webhooks.model import DeliveryRecord, WebhookRecord
from resolvers import event_queries, resource_queries, webhook_queries
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
    | ResourceRecord
    | ResourceClassRecord
    | TemplateRecord
)


async def node(context: Context, global_id: str) -> NodeRecord | None:
    decoded = decode_id(global_id)
    if decoded is None:
        return None
    type_name, pk = decoded
    fetch = _FETCHERS.get(type_name)
    return None if fetch is None else await fetch(context, pk)


async def _team(context: Context, pk: int) -> NodeRecord | None:
    return await context.loaders.team_by_id.load(pk)


async def _user(context: Context, pk: int) -> NodeRecord | None:
    return await context.loaders.user_by_id.load(pk)


async def _service(context: Context, pk: int) -> NodeRecord | None:
    return await context.loaders.service_by_id.load(pk)


async def _environment(context: Context, pk: int) -> NodeRecord | None:
    return await context.loaders.environment_by_id.load(pk)


async def _api_client(context: Context, pk: int) -> NodeRecord | None:
    return await context.access_loaders.api_client_by_id.load(pk)


async def _deployment(context: Context, pk: int) -> NodeRecord | None:
    return await context.deployment_loaders.by_id.load(pk)


async def _resource(context: Context, pk: int) -> NodeRecord | None:
    return (
        None if context.resource_loaders is None else await resource_queries.resource(context, pk)
    )


async def _resource_class(context: Context, pk: int) -> NodeRecord | None:
    if context.resource_loaders is None:
        return None
    return await resource_queries.resource_class(context, pk)


async def _template(context: Context, pk: int) -> NodeRecord | None:
    return (
        None if context.resource_loaders is None else await resource_queries.template(context, pk)
    )


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


_FETCHERS: dict[str, Callable[[Context, int], Awaitable[NodeRecord | None]]] = {
    "Team": _team,
    "User": _user,
    "Service": _service,
    "Environment": _environment,
    "ApiClient": _api_client,
    "ApiToken": _visible_token,
    "Deployment": _deployment,
    "Event": event_queries.event,
    "Webhook": webhook_queries.webhook,
    "WebhookDelivery": webhook_queries.delivery,
    "Resource": _resource,
    "ResourceClass": _resource_class,
    "Template": _template,
}


async def nodes(context: Context, global_ids: Sequence[str]) -> list[NodeRecord | None]:
    return list(await asyncio.gather(*(node(context, global_id) for global_id in global_ids)))
