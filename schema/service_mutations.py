"""Mutations on services, their owners and their dependencies."""

from __future__ import annotations

from typing import Self

import strawberry

from domain.catalog import services
from resolvers import catalog_mutations as m
from resolvers.auditing import Outcome
from resolvers.global_ids import encode_id
from schema.catalog import Service
from schema.common import UserError, user_errors
from schema.mutation_fields import mutation


@strawberry.type
class ServicePayload:
    service: Service | None
    errors: list[UserError]

    @classmethod
    def from_outcome(cls, outcome: Outcome[services.ServiceRecord]) -> Self:
        service = Service.from_record(outcome.value) if outcome.value else None
        return cls(service=service, errors=user_errors(outcome.errors))


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

    @classmethod
    def from_outcome(cls, outcome: Outcome[services.ServiceRecord]) -> Self:
        deleted = strawberry.ID(encode_id("Service", outcome.value.id)) if outcome.value else None
        return cls(deleted_id=deleted, errors=user_errors(outcome.errors))


@strawberry.type
class ServiceMutation:
    create_service = mutation(m.create_service, CreateServicePayload)
    update_service = mutation(m.update_service, UpdateServicePayload)
    delete_service = mutation(m.delete_service, DeleteServicePayload)
    set_service_owners = mutation(m.set_service_owners, SetServiceOwnersPayload)
    add_service_dependency = mutation(m.add_service_dependency, AddServiceDependencyPayload)
    remove_service_dependency = mutation(
        m.remove_service_dependency, RemoveServiceDependencyPayload
    )
