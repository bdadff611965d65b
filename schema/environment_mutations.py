"""Mutations on environments."""

from __future__ import annotations

from typing import Self

import strawberry

from domain.catalog import records
from resolvers import environment_mutations as m
from resolvers.auditing import Outcome
from resolvers.global_ids import encode_id
from schema.catalog import Environment
from schema.common import UserError, user_errors
from schema.mutation_fields import mutation


@strawberry.type
class EnvironmentChangePayload:
    environment: Environment | None
    errors: list[UserError]

    @classmethod
    def from_outcome(cls, outcome: Outcome[records.EnvironmentRecord]) -> Self:
        environment = Environment.from_record(outcome.value) if outcome.value else None
        return cls(environment=environment, errors=user_errors(outcome.errors))


@strawberry.type
class CreateEnvironmentPayload(EnvironmentChangePayload):
    pass


@strawberry.type
class UpdateEnvironmentPayload(EnvironmentChangePayload):
    pass


@strawberry.type
class DeleteEnvironmentPayload:
    deleted_id: strawberry.ID | None
    errors: list[UserError]

    @classmethod
    def from_outcome(cls, outcome: Outcome[records.EnvironmentRecord]) -> Self:
        value = outcome.value
        deleted = strawberry.ID(encode_id("Environment", value.id)) if value else None
        return cls(deleted_id=deleted, errors=user_errors(outcome.errors))


@strawberry.type
class EnvironmentMutation:
    create_environment = mutation(m.create_environment, CreateEnvironmentPayload)
    update_environment = mutation(m.update_environment, UpdateEnvironmentPayload)
    delete_environment = mutation(m.delete_environment, DeleteEnvironmentPayload)
