"""Shared GraphQL types: Node, errors, enums of the vocabulary, and connections."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any, Generic, Self, TypeVar, cast

import strawberry
from strawberry.types import Info
from strawberry.types.base import StrawberryObjectDefinition

from domain import errors
from domain.catalog import records, services
from resolvers.catalog_queries import Listing
from resolvers.global_ids import encode_id

ErrorCode = strawberry.enum(errors.ErrorCode, name="ErrorCode")
Lifecycle = strawberry.enum(services.Lifecycle, name="Lifecycle")
EnvironmentTier = strawberry.enum(records.EnvironmentTier, name="EnvironmentTier")
OwnershipRole = strawberry.enum(records.OwnershipRole, name="OwnershipRole")
ServiceOrderField = strawberry.enum(services.ServiceOrderField, name="ServiceOrderField")
OrderDirection = strawberry.enum(records.OrderDirection, name="OrderDirection")


class FromRecord:
    """A type that shows a domain record: `from_record` fills every field the record has a
    value of the same name for, the private `record` with the record itself and a Node's `id`
    with its global ID. Fields with resolvers read `self.record` when asked."""

    @classmethod
    def from_record(cls, record: Any) -> Self:
        values: dict[str, Any] = {}
        names, type_name = _shape(cls)
        for name in names:
            if name == "record":
                values[name] = record
            elif name == "id":
                values[name] = strawberry.ID(encode_id(type_name, record.id))
            elif hasattr(record, name):
                values[name] = getattr(record, name)
        return cls(**values)

    @classmethod
    def from_optional(cls, record: Any | None) -> Self | None:
        return None if record is None else cls.from_record(record)


_SHAPES: dict[type[Any], tuple[tuple[str, ...], str]] = {}


def _shape(cls: type[Any]) -> tuple[tuple[str, ...], str]:
    """The type's field names and GraphQL name, looked up once per type."""
    shape = _SHAPES.get(cls)
    if shape is None:
        names = tuple(field.name for field in dataclasses.fields(cls) if field.init)
        shape = _SHAPES[cls] = (names, str(cls.__strawberry_definition__.name))
    return shape


def lazy(type_name: str, module: str) -> Any:
    """A type declared in a module above this one, named without importing it (use as a
    field's `graphql_type`); `schema_type` builds its objects."""
    return Annotated[type_name, strawberry.lazy(module)]


def many(container: type[Any], item: Any) -> Any:
    """`container[item]` for a lazily named item (`list`, `Connection`)."""
    return cast(Any, container)[item]


def schema_type(info: Info[Any, Any], type_name: str) -> Any:
    """The class behind the running schema's type `type_name`."""
    definition = info.schema.get_type_by_name(type_name)
    assert isinstance(definition, StrawberryObjectDefinition), type_name
    return definition.origin


@strawberry.interface(description="An object with a global ID, fetchable with `node(id:)`.")
class Node(FromRecord):
    id: strawberry.ID


@strawberry.interface(description="Who acts: a person, or an API client acting for its team.")
class Actor:
    id: strawberry.ID
    name: str


@strawberry.type(description="Why a mutation changed nothing.")
class UserError:
    code: errors.ErrorCode
    message: str
    path: list[str] | None = strawberry.field(
        default=None, description="The input field at fault, from the argument down."
    )


def user_errors(refusals: Sequence[errors.CatalogError]) -> list[UserError]:
    return [
        UserError(
            code=refusal.code,
            message=refusal.message,
            path=list(refusal.path) if refusal.path is not None else None,
        )
        for refusal in refusals
    ]


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


def list_bound(max_items: int) -> dict[str, int]:
    """Field metadata: the most items a list field returns, read by the node estimate
    (`api.query_cost`); lists without it count as DEFAULT_LIST_SIZE items."""
    return {"max_items": max_items}


NodeT = TypeVar("NodeT")
RecordT = TypeVar("RecordT")


@strawberry.type
class Edge(Generic[NodeT]):
    cursor: str
    node: NodeT


@strawberry.type
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]]
    page_info: PageInfo
    _count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field
    def nodes(self) -> list[NodeT]:
        return [edge.node for edge in self.edges]

    @strawberry.field(description="How many items the whole listing holds, across all pages.")
    async def total_count(self) -> int:
        return await self._count()


def connection(listing: Listing[RecordT], to_node: Callable[[RecordT], NodeT]) -> Connection[NodeT]:
    page = listing.page
    return Connection(
        edges=[Edge(cursor=edge.cursor, node=to_node(edge.node)) for edge in page.edges],
        page_info=PageInfo(
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            start_cursor=page.start_cursor,
            end_cursor=page.end_cursor,
        ),
        _count=listing.count,
    )
