"""An input argument's fields as the use case takes them (`sent_fields`), straight from the
value graphql-core coerced, without building strawberry's input objects first.

The executor's way, strawberry's `convert_arguments` and then `sent_fields`, walks the input
type and looks its names up again at every request. `sent_reader` walks it once, for the
input types `graphql_input` generates, and gives a function that makes the same dict: the
fields the client gave (null included; a required field that may be null and was left out
reads as null, as strawberry sets it), camelCase keys, in the type's order, nested inputs as
dicts, lists copied, scalars and enums as graphql-core parsed them. Any other kind of type
(a `Maybe`, a `GlobalID`, an input with its own `from_input`, a default other than "not
sent") has no reader, and the caller converts as the executor does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from pydantic.alias_generators import to_camel
from strawberry import UNSET
from strawberry.relay.types import GlobalID
from strawberry.scalars import is_scalar
from strawberry.schema.config import StrawberryConfig
from strawberry.types.base import (
    StrawberryList,
    StrawberryMaybe,
    StrawberryOptional,
    StrawberryType,
    has_object_definition,
)
from strawberry.types.enum import StrawberryEnumDefinition, has_enum_definition
from strawberry.types.lazy_type import LazyType
from strawberry.types.scalar import ScalarDefinition, ScalarWrapper

Reader = Callable[[Any], Any]
Scalars = Mapping[object, ScalarWrapper | ScalarDefinition]

_LEFT_OUT_IS_NULL = object()
"""A field without a default: strawberry gives it null when the client leaves it out."""


def sent_reader(
    type_: StrawberryType | type,
    scalars: Scalars,
    config: StrawberryConfig,
    within: frozenset[type] = frozenset(),
) -> Reader | None:
    """What reads a coerced value of `type_` as `sent_fields` would give it (None: `type_`
    is not one this module reads). `within`: the input types being read around it; one that
    holds itself is left to strawberry."""
    if isinstance(type_, StrawberryMaybe):
        return None
    if isinstance(type_, StrawberryOptional):
        inner = sent_reader(type_.of_type, scalars, config, within)
        return None if inner is None else _or_null(inner)
    if isinstance(type_, StrawberryList):
        item = sent_reader(type_.of_type, scalars, config, within)
        return None if item is None else _each(item)
    if isinstance(type_, LazyType):
        return sent_reader(type_.resolve_type(), scalars, config, within)
    if type_ is GlobalID:
        return None
    if (
        is_scalar(type_, scalars)
        or isinstance(type_, StrawberryEnumDefinition)
        or has_enum_definition(type_)
    ):
        return _same
    if has_object_definition(type_):
        if type_ in within:
            return None
        return _object_reader(type_, scalars, config, within | {type_})
    return None


def _object_reader(
    type_: type, scalars: Scalars, config: StrawberryConfig, within: frozenset[type]
) -> Reader | None:
    definition = type_.__strawberry_definition__  # type: ignore[attr-defined]
    if not definition.is_input or definition.from_input is not None:
        return None
    fields: list[tuple[str, Reader, object]] = []
    for field in definition.fields:
        name = config.name_converter.from_field(field)
        if name != (field.graphql_name or to_camel(field.python_name)):
            return None
        if field.default_factory is not dataclasses.MISSING:
            return None
        if field.default_value is dataclasses.MISSING:
            left_out: object = _LEFT_OUT_IS_NULL
        elif field.default_value is UNSET:
            left_out = UNSET
        else:
            return None
        reader = sent_reader(
            field.resolve_type(type_definition=definition), scalars, config, within
        )
        if reader is None:
            return None
        fields.append((name, reader, left_out))
    return _fields(tuple(fields))


def _fields(fields: tuple[tuple[str, Reader, object], ...]) -> Reader:
    def read(value: Mapping[str, Any]) -> dict[str, Any]:
        sent: dict[str, Any] = {}
        for name, reader, left_out in fields:
            if name in value:
                sent[name] = reader(value[name])
            elif left_out is _LEFT_OUT_IS_NULL:
                sent[name] = None
        return sent

    return read


def _or_null(inner: Reader) -> Reader:
    return lambda value: None if value is None else inner(value)


def _each(item: Reader) -> Reader:
    return lambda value: [item(element) for element in value]


def _same(value: Any) -> Any:
    return value
