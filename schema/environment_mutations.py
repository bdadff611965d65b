"""Mutations on environments."""

from __future__ import annotations

import strawberry
from strawberry import UNSET
from strawberry.scalars import JSON

from domain.catalog import records
from resolvers import catalog_mutations as m
from resolvers.global_ids import encode_id
from schema.catalog import CatalogInfo, Environment
from schema.common import UserError, user_errors
from schema.inputs import sent_fields


@strawberry.input(description="The provider adapter that deploys to an environment.")
class ProviderInput:
    kind: str = strawberry.field(description="`simulated` or `webhook`.")
    settings: JSON | None = strawberry.field(
        default=UNSET,
        description="The adapter's settings (camelCase); secrets are named, never given.",
    )


@strawberry.input(description="Who must approve deployments to an environment.")
class ProtectionInput:
    required_approvals: int
    approver_teams: list[str] | None = strawberry.field(default=UNSET, description="Team slugs.")
    prevent_self_approval: bool | None = UNSET


@strawberry.input
class CreateEnvironmentInput:
    slug: str
    name: str
    tier: records.EnvironmentTier
    description: str | None = UNSET
    provider: ProviderInput | None = UNSET
    protection: ProtectionInput | None = UNSET


@strawberry.input
class UpdateEnvironmentInput:
    environment: str
    expected_version: int | None = UNSET
    name: str | None = UNSET
    description: str | None = UNSET
    tier: records.EnvironmentTier | None = UNSET
    provider: ProviderInput | None = UNSET
    protection: ProtectionInput | None = UNSET


@strawberry.input
class DeleteEnvironmentInput:
    environment: str
    expected_version: int | None = UNSET


@strawberry.type
class CreateEnvironmentPayload:
    environment: Environment | None
    errors: list[UserError]


@strawberry.type
class UpdateEnvironmentPayload:
    environment: Environment | None
    errors: list[UserError]


@strawberry.type
class DeleteEnvironmentPayload:
    deleted_id: strawberry.ID | None
    errors: list[UserError]


def _environment(record: records.EnvironmentRecord | None) -> Environment | None:
    return Environment.from_record(record) if record else None


@strawberry.type
class EnvironmentMutation:
    @strawberry.mutation
    async def create_environment(
        self,
        info: CatalogInfo,
        input: CreateEnvironmentInput,
    ) -> CreateEnvironmentPayload:
        outcome = await m.create_environment(info.context, sent_fields(input))
        return CreateEnvironmentPayload(
            environment=_environment(outcome.value), errors=user_errors(outcome.errors)
        )

    @strawberry.mutation
    async def update_environment(
        self,
        info: CatalogInfo,
        input: UpdateEnvironmentInput,
    ) -> UpdateEnvironmentPayload:
        outcome = await m.update_environment(info.context, sent_fields(input))
        return UpdateEnvironmentPayload(
            environment=_environment(outcome.value), errors=user_errors(outcome.errors)
        )

    @strawberry.mutation
    async def delete_environment(
        self,
        info: CatalogInfo,
        input: DeleteEnvironmentInput,
    ) -> DeleteEnvironmentPayload:
        outcome = await m.delete_environment(info.context, sent_fields(input))
        deleted = (
            strawberry.ID(encode_id("Environment", outcome.value.id)) if outcome.value else None
        )
        return DeleteEnvironmentPayload(deleted_id=deleted, errors=user_errors(outcome.errors))
