"""`viewer`, and mutations on API clients and API tokens."""

from __future__ import annotations

from typing import Self

import strawberry

from domain.access import model as access
from resolvers import access_mutations as am
from resolvers.auditing import Outcome
from resolvers.global_ids import encode_id
from schema.access import ApiClient, ApiToken, viewer_of
from schema.catalog import CatalogInfo
from schema.common import Actor, UserError, user_errors
from schema.mutation_fields import mutation


@strawberry.type
class CreateApiClientPayload:
    api_client: ApiClient | None
    errors: list[UserError]

    @classmethod
    def from_outcome(cls, outcome: Outcome[access.ApiClientRecord]) -> Self:
        client = ApiClient.from_record(outcome.value) if outcome.value else None
        return cls(api_client=client, errors=user_errors(outcome.errors))


@strawberry.type
class DeleteApiClientPayload:
    deleted_id: strawberry.ID | None
    errors: list[UserError]

    @classmethod
    def from_outcome(cls, outcome: Outcome[int]) -> Self:
        value = outcome.value
        deleted = strawberry.ID(encode_id("ApiClient", value)) if value is not None else None
        return cls(deleted_id=deleted, errors=user_errors(outcome.errors))


@strawberry.type
class CreateApiTokenPayload:
    token: ApiToken | None
    secret: str | None = strawberry.field(
        description="The token to send as `Authorization: Bearer <secret>`; shown only here."
    )
    errors: list[UserError]

    @classmethod
    def from_outcome(cls, outcome: Outcome[tuple[access.ApiTokenRecord, str]]) -> Self:
        if outcome.value is None:
            return cls(token=None, secret=None, errors=user_errors(outcome.errors))
        record, secret = outcome.value
        # A replay of its idempotency key answers no secret: it is shown once.
        return cls(token=ApiToken.from_record(record), secret=secret or None, errors=[])


@strawberry.type
class RevokeApiTokenPayload:
    token: ApiToken | None
    errors: list[UserError]

    @classmethod
    def from_outcome(cls, outcome: Outcome[access.ApiTokenRecord]) -> Self:
        token = ApiToken.from_record(outcome.value) if outcome.value else None
        return cls(token=token, errors=user_errors(outcome.errors))


@strawberry.type
class AccessQuery:
    @strawberry.field(description="Who is asking.")
    async def viewer(self, info: CatalogInfo) -> Actor:
        return await viewer_of(info)


@strawberry.type
class AccessMutation:
    create_api_client = mutation(am.create_api_client, CreateApiClientPayload)
    delete_api_client = mutation(am.delete_api_client, DeleteApiClientPayload)
    create_api_token = mutation(am.create_api_token, CreateApiTokenPayload)
    revoke_api_token = mutation(am.revoke_api_token, RevokeApiTokenPayload)
