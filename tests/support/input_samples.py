"""External values of GraphQL input types, as a client sends them in variables: for the tests
that compare the fast mutation path's reading of inputs with graphql-core's and strawberry's."""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
)

SCALARS: dict[str, Any] = {
    "String": "text",
    "ID": "id-1",
    "Int": 3,
    "Float": 2.5,
    "Boolean": True,
    "DateTime": "2026-12-05T06:00:00+00:00",
    "JSON": {"k": [1, "v", None], "nested": {"x": True}},
}
"""A valid value of each scalar the schema has."""


def sample(type_: GraphQLInputType, *, every: bool = True, nulls: bool = False) -> Any:
    """An external value of `type_`: every field or only the required ones; `nulls`: null
    wherever the type allows it instead."""
    if isinstance(type_, GraphQLNonNull):
        return sample(type_.of_type, every=every, nulls=False)
    if nulls:
        return None
    if isinstance(type_, GraphQLList):
        return [sample(type_.of_type, every=every, nulls=False) for _ in range(2)]
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if isinstance(type_, GraphQLScalarType):
        return SCALARS[type_.name]
    assert isinstance(type_, GraphQLInputObjectType)
    return {
        name: sample(field.type, every=every, nulls=nulls and every)
        for name, field in type_.fields.items()
        if every or isinstance(field.type, GraphQLNonNull)
    }
