"""The `JSON` scalar as strawberry defines it, except that an integer in it must fit in 64
bits: PostgreSQL's jsonb would keep a larger one, but the JSON encoder the audit log and the
stores use cannot, and such a value used to end its mutation as INTERNAL. Refused in the
document's validation, with the other VALIDATION errors."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, ValueNode, value_from_ast_untyped
from strawberry.scalars import JSON
from strawberry.schema.types.scalar import DEFAULT_SCALAR_REGISTRY
from strawberry.types.scalar import ScalarDefinition, scalar

LOWEST = -(2**63)
HIGHEST = 2**64 - 1


def _checked(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and not LOWEST <= value <= HIGHEST:
        # A GraphQLError: refused as the input's fault (any other exception reads as a bug).
        raise GraphQLError(f"integers in JSON must lie between {LOWEST} and {HIGHEST}")
    if isinstance(value, dict):
        for item in value.values():
            _checked(item)
    elif isinstance(value, list):
        for item in value:
            _checked(item)
    return value


def _parse_literal(node: ValueNode, variables: dict[str, Any] | None = None) -> Any:
    return _checked(value_from_ast_untyped(node, variables))


def json_scalar() -> ScalarDefinition:
    """The definition to override strawberry's `JSON` with (`scalar_overrides`)."""
    default = DEFAULT_SCALAR_REGISTRY[JSON]
    defined: ScalarDefinition = scalar(
        name=default.name,
        description=default.description,
        specified_by_url=default.specified_by_url,
        serialize=lambda value: value,
        parse_value=_checked,
        parse_literal=_parse_literal,
    )
    return defined
