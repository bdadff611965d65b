"""Strawberry arguments and input objects -> what the resolvers take, with "not sent"
(strawberry's UNSET) handled here and nowhere below."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any, TypeVar

from pydantic.alias_generators import to_camel
from strawberry import UNSET
from strawberry.types.base import has_object_definition

from domain.catalog.records import PageRequest
from resolvers.paging import page_request

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
    return {
        to_camel(field.name): _plain(getattr(input_object, field.name))
        for field in dataclasses.fields(input_object)
        if getattr(input_object, field.name) is not UNSET
    }
