"""The shape of a GraphQL document: what can be measured without the schema or the variables
(depth, aliases, directives, fragment cycles, introspection, page variables). Every count
expands fragment spreads where they are used, in time linear in the document: each selection
set is measured once and its totals are reused at every spread; the walks are iterative and
cycle-safe, since they run before validation rejects fragment cycles."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionNode,
    SelectionSetNode,
    VariableNode,
)

INTROSPECTION_FIELDS = frozenset({"__schema", "__type"})


# Introspection's type wrappers: one object each, nested up to ten deep by the standard
# introspection query (GraphiQL's); a chain that fans out nothing adds no depth.
WRAPPER_FIELDS = frozenset({"ofType"})


PAGE_ARGUMENTS = ("first", "last")


ESTIMATE_ARGUMENTS = (*PAGE_ARGUMENTS, "ids")
"""Arguments whose variables change the node estimate."""


CYCLE_SHOWN = 8


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


def fragments_of(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }


def operations_of(document: DocumentNode) -> list[OperationDefinitionNode]:
    return [
        definition
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode)
    ]


def child_sets(
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


def post_order(
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
    fragments = fragments_of(document)
    definitions = [d for d in document.definitions if isinstance(d, FragmentDefinitionNode)]
    names = {id(fragment.selection_set): fragment.name.value for fragment in definitions}
    operation_sets = [operation.selection_set for operation in operations_of(document)]
    fragment_sets = [fragment.selection_set for fragment in definitions]
    order, cycle = post_order(
        [*operation_sets, *fragment_sets], lambda node: child_sets(node, fragments)
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
            inner = inner_set(selection, fragments)
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


def inner_set(
    selection: SelectionNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> SelectionSetNode | None:
    if isinstance(selection, FragmentSpreadNode):
        fragment = fragments.get(selection.name.value)
        return fragment.selection_set if fragment else None
    if isinstance(selection, FieldNode | InlineFragmentNode):
        return selection.selection_set
    return None
