"""Domain drafts and patches from validated inputs, field by field of the same name.

A stored field added to a draft (or patch) and to its input model reaches the write port with no
code here: lists become tuples, nested inputs the domain's records (`links` -> `Link`), by the
draft's own annotations.
"""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import TypeAdapter

from resolvers.validation import InputModel

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

D = TypeVar("D", bound="DataclassInstance")


def draft(cls: type[D], model: InputModel, **given: Any) -> D:
    """`cls` from every field of `model` it has (and `given`, for those the input names
    differently)."""
    return _made(cls, model, set(type(model).model_fields), given)


def patch(cls: type[D], model: InputModel) -> D:
    """`cls` from the fields of `model` the client sent; the others keep their default (KEEP)."""
    return _made(cls, model, model.model_fields_set, {})


def _made(cls: type[D], model: InputModel, names: set[str], given: dict[str, Any]) -> D:
    wanted = names & _field_names(cls)
    made: D = _adapter(cls).validate_python(model.model_dump(include=wanted) | given)
    return made


@cache
def _field_names(cls: type[DataclassInstance]) -> frozenset[str]:
    return frozenset(field.name for field in dataclasses.fields(cls))


@cache
def _adapter(cls: type[DataclassInstance]) -> TypeAdapter[Any]:
    return TypeAdapter(cls)
