"""Strawberry arguments and input objects -> what the resolvers take, with "not sent"
(strawberry's UNSET) handled here and nowhere below; and the GraphQL input types, generated
from the resolvers' pydantic input models (`graphql_input`)."""

from __future__ import annotations

import enum
import inspect
from collections.abc import Sequence
from types import UnionType
from typing import Annotated, Any, Optional, TypeVar, Union, get_args, get_origin

import strawberry
from pydantic import BaseModel
from pydantic.alias_generators import to_camel
from strawberry import UNSET
from strawberry.scalars import JSON
from strawberry.types.base import has_object_definition

from domain.catalog.records import PageRequest
from resolvers.paging import page_request
from resolvers.validation import GlobalId

T = TypeVar("T")


def given(value: T | None) -> T | None:
    """An optional argument's value, with "not sent" read as null."""
    return None if value is UNSET else value


def page(
    first: int | None,
    after: str | None,
    last: int | None = UNSET,
    before: str | None = UNSET,
) -> PageRequest:
    """A connection's window from its arguments, those not sent read as null."""
    return page_request(given(first), given(after), given(last), given(before))


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value
    if has_object_definition(value):
        return sent_fields(value)
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def sent_fields(input_object: Any) -> dict[str, Any]:
    """camelCase keys of the fields the client gave (null included), values made plain."""
    fields = input_object.__strawberry_definition__.fields
    return {
        field.graphql_name or to_camel(field.python_name): _plain(
            getattr(input_object, field.python_name)
        )
        for field in fields
        if getattr(input_object, field.python_name) is not UNSET
    }


_generated: dict[str, type] = {}


def graphql_input(model: type[BaseModel], name: str | None = None) -> type:
    """The GraphQL input type of a pydantic input model, its one declaration: the model's
    fields in order (camelCase), its descriptions (the docstring, `Field(description=...)`);
    a field with a default may be left out or sent as null (`UNSET` when left out, as
    `sent_fields` reads it), one without is required. Named `name`, or like the model."""
    type_name = name or model.__name__
    if type_name not in _generated:
        _generated[type_name] = _input_type(model, type_name)
    return _generated[type_name]


def _input_type(model: type[BaseModel], type_name: str) -> type:
    annotations: dict[str, Any] = {}
    defaults: dict[str, Any] = {}
    for field_name, info in model.model_fields.items():
        annotation = _graphql_type(info.annotation, info.metadata)
        # An alias the camelCase rule would not give (`class`, a Python keyword) names it.
        named = info.alias if info.alias and info.alias != to_camel(field_name) else None
        if info.is_required():
            annotations[field_name] = annotation
            defaults[field_name] = strawberry.field(description=info.description, name=named)
        else:
            annotations[field_name] = Optional[annotation]  # noqa: UP045 (a runtime type)
            defaults[field_name] = strawberry.field(
                default=UNSET, description=info.description, name=named
            )
    namespace = {"__annotations__": annotations, "__module__": __name__, **defaults}
    description = model.__dict__.get("__doc__")
    return strawberry.input(
        type(type_name, (), namespace),
        name=type_name,
        description=inspect.cleandoc(description) if description else None,
    )


def _graphql_type(annotation: Any, metadata: Sequence[object] = ()) -> Any:
    if get_origin(annotation) is Annotated:
        base, *more = get_args(annotation)
        return _graphql_type(base, [*metadata, *more])
    if any(isinstance(marker, GlobalId) for marker in metadata):
        return strawberry.ID
    origin = get_origin(annotation)
    if origin in (Union, UnionType):
        (present,) = (arg for arg in get_args(annotation) if arg is not type(None))
        return Optional[_graphql_type(present)]  # noqa: UP045 (a runtime type)
    if origin is list:
        (item,) = get_args(annotation)
        return list[_graphql_type(item)]  # type: ignore[misc]
    if origin is dict:
        return JSON
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return graphql_input(annotation)
    return annotation
