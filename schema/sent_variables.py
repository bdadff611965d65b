"""An input argument's value taken straight from the request's variables, for the shape
clients send mutations in: `mutation($input: T!) { field(input: $input) { ... } }`.

graphql-core's way (`get_variable_values`, then `get_argument_values`) is general: variable
signatures looked up, every value's nesting measured, a path and an error callback kept at
every step, sources recorded for each variable. `variable_coercer` walks an input type once
and gives a function that coerces a value exactly as `coerce_input_value` does, for input
types of a plain kind: input objects without defaults, `oneOf` or an `out_type`, lists, and
leaves (coerced by their own `coerce_input_value`). For any value it does not take as it
comes (anything invalid, a list sent as one item, a `str` subclass), the function answers
`REFUSED` and the caller goes graphql-core's way, which coerces it or reports the error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    GraphQLString,
    Undefined,
)
from graphql.utilities.coerce_input_value import coerce_default_value

REFUSED: Any = object()
"""What a coercer answers for a value graphql-core's way must coerce (or refuse)."""

Coercer = Callable[[Any], Any]


def variable_coercer(type_: GraphQLInputType) -> Coercer | None:
    """What coerces a variable's value of `type_` (None: a type of a kind not handled)."""
    return _coercer(type_, frozenset())


def _coercer(type_: GraphQLInputType, within: frozenset[GraphQLInputObjectType]) -> Coercer | None:
    if isinstance(type_, GraphQLNonNull):
        inner = _present(type_.of_type, within)
        return None if inner is None else _non_null(inner)
    present = _present(type_, within)
    return None if present is None else _nullable(present)


def _non_null(present: Coercer) -> Coercer:
    def non_null(value: Any) -> Any:
        return REFUSED if value is None else present(value)

    return non_null


def _nullable(present: Coercer) -> Coercer:
    def nullable(value: Any) -> Any:
        return None if value is None else present(value)

    return nullable


def _present(type_: GraphQLInputType, within: frozenset[GraphQLInputObjectType]) -> Coercer | None:
    """The coercer of a value of `type_` that is not null."""
    if type_ is GraphQLString:
        return _string
    if type_ is GraphQLBoolean:
        return _boolean
    if isinstance(type_, GraphQLScalarType | GraphQLEnumType):
        return _leaf(type_)
    if isinstance(type_, GraphQLList):
        item = _coercer(type_.of_type, within)
        return None if item is None else _each(item)
    if isinstance(type_, GraphQLInputObjectType):
        return _object(type_, within)
    return None


def _string(value: Any) -> Any:
    return value if type(value) is str else REFUSED


def _boolean(value: Any) -> Any:
    return value if type(value) is bool else REFUSED


def _leaf(type_: GraphQLScalarType | GraphQLEnumType) -> Coercer:
    coerce = type_.coerce_input_value

    def leaf(value: Any) -> Any:
        try:
            coerced = coerce(value)
        except Exception:
            return REFUSED
        return REFUSED if coerced is Undefined else coerced

    return leaf


def _each(item: Coercer) -> Coercer:
    def each(value: Any) -> Any:
        if type(value) is not list:
            return REFUSED  # one value as a list of one: graphql-core's way
        items = [item(element) for element in value]
        return REFUSED if any(coerced is REFUSED for coerced in items) else items

    return each


def _object(
    type_: GraphQLInputObjectType, within: frozenset[GraphQLInputObjectType]
) -> Coercer | None:
    if type_ in within or type_.is_one_of or type_.out_type is not GraphQLInputObjectType.out_type:
        return None
    fields: list[tuple[str, Coercer, bool]] = []
    for name, field in type_.fields.items():
        if field.out_name is not None or coerce_default_value(field) is not Undefined:
            return None
        coerce = _coercer(field.type, within | {type_})
        if coerce is None:
            return None
        fields.append((name, coerce, isinstance(field.type, GraphQLNonNull)))
    names = frozenset(type_.fields)

    def read(value: Any) -> Any:
        if type(value) is not dict or not names.issuperset(value):
            return REFUSED
        coerced: dict[str, Any] = {}
        for name, coerce, required in fields:
            if name in value:
                field_value = coerce(value[name])
                if field_value is REFUSED:
                    return REFUSED
                coerced[name] = field_value
            elif required:
                return REFUSED
        return coerced

    return read
