"""`viewer`, and mutations on API clients and API tokens."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import UNSET

from domain.access import model as access
from resolvers import access_mutations as am
from resolvers.global_ids import encode_id
from schema.access import ApiClient, ApiToken, viewer_of
from schema.catalog import CatalogInfo
from schema.common import Actor, UserError, user_errors
from schema.inputs import sent_fields


@strawberry.input
class CreateApiClientInput:
    slug: str
    name: str
    team: str = strawberry.field(description="Slug of the team the client acts for.")


@strawberry.input
class DeleteApiClientInput:
    api_client: str = strawberry.field(description="Slug of the API client.")


@strawberry.input(description="Exactly one of `user` (a handle) and `client` (a slug).")
class CreateApiTokenInput:
    user: str | None = UNSET
    client: str | None = UNSET
    name: str
    scopes: list[access.Scope]
    expires_at: datetime | None = UNSET


@strawberry.input
class RevokeApiTokenInput:
    token: strawberry.ID


@strawberry.type
class CreateApiClientPayload:
    api_client: ApiClient | None
    errors: list[UserError]


@strawberry.type
class DeleteApiClientPayload:
    deleted_id: strawberry.ID | None
    errors: list[UserError]


@strawberry.type
class CreateApiTokenPayload:
    token: ApiToken | None
    secret: str | None = strawberry.field(
        description="The token to send as `Authorization: Bearer <secret>`; shown only here."
    )
    errors: list[UserError]


@strawberry.type
class RevokeApiTokenPayload:
    token: ApiToken | None
    errors: list[UserError]


@strawberry.type
class AccessQuery:
    @strawberry.field(description="Who is asking.")
    async def viewer(self, info: CatalogInfo) -> Actor:
        return await viewer_of(info)


@strawberry.type
class AccessMutation:
    @strawberry.mutation
    async def create_api_client(
        self, info: CatalogInfo, input: CreateApiClientInput
    ) -> CreateApiClientPayload:
        outcome = await am.create_api_client(info.context, sent_fields(input))
        client = ApiClient.from_record(outcome.value) if outcome.value else None
        return CreateApiClientPayload(api_client=client, errors=user_errors(outcome.errors))

    @strawberry.mutation
    async def delete_api_client(
        self, info: CatalogInfo, input: DeleteApiClientInput
    ) -> DeleteApiClientPayload:
        outcome = await am.delete_api_client(info.context, sent_fields(input))
        deleted = (
            strawberry.ID(encode_id("ApiClient", outcome.value))
            if outcome.value is not None
            else None
        )
        return DeleteApiClientPayload(deleted_id=deleted, errors=user_errors(outcome.errors))

    @strawberry.mutation
    async def create_api_token(
        self, info: CatalogInfo, input: CreateApiTokenInput
    ) -> CreateApiTokenPayload:
        outcome = await am.create_api_token(info.context, sent_fields(input))
        if outcome.value is None:
            return CreateApiTokenPayload(
                token=None, secret=None, errors=user_errors(outcome.errors)
            )
        record, secret = outcome.value
        return CreateApiTokenPayload(token=ApiToken.from_record(record), secret=secret, errors=[])

    @strawberry.mutation
    async def revoke_api_token(
        self, info: CatalogInfo, input: RevokeApiTokenInput
    ) -> RevokeApiTokenPayload:
        outcome = await am.revoke_api_token(info.context, sent_fields(input))
        token = ApiToken.from_record(outcome.value) if outcome.value else None
        return RevokeApiTokenPayload(token=token, errors=user_errors(outcome.errors))
