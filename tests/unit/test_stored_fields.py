"""The fast path's stored fields come from the strawberry types, not from a table of its own."""

from __future__ import annotations

import strawberry
from graphql import GraphQLObjectType

from reads.stored_fields import column, not_stored, stored_fields
from schema.build import build_schema


def object_type(schema: strawberry.Schema, name: str) -> GraphQLObjectType:
    found = schema._schema.get_type(name)
    assert isinstance(found, GraphQLObjectType)
    return found


def test_plain_scalar_and_enum_fields_are_stored_and_resolved_fields_are_not() -> None:
    service = stored_fields(object_type(build_schema(), "Service"))
    assert {"slug", "name", "lifecycle", "tier", "tags", "repositoryUrl", "createdAt"} <= service
    assert not {"id", "owner", "owners", "links", "dependsOn", "deployments"} & service


@strawberry.type
class Thing:
    name: str
    shown: str = strawberry.field(metadata=not_stored())

    @strawberry.field
    def computed(self) -> int:
        return 1


@strawberry.type
class ThingQuery:
    thing: Thing


def test_a_field_marked_not_stored_is_left_to_the_executor() -> None:
    assert stored_fields(object_type(strawberry.Schema(ThingQuery), "Thing")) == {"name"}


def test_columns_are_the_field_names_in_snake_case() -> None:
    assert column("repositoryUrl") == "repository_url"
    assert column("slug") == "slug"
