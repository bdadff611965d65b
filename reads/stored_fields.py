"""Which fields of a type the fast path reads straight from a column, derived from the schema.

A field is stored when its strawberry declaration has no resolver and its type is a scalar,
an enum, or a list of them: the type carries the record's value as is, and the column has the
field's name in snake_case. `strawberry.field(metadata=not_stored())` opts a field out; the
executor then answers any query that selects it.
"""

from __future__ import annotations

import functools
from typing import Any

from graphql import GraphQLField, GraphQLObjectType, get_named_type, is_leaf_type
from pydantic.alias_generators import to_snake

STRAWBERRY_DEFINITION = "strawberry-definition"
_NOT_STORED = "not_stored"


def not_stored() -> dict[str, Any]:
    """Field metadata: a plain field whose value is no column of the type's row."""
    return {_NOT_STORED: True}


@functools.cache
def stored_fields(object_type: GraphQLObjectType) -> frozenset[str]:
    return frozenset(name for name, field in object_type.fields.items() if _is_stored(name, field))


@functools.cache
def column(field_name: str) -> str:
    return to_snake(field_name)


def _is_stored(name: str, field: GraphQLField) -> bool:
    definition = field.extensions.get(STRAWBERRY_DEFINITION)
    if name == "id" or definition is None or definition.base_resolver is not None:
        return False
    if definition.metadata.get(_NOT_STORED):
        return False
    return is_leaf_type(get_named_type(field.type))
