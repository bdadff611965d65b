"""Reads about actors and credentials, each guarded by the policy."""

from __future__ import annotations

from domain.access.model import ActorKind, ApiClientRecord, ApiTokenRecord, Forbidden
from domain.access.policy import Action, acts_as_admin, require
from domain.catalog.records import TeamRecord, UserRecord
from resolvers.context import Context


async def viewer(context: Context) -> UserRecord | ApiClientRecord | None:
    """The current actor's record; None for the built-in local admin."""
    principal = context.principal
    if principal.actor_id is None:
        return None
    if principal.kind is ActorKind.CLIENT:
        return await context.access_loaders.api_client_by_id.load(principal.actor_id)
    return await context.loaders.user_by_id.load(principal.actor_id)


async def tokens_of_user(context: Context, user_id: int) -> list[ApiTokenRecord]:
    principal = context.principal
    own = principal.kind is ActorKind.USER and principal.actor_id == user_id
    if not own and not acts_as_admin(principal):
        raise Forbidden("only the user and admins may list a user's API tokens")
    require(principal, Action.MANAGE_OWN_TOKENS if own else Action.MANAGE_ANY_TOKENS)
    return await context.access_loaders.tokens_of_user.load(user_id)


async def api_clients_of_team(context: Context, team_id: int) -> list[ApiClientRecord]:
    require(context.principal, Action.MANAGE_API_CLIENTS)
    return await context.access_loaders.api_clients_of_team.load(team_id)


async def team_of_client(context: Context, client: ApiClientRecord) -> TeamRecord:
    team = await context.loaders.team_by_id.load(client.team_id)
    assert team is not None, "api_clients.team_id is a foreign key"
    return team
