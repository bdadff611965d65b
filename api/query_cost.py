"""The node estimate: how many objects a document can make the server produce at most, from the
schema, the variables and the page sizes. Connections count their page size, plain lists
their declared bound (field metadata `max_items`) or DEFAULT_LIST_SIZE, `nodes(ids:)` the
IDs it is given; every mutation field counts at least one."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
)

from api.query_shape import (
    PAGE_ARGUMENTS,
    fragments_of,
    inner_set,
    post_order,
)
from resolvers.paging import DEFAULT_PAGE_SIZE

DEFAULT_LIST_SIZE = 20
"""What a list that is not a connection may hold, when its field declares no bound."""


LIST_BOUND = "max_items"
"""Metadata key on a strawberry field: the most items its list can hold."""


@dataclass(frozen=True, slots=True)
class PageSize:
    field: str
    argument: str
    value: int


@dataclass(frozen=True, slots=True)
class Estimate:
    nodes: int
    """Each connection counts its page size times what its nodes select, plus one each."""
    largest_page: PageSize | None
    """The largest `first`/`last` given, literally or by a variable."""


def _int_value(
    value: ValueNode, variables: Mapping[str, Any], defaults: Mapping[str, ValueNode]
) -> int | None:
    if isinstance(value, VariableNode):
        name = value.name.value
        if name in variables:
            given = variables[name]
            if isinstance(given, bool):
                return None
            if isinstance(given, int):
                return given
            if isinstance(given, float) and given.is_integer():
                return int(given)
            return None
        default = defaults.get(name)
        return _int_value(default, variables, defaults) if default is not None else None
    if isinstance(value, IntValueNode):
        return int(value.value)
    return None


def _fields_of(type_: GraphQLNamedType | None) -> Mapping[str, GraphQLField]:
    if isinstance(type_, GraphQLObjectType | GraphQLInterfaceType):
        fields: Mapping[str, GraphQLField] = type_.fields
        return fields
    return {}


def estimate_nodes(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any] | None = None,
) -> Estimate:
    """Connections are the fields taking `first`/`last`; absent, a page is DEFAULT_PAGE_SIZE.
    Other lists of objects count their bound (`list_size`) times one plus what each item
    selects, so nested lists multiply like nested connections; a connection's own `edges`
    and `nodes` are its page, counted once. Each root field of a mutation costs at least 1.
    """
    fragments = fragments_of(document)
    defaults = {
        definition.variable.name.value: definition.default_value
        for definition in operation.variable_definitions or ()
        if definition.default_value is not None
    }
    given = variables or {}
    type_of: dict[int, GraphQLNamedType | None] = {
        id(operation.selection_set): schema.get_root_type(operation.operation)
    }

    def children(node: SelectionSetNode) -> Iterable[SelectionSetNode]:
        fields = _fields_of(type_of.get(id(node)))
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                field = fields.get(selection.name.value)
                child_type = get_named_type(field.type) if field is not None else None
                child = selection.selection_set
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                child_type = (
                    schema.get_type(condition.name.value) if condition else type_of.get(id(node))
                )
                child = selection.selection_set
            elif isinstance(selection, FragmentSpreadNode):
                fragment = fragments.get(selection.name.value)
                if fragment is None:
                    continue
                child_type = schema.get_type(fragment.type_condition.name.value)
                child = fragment.selection_set
            else:
                continue
            if child is not None:
                type_of.setdefault(id(child), child_type)
                yield child

    order, _ = post_order([operation.selection_set], children)
    nodes_of: dict[int, int] = {}
    largest: PageSize | None = None
    for node in order:
        fields = _fields_of(type_of.get(id(node)))
        in_connection = is_page_of_connection(type_of.get(id(node)))
        at_root_of_mutation = (
            node is operation.selection_set and operation.operation is OperationType.MUTATION
        )
        total = 0
        for selection in node.selections:
            inner = inner_set(selection, fragments)
            inner_nodes = nodes_of.get(id(inner), 0) if inner else 0
            field = fields.get(selection.name.value) if isinstance(selection, FieldNode) else None
            if field is None or (inner is None and not _is_connection(field)):
                cost = inner_nodes
            else:
                assert isinstance(selection, FieldNode)
                page = _page_size(field, selection, given, defaults)
                if page is not None and (largest is None or page.value > largest.value):
                    largest = page
                size = _item_count(field, selection, page, in_connection, given, defaults)
                cost = inner_nodes if size is None else size * (1 + inner_nodes)
            total += max(cost, 1) if at_root_of_mutation else cost
        nodes_of[id(node)] = total
    return Estimate(nodes_of.get(id(operation.selection_set), 0), largest)


def _is_connection(field: GraphQLField) -> bool:
    return any(name in field.args for name in PAGE_ARGUMENTS)


def _page_size(
    field: GraphQLField,
    selection: FieldNode,
    variables: Mapping[str, Any],
    defaults: Mapping[str, ValueNode],
) -> PageSize | None:
    """The largest `first`/`last` given to a connection field."""
    if not _is_connection(field):
        return None
    sizes = [
        PageSize(selection.name.value, argument.name.value, size)
        for argument in selection.arguments or ()
        if argument.name.value in PAGE_ARGUMENTS
        and (size := _int_value(argument.value, variables, defaults)) is not None
    ]
    return max(sizes, key=lambda size: size.value, default=None)


def _item_count(
    field: GraphQLField,
    selection: FieldNode,
    page: PageSize | None,
    in_connection: bool,
    variables: Mapping[str, Any],
    defaults: Mapping[str, ValueNode],
) -> int | None:
    """How many items a field multiplies what it selects by; None for a single object, or
    for a connection's own `edges`/`nodes` (the connection counted them)."""
    if _is_connection(field):
        return max(page.value, 0) if page is not None else DEFAULT_PAGE_SIZE
    if in_connection or not isinstance(get_nullable_type(field.type), GraphQLList):
        return None
    return list_size(field, selection, variables, defaults)


def is_page_of_connection(type_: GraphQLNamedType | None) -> bool:
    """A connection type (`...Connection` with `edges`/`nodes`): its lists are its page."""
    return (
        type_ is not None and type_.name.endswith("Connection") and "pageInfo" in _fields_of(type_)
    )


def list_size(
    field: GraphQLField,
    selection: FieldNode,
    variables: Mapping[str, Any],
    defaults: Mapping[str, ValueNode],
) -> int:
    """The most items a list field can return: the bound its strawberry field declares
    (`metadata={"max_items": n}`), the number of `ids` asked for, or DEFAULT_LIST_SIZE."""
    definition = (field.extensions or {}).get("strawberry-definition")
    declared = getattr(definition, "metadata", None) or {}
    if isinstance(declared.get(LIST_BOUND), int):
        return int(declared[LIST_BOUND])
    for argument in selection.arguments or ():
        if argument.name.value == "ids":
            count = _list_length(argument.value, variables, defaults)
            if count is not None:
                return count
    return DEFAULT_LIST_SIZE


def _list_length(
    value: ValueNode, variables: Mapping[str, Any], defaults: Mapping[str, ValueNode]
) -> int | None:
    if isinstance(value, VariableNode):
        name = value.name.value
        if name in variables:
            given = variables[name]
            return len(given) if isinstance(given, list) else 1
        default = defaults.get(name)
        return _list_length(default, variables, defaults) if default is not None else None
    if isinstance(value, ListValueNode):
        return len(value.values)
    return 1
