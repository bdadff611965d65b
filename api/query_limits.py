"""Static limits on a GraphQL document, checked on its syntax tree before it is validated
or executed, so that no hostile document reaches validation, the fast read path or SQL.

Every count expands fragment spreads where they are used (a fragment with 10 aliases
spread 100 times counts 1,000), yet takes time linear in the document: each selection set
is measured once and its totals are reused at every spread. The walks are iterative and
cycle-safe, since they run before validation rejects fragment cycles.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSyntaxError,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    parse,
)
from graphql.utilities import get_operation_ast

from resolvers.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

CACHE_SIZE = 1024
INTROSPECTION_FIELDS = frozenset({"__schema", "__type"})
# Introspection's type wrappers: one object each, nested up to ten deep by the standard
# introspection query (GraphiQL's); a chain that fans out nothing adds no depth.
WRAPPER_FIELDS = frozenset({"ofType"})
PAGE_ARGUMENTS = ("first", "last")
ESTIMATE_ARGUMENTS = (*PAGE_ARGUMENTS, "ids")
"""Arguments whose variables change the node estimate."""
DEFAULT_LIST_SIZE = 20
"""What a list that is not a connection may hold, when its field declares no bound."""
LIST_BOUND = "max_items"
"""Metadata key on a strawberry field: the most items its list can hold."""
_SORTED = orjson.OPT_SORT_KEYS
_CYCLE_SHOWN = 8


@dataclass(frozen=True, slots=True)
class QueryLimits:
    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 2_000
    max_nodes: int = 50_000
    max_directives_per_field: int = 5
    max_page_size: int = MAX_PAGE_SIZE
    introspection: bool = True


class QueryRejected(Exception):
    """A document refused before validation; `limit` names the setting it exceeds."""

    def __init__(self, message: str, limit: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.limit = limit


# --- the shape of a document: what does not depend on the schema or the variables ---------


@dataclass(frozen=True, slots=True)
class Shape:
    depth: int
    aliases: int
    most_directives: tuple[str, int]
    """The selection carrying the most directives, and how many it carries."""
    fragment_cycle: tuple[str, ...]
    """Fragment names around the first cycle found (the first name repeated last), or ()."""
    introspection: frozenset[str]
    page_variables: frozenset[str]
    """Variables given as `first`/`last`/`ids` anywhere: the node estimate depends on them."""


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }


def _operations(document: DocumentNode) -> list[OperationDefinitionNode]:
    return [
        definition
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode)
    ]


def _child_sets(
    selection_set: SelectionSetNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> Iterable[SelectionSetNode]:
    """The selection sets nested directly in this one, spread fragments included."""
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode | InlineFragmentNode):
            if selection.selection_set is not None:
                yield selection.selection_set
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                yield fragment.selection_set


def _post_order(
    roots: Sequence[SelectionSetNode],
    children: Callable[[SelectionSetNode], Iterable[SelectionSetNode]],
) -> tuple[list[SelectionSetNode], list[SelectionSetNode]]:
    """Every selection set reachable from `roots`, once each, children before parents; and
    the path around the first cycle met (empty without one). A child on a cycle is not yet
    finished when its parent is: callers count it as empty."""
    order: list[SelectionSetNode] = []
    finished: set[int] = set()
    path: list[SelectionSetNode] = []
    on_path: set[int] = set()
    cycle: list[SelectionSetNode] = []
    stack: list[tuple[SelectionSetNode, bool]] = [(root, False) for root in reversed(roots)]
    while stack:
        node, leaving = stack.pop()
        key = id(node)
        if leaving:
            path.pop()
            on_path.discard(key)
            finished.add(key)
            order.append(node)
            continue
        if key in finished:
            continue
        if key in on_path:
            if not cycle:
                cycle = path[next(i for i, step in enumerate(path) if step is node) :]
            continue
        path.append(node)
        on_path.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(list(children(node))))
    return order, cycle


def _selection_name(selection: SelectionNode) -> str:
    if isinstance(selection, FieldNode):
        return selection.name.value
    if isinstance(selection, FragmentSpreadNode):
        return f"...{selection.name.value}"
    if isinstance(selection, InlineFragmentNode) and selection.type_condition is not None:
        return f"... on {selection.type_condition.name.value}"
    return "..."


def measure_shape(document: DocumentNode) -> Shape:
    """Depth, aliases, directives, fragment cycles, introspection and page variables of
    every operation and fragment in the document."""
    fragments = _fragments(document)
    definitions = [d for d in document.definitions if isinstance(d, FragmentDefinitionNode)]
    names = {id(fragment.selection_set): fragment.name.value for fragment in definitions}
    operation_sets = [operation.selection_set for operation in _operations(document)]
    fragment_sets = [fragment.selection_set for fragment in definitions]
    order, cycle = _post_order(
        [*operation_sets, *fragment_sets], lambda node: _child_sets(node, fragments)
    )

    depth_of: dict[int, int] = {}
    aliases_of: dict[int, int] = {}
    spread: set[str] = set()
    most_directives = ("", 0)
    introspection: set[str] = set()
    page_variables: set[str] = set()
    for node in order:
        depth = aliases = 0
        for selection in node.selections:
            directives = len(selection.directives or ())
            if directives > most_directives[1]:
                most_directives = (_selection_name(selection), directives)
            inner = _inner_set(selection, fragments)
            inner_depth = depth_of.get(id(inner), 0) if inner else 0
            inner_aliases = aliases_of.get(id(inner), 0) if inner else 0
            if isinstance(selection, FieldNode):
                depth = max(depth, inner_depth + (selection.name.value not in WRAPPER_FIELDS))
                aliases += (selection.alias is not None) + inner_aliases
                if selection.name.value in INTROSPECTION_FIELDS:
                    introspection.add(selection.name.value)
                page_variables.update(
                    argument.value.name.value
                    for argument in selection.arguments or ()
                    if argument.name.value in ESTIMATE_ARGUMENTS
                    and isinstance(argument.value, VariableNode)
                )
            else:
                depth = max(depth, inner_depth)
                aliases += inner_aliases
                if isinstance(selection, FragmentSpreadNode):
                    spread.add(selection.name.value)
        depth_of[id(node)] = depth
        aliases_of[id(node)] = aliases

    # Unused fragments (and duplicates of a name) count too: validation would walk them.
    unused = [
        fragment.selection_set
        for fragment in definitions
        if fragment.name.value not in spread or fragments[fragment.name.value] is not fragment
    ]
    roots = [*operation_sets, *unused]
    cycle_names = [names[id(node)] for node in cycle if id(node) in names]
    return Shape(
        depth=max((depth_of.get(id(root), 0) for root in roots), default=0),
        aliases=sum(aliases_of.get(id(root), 0) for root in roots),
        most_directives=most_directives,
        fragment_cycle=(*cycle_names, cycle_names[0]) if cycle_names else (),
        introspection=frozenset(introspection),
        page_variables=frozenset(page_variables),
    )


def _inner_set(
    selection: SelectionNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> SelectionSetNode | None:
    if isinstance(selection, FragmentSpreadNode):
        fragment = fragments.get(selection.name.value)
        return fragment.selection_set if fragment else None
    if isinstance(selection, FieldNode | InlineFragmentNode):
        return selection.selection_set
    return None


# --- the node estimate: what a query may return, GitHub's way ---------------------------


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
    fragments = _fragments(document)
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

    order, _ = _post_order([operation.selection_set], children)
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
            inner = _inner_set(selection, fragments)
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


# --- the checker the endpoint calls --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Checked:
    document: DocumentNode
    operation: OperationDefinitionNode | None
    """None when no operation can be chosen; the executor then reports why."""
    nodes: int

    @property
    def reads_only(self) -> bool:
        """False when the chosen operation is a mutation or a subscription."""
        return self.operation is None or self.operation.operation is OperationType.QUERY


def parse_within(query: str, limits: QueryLimits) -> DocumentNode:
    """Parses, refusing documents of more than `max_tokens` tokens (comments included)
    without reading past the limit, and nesting too deep for the parser. Raises
    QueryRejected or GraphQLSyntaxError."""
    try:
        return parse(query, max_tokens=limits.max_tokens)
    except GraphQLSyntaxError as error:
        if f"more than {limits.max_tokens} tokens" in error.message:
            raise QueryRejected(
                f"query exceeds the limit of {limits.max_tokens} tokens", "max_tokens"
            ) from None
        if "nested too deeply" in error.message:
            raise QueryRejected(
                f"query depth exceeds the limit of {limits.max_depth}", "max_depth"
            ) from None
        raise


def check_shape(shape: Shape, limits: QueryLimits) -> None:
    if shape.fragment_cycle:
        cycle = shape.fragment_cycle
        shown = (
            cycle if len(cycle) <= _CYCLE_SHOWN else (*cycle[: _CYCLE_SHOWN - 2], "…", cycle[-1])
        )
        raise QueryRejected(f"fragments spread themselves: {' → '.join(shown)}")
    if shape.depth > limits.max_depth:
        raise QueryRejected(
            f"query depth {shape.depth} exceeds the limit of {limits.max_depth}", "max_depth"
        )
    if shape.aliases > limits.max_aliases:
        raise QueryRejected(
            f"query has {shape.aliases} aliases (fragments expanded), "
            f"exceeding the limit of {limits.max_aliases}",
            "max_aliases",
        )
    selection, directives = shape.most_directives
    if directives > limits.max_directives_per_field:
        raise QueryRejected(
            f"`{selection}` has {directives} directives, "
            f"exceeding the limit of {limits.max_directives_per_field}",
            "max_directives_per_field",
        )
    if shape.introspection and not limits.introspection:
        fields = ", ".join(f"`{name}`" for name in sorted(shape.introspection))
        raise QueryRejected(f"introspection is disabled on this server ({fields})")


def check_estimate(estimate: Estimate, limits: QueryLimits) -> None:
    page = estimate.largest_page
    if page is not None and page.value > limits.max_page_size:
        raise QueryRejected(
            f"`{page.argument}` on `{page.field}` may be at most {limits.max_page_size}, "
            f"got {page.value}",
            "max_page_size",
        )
    if estimate.nodes > limits.max_nodes:
        raise QueryRejected(
            f"query may return up to {estimate.nodes} nodes, exceeding the limit of "
            f"{limits.max_nodes}; ask for smaller pages with `first`/`last`",
            "max_nodes",
        )


class QueryChecker:
    """Parses and measures each text once (cached), and estimates nodes once per text,
    operation and page-size variables."""

    def __init__(
        self, schema: GraphQLSchema, limits: QueryLimits, cache_size: int = CACHE_SIZE
    ) -> None:
        self._schema = schema
        self.limits = limits
        self._document = functools.lru_cache(maxsize=cache_size)(self._checked_document)
        self._nodes = functools.lru_cache(maxsize=cache_size)(self._checked_nodes)

    def check(
        self, query: str, operation_name: str | None, variables: Mapping[str, Any] | None
    ) -> Checked:
        """Raises QueryRejected, or GraphQLSyntaxError for a document that does not parse."""
        document, page_variables = self._document(query)
        given = variables or {}
        page_values = {name: given[name] for name in page_variables if name in given}
        nodes = self._nodes(query, operation_name, orjson.dumps(page_values, option=_SORTED))
        return Checked(document, get_operation_ast(document, operation_name), nodes)

    def _checked_document(self, query: str) -> tuple[DocumentNode, frozenset[str]]:
        document = parse_within(query, self.limits)
        shape = measure_shape(document)
        check_shape(shape, self.limits)
        return document, shape.page_variables

    def _checked_nodes(self, query: str, operation_name: str | None, page_values: bytes) -> int:
        document, _ = self._document(query)
        variables = orjson.loads(page_values)
        chosen = get_operation_ast(document, operation_name)
        # Without a single operation to run the executor refuses the request; the most
        # expensive one still bounds what reached it.
        operations = [chosen] if chosen is not None else _operations(document)
        estimates = [
            estimate_nodes(self._schema, document, operation, variables) for operation in operations
        ]
        for estimate in estimates:
            check_estimate(estimate, self.limits)
        return max((estimate.nodes for estimate in estimates), default=0)


__all__ = [
    "Checked",
    "Estimate",
    "PageSize",
    "QueryChecker",
    "QueryLimits",
    "QueryRejected",
    "Shape",
    "check_estimate",
    "check_shape",
    "estimate_nodes",
    "measure_shape",
    "parse_within",
]
