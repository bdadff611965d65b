"""`variable_coercer` coerces a variable's value exactly as graphql-core's
`coerce_input_value` does, or refuses it (then graphql-core's way runs): for every mutation's
input type, on valid inputs and on hostile ones (wrong types, unknown fields, nulls where none
may go, numbers beyond 32 bits, a single value for a list, `str` subclasses)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    GraphQLString,
    Undefined,
)
from graphql.utilities import coerce_input_value
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schema.build import PavedSchema, build_schema
from schema.sent_variables import REFUSED, variable_coercer
from tests.support.input_samples import SCALARS, sample

_ANY_SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.sampled_from(["PRODUCTION", "SUCCEEDED", "READ", "2026-12-05T06:00:00Z", "x"]),
)


@pytest.fixture(scope="module")
def schema() -> PavedSchema:
    return build_schema()


def _input_types(schema: PavedSchema) -> Iterator[tuple[str, GraphQLInputType]]:
    mutation = schema._schema.mutation_type
    assert mutation is not None
    for name, field in mutation.fields.items():
        yield name, field.args["input"].type


def _valid(type_: GraphQLInputType, draw: st.DrawFn) -> Any:
    """A value of `type_` its coercion accepts (mostly) or refuses (sometimes)."""
    if isinstance(type_, GraphQLNonNull):
        return _valid(type_.of_type, draw) if draw(st.integers(0, 20)) else None
    if draw(st.integers(0, 6)) == 0:
        return None
    if isinstance(type_, GraphQLList):
        if draw(st.integers(0, 8)) == 0:
            return _valid(type_.of_type, draw)  # one value for a list of one
        return [_valid(type_.of_type, draw) for _ in range(draw(st.integers(0, 3)))]
    if isinstance(type_, GraphQLEnumType):
        return draw(st.sampled_from([*type_.values, "NOT_A_VALUE"]))
    if isinstance(type_, GraphQLScalarType):
        return SCALARS[type_.name] if draw(st.integers(0, 8)) else draw(_ANY_SCALAR)
    assert isinstance(type_, GraphQLInputObjectType)
    value = {
        name: _valid(field.type, draw)
        for name, field in type_.fields.items()
        if isinstance(field.type, GraphQLNonNull) or draw(st.booleans())
    }
    if draw(st.integers(0, 15)) == 0:
        value["notAField"] = 1
    if value and draw(st.integers(0, 15)) == 0:
        value.pop(draw(st.sampled_from(sorted(value))))
    return value


@st.composite
def _inputs(draw: st.DrawFn, type_: GraphQLInputType) -> Any:
    return _valid(type_, draw)


def _same_or_refused(type_: GraphQLInputType, value: Any) -> bool:
    """Whether the coercer refused `value` (only a refusal when graphql-core refuses it
    too is required of a value the coercer knows) or coerced it as graphql-core does."""
    coerce = variable_coercer(type_)
    assert coerce is not None
    coerced = coerce(value)
    expected = coerce_input_value(value, type_)
    if coerced is REFUSED:
        return True
    return expected is not Undefined and coerced == expected and type(coerced) is type(expected)


def test_every_mutation_input_has_a_coercer(schema: PavedSchema) -> None:
    missing = [name for name, type_ in _input_types(schema) if variable_coercer(type_) is None]
    assert missing == []


@pytest.mark.parametrize("nulls", [False, True], ids=["values", "nulls where allowed"])
def test_plain_inputs_are_coerced_directly_as_graphql_core_coerces_them(
    schema: PavedSchema, nulls: bool
) -> None:
    """A well-formed input is never refused: the direct way is the way actually taken."""
    for name, type_ in _input_types(schema):
        coerce = variable_coercer(type_)
        assert coerce is not None
        value = sample(type_, nulls=nulls)
        expected = coerce_input_value(value, type_)
        assert expected is not Undefined, name
        assert coerce(value) == expected, name


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_input_is_coerced_as_graphql_core_coerces_it_or_refused(
    schema: PavedSchema, data: st.DataObject
) -> None:
    name, type_ = data.draw(st.sampled_from(sorted(_input_types(schema))))
    value = data.draw(_inputs(type_))
    assert _same_or_refused(type_, value), (name, value)


def test_what_graphql_core_refuses_is_refused() -> None:
    type_ = GraphQLNonNull(
        GraphQLInputObjectType(
            "Refusals",
            {
                "name": GraphQLInputField(GraphQLNonNull(GraphQLString)),
                "count": GraphQLInputField(GraphQLInt),
                "tags": GraphQLInputField(GraphQLList(GraphQLNonNull(GraphQLString))),
            },
        )
    )
    coerce = variable_coercer(type_)
    assert coerce is not None
    for value in (
        None,
        "name",
        [{"name": "a"}],
        {},
        {"name": None},
        {"name": 5},
        {"name": "a", "unknown": 1},
        {"name": "a", "count": 2**31},
        {"name": "a", "count": 1.5},
        {"name": "a", "count": True},
        {"name": "a", "tags": [None]},
        {"name": "a", "tags": [1]},
    ):
        assert coerce_input_value(value, type_) is Undefined, value
        assert coerce(value) is REFUSED, value
    assert coerce({"name": "a", "count": 2.0, "tags": ["x"]}) == {
        "name": "a",
        "count": 2,
        "tags": ["x"],
    }


class _Text(str):
    pass


def test_values_graphql_core_takes_its_own_way_are_refused_not_changed() -> None:
    type_ = GraphQLInputObjectType(
        "OwnWay",
        {
            "tags": GraphQLInputField(GraphQLList(GraphQLString)),
            "name": GraphQLInputField(GraphQLString),
        },
    )
    coerce = variable_coercer(type_)
    assert coerce is not None
    assert coerce_input_value({"tags": "one"}, type_) == {"tags": ["one"]}
    assert coerce({"tags": "one"}) is REFUSED, "a single value for a list"
    assert coerce({"tags": ("a",)}) is REFUSED, "a tuple for a list"
    assert coerce({"name": _Text("a")}) is REFUSED, "a str subclass"


def test_types_of_another_kind_have_no_coercer() -> None:
    with_default = GraphQLInputObjectType(
        "WithDefault", {"n": GraphQLInputField(GraphQLInt, default_value=3)}
    )
    one_of = GraphQLInputObjectType(
        "OneOf", {"a": GraphQLInputField(GraphQLString)}, is_one_of=True
    )
    renamed = GraphQLInputObjectType(
        "Renamed", {"a": GraphQLInputField(GraphQLString, out_name="b")}
    )
    converted = GraphQLInputObjectType(
        "Converted", {"a": GraphQLInputField(GraphQLString)}, out_type=tuple
    )
    selfish = GraphQLInputObjectType("Selfish", lambda: {"child": GraphQLInputField(selfish)})
    for type_ in (with_default, one_of, renamed, converted, selfish):
        assert variable_coercer(type_) is None, type_
        assert variable_coercer(GraphQLNonNull(GraphQLList(type_))) is None, type_
