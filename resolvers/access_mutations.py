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
from resolvers.context import Context
from resolvers.global_ids import decode_id
from resolvers.idempotency import without_secret
from resolvers.use_cases import Transaction, UseCase, access


class CreateApiClient(v.InputModel):
    slug: v.Slug
    name: v.Name
    team: v.Reference = Field(description="Slug of the team the client acts for.")


class DeleteApiClient(v.InputModel):
    api_client: v.Reference = Field(description="Slug of the API client.")


class CreateApiToken(v.InputModel):
    """Exactly one of `user` (a handle) and `client` (a slug)."""

    user: v.Reference | None = None
    client: v.Reference | None = None
    name: v.Name
    scopes: Annotated[list[Scope], Field(min_length=1)]
    expires_at: datetime | None = None


class RevokeApiToken(v.InputModel):
    token: v.NodeId


async def _create_api_client(
    context: Context, client: CreateApiClient, tx: Transaction[AccessStore]
) -> ApiClientRecord:
    return await tx.port.create_api_client(client.slug, client.name, client.team)


async def _delete_api_client(
    context: Context, client: DeleteApiClient, tx: Transaction[AccessStore]
) -> int:
    return await tx.port.delete_api_client(client.api_client)


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


async def _may_mint(context: Context, token: CreateApiToken) -> None:
    allowed = await _token_owner_scopes(context, token)
    beyond = sorted(scope.value for scope in set(token.scopes) - allowed)
    if beyond:
        raise ValidationFailed(
            f"scopes not available to this token: {', '.join(beyond)}", ["input", "scopes"]
        )


async def _create_api_token(
    context: Context, token: CreateApiToken, tx: Transaction[AccessStore]
) -> tuple[ApiTokenRecord, str]:
    expires_at = token_expiry(
        token.expires_at,
        now=datetime.now(UTC),
        max_days=context.max_token_days,
        parent_expires_at=context.principal.token_expires_at,
    )
    return await tx.port.create_token(
        user_handle=token.user,
        client_slug=token.client,
        name=token.name,
        scopes=sorted(set(token.scopes)),
        expires_at=expires_at,
    )


async def _revoke_api_token(
    context: Context, revoked: RevokeApiToken, tx: Transaction[AccessStore]
) -> ApiTokenRecord:
    decoded = decode_id(revoked.token)
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
    return await tx.port.revoke_token(token.id)


create_api_client = UseCase(
    operation="createApiClient",
    model=CreateApiClient,
    action=Action.MANAGE_API_CLIENTS,
    targets=[("ApiClient", "slug")],
    port=access,
    change=_create_api_client,
)
delete_api_client = UseCase(
    operation="deleteApiClient",
    model=DeleteApiClient,
    action=Action.MANAGE_API_CLIENTS,
    targets=[("ApiClient", "api_client")],
    port=access,
    change=_delete_api_client,
    changes_access=True,
)
create_api_token = UseCase(
    operation="createApiToken",
    model=CreateApiToken,
    check=_may_mint,
    targets=[("User", "user"), ("ApiClient", "client")],
    port=access,
    change=_create_api_token,
    conceal=without_secret,
)
revoke_api_token = UseCase(
    operation="revokeApiToken",
    model=RevokeApiToken,
    targets=[("ApiToken", "token")],
    port=access,
    change=_revoke_api_token,
    changes_access=True,
)
