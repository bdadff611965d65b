"""A GraphQL mutation from a use case: its input type generated from the use case's input
model, its resolver the use case itself (`resolvers.use_cases`), its answer the payload's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, Protocol, Self, TypeVar

import strawberry
from pydantic import BaseModel, Field, create_model

from resolvers.auditing import Outcome
from resolvers.context import Context
from resolvers.deployment_inputs import IdempotencyKey
from resolvers.idempotency import KEY_DESCRIPTION
from resolvers.use_cases import UseCase
from schema.catalog import CatalogInfo
from schema.inputs import graphql_input, sent_fields

T = TypeVar("T")


class Answer(Protocol[T]):
    """A mutation's payload type, made from the use case's outcome."""

    @classmethod
    def from_outcome(cls, outcome: Outcome[T]) -> Self: ...


def keyed(model: type[BaseModel]) -> type[BaseModel]:
    """`model` with an `idempotencyKey` (`resolvers.idempotency`), which every mutation
    accepts, last; the model itself when it declares one."""
    if "idempotency_key" in model.model_fields:
        return model
    key: Any = (IdempotencyKey | None, Field(default=None, description=KEY_DESCRIPTION))
    made: type[BaseModel] = create_model(model.__name__, __base__=model, idempotency_key=key)
    return made


@dataclass(frozen=True, slots=True)
class MutationRunner(Generic[T]):
    """What a mutation field does with its input: the use case, then its payload. The
    executor calls it through the field's resolver, the fast path (`schema.fast_mutations`)
    directly."""

    use_case: UseCase[Any, Any, T]
    payload: type[Answer[T]]

    async def __call__(self, context: Context, input: Any) -> Answer[T]:
        return await self.with_fields(context, sent_fields(input))

    async def with_fields(self, context: Context, fields: dict[str, Any]) -> Answer[T]:
        """The same, given the input's fields as `sent_fields` reads them."""
        return self.payload.from_outcome(await self.use_case(context, fields))


def runner_of(resolver: Any) -> MutationRunner[Any] | None:
    """The runner behind a mutation field's resolver, if `mutation` made it."""
    runner = getattr(resolver, "runner", None)
    return runner if isinstance(runner, MutationRunner) else None


def mutation(
    use_case: UseCase[Any, Any, T], payload: type[Answer[T]], description: str | None = None
) -> Any:
    """`<operation>(input: <Operation>Input!): <payload>!`."""
    operation = use_case.operation
    input_type = graphql_input(keyed(use_case.model), f"{operation[0].upper()}{operation[1:]}Input")
    runner = MutationRunner(use_case, payload)

    async def resolve(info: CatalogInfo, input: Any) -> Any:
        return await runner(info.context, input)

    resolve.__annotations__ = {"info": CatalogInfo, "input": input_type, "return": payload}
    resolve.runner = runner  # type: ignore[attr-defined]
    return strawberry.mutation(resolver=resolve, description=description)
