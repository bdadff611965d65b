"""Mutations on services, their owners and their dependencies."""

from __future__ import annotations

import strawberry
from strawberry import UNSET

from domain.catalog import records
from resolvers import catalog_mutations as m
from resolvers.auditing import Outcome
from resolvers.global_ids import encode_id
from schema.catalog import CatalogInfo, Service
from schema.common import UserError, user_errors
from schema.inputs import sent_fields


@strawberry.input
class LinkInput:
    title: str
    url: str


@strawberry.input
class OwnerInput:
    team: str = strawberry.field(description="Slug of the team.")
    role: records.OwnershipRole


@strawberry.input
class CreateServiceInput:
    slug: str
    name: str
    owner: str = strawberry.field(description="Slug of the primary owner team.")
    description: str | None = UNSET
    lifecycle: records.Lifecycle | None = UNSET
    tier: int | None = UNSET
    tags: list[str] | None = UNSET
    links: list[LinkInput] | None = UNSET
    repository_url: str | None = UNSET


@strawberry.input
class UpdateServiceInput:
    service: str
    expected_version: int | None = UNSET
    name: str | None = UNSET
    description: str | None = UNSET
    lifecycle: records.Lifecycle | None = UNSET
    tier: int | None = UNSET
    tags: list[str] | None = UNSET
    links: list[LinkInput] | None = UNSET
    repository_url: str | None = UNSET


@strawberry.input
class DeleteServiceInput:
    service: str
    expected_version: int | None = UNSET


@strawberry.input
class SetServiceOwnersInput:
    service: str
    owners: list[OwnerInput] = strawberry.field(
        description="Replaces every owner; exactly one must be PRIMARY."
    )


@strawberry.input
class AddServiceDependencyInput:
    service: str
    depends_on: str


@strawberry.input
class RemoveServiceDependencyInput:
    service: str
    depends_on: str


@strawberry.type
class ServicePayload:
    service: Service | None
    errors: list[UserError]


@strawberry.type
class CreateServicePayload(ServicePayload):
    pass


@strawberry.type
class UpdateServicePayload(ServicePayload):
    pass


@strawberry.type
class SetServiceOwnersPayload(ServicePayload):
    pass


@strawberry.type
class AddServiceDependencyPayload(ServicePayload):
    pass


@strawberry.type
class RemoveServiceDependencyPayload(ServicePayload):
    pass


@strawberry.type
class DeleteServicePayload:
    deleted_id: strawberry.ID | None
    errors: list[UserError]


def _payload(
    outcome: Outcome[records.ServiceRecord], payload: type[ServicePayload]
) -> ServicePayload:
    service = Service.from_record(outcome.value) if outcome.value else None
    return payload(service=service, errors=user_errors(outcome.errors))


@strawberry.type
class ServiceMutation:
    @strawberry.mutation
    async def create_service(
        self,
        info: CatalogInfo,
        input: CreateServiceInput,
    ) -> CreateServicePayload:
        outcome = await m.create_service(info.context, sent_fields(input))
        return _payload(outcome, CreateServicePayload)  # type: ignore[return-value]

    @strawberry.mutation
    async def update_service(
        self,
        info: CatalogInfo,
        input: UpdateServiceInput,
    ) -> UpdateServicePayload:
        outcome = await m.update_service(info.context, sent_fields(input))
        return _payload(outcome, UpdateServicePayload)  # type: ignore[return-value]

    @strawberry.mutation
    async def delete_service(
        self,
        info: CatalogInfo,
        input: DeleteServiceInput,
    ) -> DeleteServicePayload:
        outcome = await m.delete_service(info.context, sent_fields(input))
        deleted = strawberry.ID(encode_id("Service", outcome.value.id)) if outcome.value else None
        return DeleteServicePayload(deleted_id=deleted, errors=user_errors(outcome.errors))

    @strawberry.mutation
    async def set_service_owners(
        self,
        info: CatalogInfo,
        input: SetServiceOwnersInput,
    ) -> SetServiceOwnersPayload:
        outcome = await m.set_service_owners(info.context, sent_fields(input))
        return _payload(outcome, SetServiceOwnersPayload)  # type: ignore[return-value]

    @strawberry.mutation
    async def add_service_dependency(
        self,
        info: CatalogInfo,
        input: AddServiceDependencyInput,
    ) -> AddServiceDependencyPayload:
        outcome = await m.add_service_dependency(info.context, sent_fields(input))
        return _payload(outcome, AddServiceDependencyPayload)  # type: ignore[return-value]

    @strawberry.mutation
    async def remove_service_dependency(
        self,
        info: CatalogInfo,
        input: RemoveServiceDependencyInput,
    ) -> RemoveServiceDependencyPayload:
        outcome = await m.remove_service_dependency(info.context, sent_fields(input))
        return _payload(outcome, RemoveServiceDependencyPayload)  # type: ignore[return-value]
