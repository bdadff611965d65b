"""`sent_reader` gives every mutation's input fields exactly as strawberry's conversion and
`sent_fields` do (the executor's way), for inputs with every field, with only the required
ones, with nulls wherever a null may go, and with lists of several items."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import strawberry
from graphql import (
    GraphQLInputType,
)
from graphql.utilities import coerce_input_value
from pydantic import BaseModel
from strawberry import UNSET
from strawberry.relay.types import GlobalID
from strawberry.types.arguments import convert_argument
from strawberry.types.base import StrawberryMaybe
from strawberry.types.field import StrawberryField

from schema.build import PavedSchema, build_schema
from schema.inputs import graphql_input, sent_fields
from schema.sent_inputs import sent_reader
from tests.support.input_samples import sample


@pytest.fixture(scope="module")
def schema() -> PavedSchema:
    return build_schema()


def _mutations(schema: PavedSchema) -> Iterator[tuple[str, StrawberryField, GraphQLInputType]]:
    mutation = schema._schema.mutation_type
    assert mutation is not None
    for name, graphql_field in mutation.fields.items():
        field = graphql_field.extensions["strawberry-definition"]
        assert isinstance(field, StrawberryField)
        yield name, field, graphql_field.args["input"].type


@pytest.mark.parametrize(
    ("every", "nulls"),
    [(True, False), (False, False), (True, True)],
    ids=["every field", "required fields only", "nulls where allowed"],
)
def test_every_mutation_input_reads_as_the_executor_converts_it(
    schema: PavedSchema, every: bool, nulls: bool
) -> None:
    scalars = schema.schema_converter.scalar_registry
    read = 0
    for name, field, input_type in _mutations(schema):
        (argument,) = (a for a in field.arguments if a.python_name == "input")
        reader = sent_reader(argument.type, scalars, schema.config)
        assert reader is not None, f"{name}: its input has no reader"
        coerced = coerce_input_value(sample(input_type, every=every, nulls=nulls), input_type)
        converted = convert_argument(coerced, argument.type, scalars, schema.config)
        assert reader(coerced) == sent_fields(converted), name
        read += 1
    assert read >= 40


class _Nullable(BaseModel):
    name: str
    parent: str | None
    """Required, but may be null: left out, strawberry gives it null."""
    description: str | None = None
    """Has a default: left out, it is not sent."""
    tags: list[str] | None = None


def test_a_required_field_that_may_be_null_reads_as_null_when_left_out(
    schema: PavedSchema,
) -> None:
    input_type = graphql_input(_Nullable, "SentInputsNullableInput")
    reader = sent_reader(input_type, schema.schema_converter.scalar_registry, schema.config)
    assert reader is not None
    assert reader({"name": "a"}) == {"name": "a", "parent": None}
    assert reader({"name": "a", "description": None, "tags": ["x"]}) == {
        "name": "a",
        "parent": None,
        "description": None,
        "tags": ["x"],
    }
    converted = convert_argument(
        {"name": "a"}, input_type, schema.schema_converter.scalar_registry, schema.config
    )
    assert sent_fields(converted) == {"name": "a", "parent": None}


@strawberry.input
class _Tree:
    name: str
    children: list[_Tree] | None = UNSET


def test_types_it_does_not_read_are_left_to_strawberry(schema: PavedSchema) -> None:
    scalars = schema.schema_converter.scalar_registry
    assert sent_reader(GlobalID, scalars, schema.config) is None
    assert sent_reader(StrawberryMaybe(of_type=str), scalars, schema.config) is None
    assert sent_reader(_Tree, scalars, schema.config) is None, "an input that holds itself"
