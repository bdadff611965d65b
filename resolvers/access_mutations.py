"""API clients and tokens: who may create and revoke them, and the checks on their scopes.

A new token never carries more than the actor it belongs to may hold, and a token made by
its own user never more than the credential making it (a read-only token cannot mint a
write token). Its lifetime is bounded as `domain.access.token_lifetimes` says: never past the
API token making it, nor past `PAVED_MAX_TOKEN_DAYS`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import Field

from domain.access.model import ActorKind, ApiClientRecord, ApiTokenRecord, Scope
from domain.access.policy import Action, require, role_scopes
from domain.access.ports import AccessStore
from domain.access.token_lifetimes import token_expiry
from domain.errors import NotFound, ValidationFailed
from resolvers import validation as v
from resolvers.auditing import Input, Outcome, attempt_with, target
from resolvers.context import Context
from resolvers.global_ids import decode_id


class CreateApiClient(v.InputModel):
    slug: v.Slug
    name: v.Name
    team: v.Reference


class DeleteApiClient(v.InputModel):
    api_client: v.Reference


class CreateApiToken(v.InputModel):
    user: v.Reference | None = None
    client: v.Reference | None = None
    name: v.Name
    scopes: Annotated[list[Scope], Field(min_length=1)]
    expires_at: datetime | None = None


class RevokeApiToken(v.InputModel):
    token: v.Reference


async def create_api_client(context: Context, data: Input) -> Outcome[ApiClientRecord]:
    async def act(store: AccessStore) -> ApiClientRecord:
        require(context.principal, Action.MANAGE_API_CLIENTS)
        model = v.validate(CreateApiClient, data)
        return await store.create_api_client(model.slug, model.name, model.team)

    return await attempt_with(
        context,
        "createApiClient",
        data,
        [target("ApiClient", data.get("slug"))],
        context.access.audited,
        act,
    )


async def delete_api_client(context: Context, data: Input) -> Outcome[int]:
    async def act(store: AccessStore) -> int:
        require(context.principal, Action.MANAGE_API_CLIENTS)
        model = v.validate(DeleteApiClient, data)
        return await store.delete_api_client(model.api_client)

    return await attempt_with(
        context,
        "deleteApiClient",
        data,
        [target("ApiClient", data.get("apiClient"))],
        context.access.audited,
        act,
    )


async def _token_owner_scopes(context: Context, model: CreateApiToken) -> frozenset[Scope]:
    """Authorize minting a token for the named actor; the most that actor may hold."""
    principal = context.principal
    if (model.user is None) == (model.client is None):
        raise ValidationFailed("name exactly one of `user` and `client`", ["input", "user"])
    if model.client is not None:
        require(principal, Action.MANAGE_ANY_TOKENS)
        return role_scopes(ActorKind.CLIENT, is_admin=False)
    assert model.user is not None
    user = await context.loaders.user_by_handle.load(model.user)
    if user is None:
        raise NotFound(f"no user '{model.user}'", ["input", "user"])
    if principal.kind is ActorKind.USER and principal.actor_id == user.id:
        require(principal, Action.MANAGE_OWN_TOKENS)
        return principal.scopes
    require(principal, Action.MANAGE_ANY_TOKENS)
    is_admin = await context.access.is_admin(user.id)
    return role_scopes(ActorKind.USER, is_admin)


async def create_api_token(context: Context, data: Input) -> Outcome[tuple[ApiTokenRecord, str]]:
    async def act(store: AccessStore) -> tuple[ApiTokenRecord, str]:
        model = v.validate(CreateApiToken, data)
        allowed = await _token_owner_scopes(context, model)
        beyond = sorted(scope.value for scope in set(model.scopes) - allowed)
        if beyond:
            raise ValidationFailed(
                f"scopes not available to this token: {', '.join(beyond)}", ["input", "scopes"]
            )
        expires_at = token_expiry(
            model.expires_at,
            now=datetime.now(UTC),
            max_days=context.max_token_days,
            parent_expires_at=context.principal.token_expires_at,
        )
        return await store.create_token(
            user_handle=model.user,
            client_slug=model.client,
            name=model.name,
            scopes=sorted(set(model.scopes)),
            expires_at=expires_at,
        )

    targets = [target("User", data.get("user")), target("ApiClient", data.get("client"))]
    return await attempt_with(context, "createApiToken", data, targets, context.access.audited, act)


async def revoke_api_token(context: Context, data: Input) -> Outcome[ApiTokenRecord]:
    async def act(store: AccessStore) -> ApiTokenRecord:
        model = v.validate(RevokeApiToken, data)
        decoded = decode_id(model.token)
        token = (
            await context.access.token_by_id(decoded[1])
            if decoded is not None and decoded[0] == "ApiToken"
            else None
        )
        if token is None:
            raise NotFound("no such API token", ["input", "token"])
        principal = context.principal
        own = principal.kind is ActorKind.USER and token.user_id == principal.actor_id
        require(principal, Action.MANAGE_OWN_TOKENS if own else Action.MANAGE_ANY_TOKENS)
        return await store.revoke_token(token.id)

    return await attempt_with(
        context,
        "revokeApiToken",
        data,
        [target("ApiToken", data.get("token"))],
        context.access.audited,
        act,
    )
