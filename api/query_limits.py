"""Static limits on a GraphQL document, checked on its syntax tree before it is validated
or executed, so that no hostile document reaches validation, the fast read path or SQL:
its size and shape (`api.query_shape`) and its node estimate (`api.query_cost`) against
the server's `QueryLimits`, remembered per text and variables."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    GraphQLSchema,
    GraphQLSyntaxError,
    OperationDefinitionNode,
    OperationType,
    parse,
)
from graphql.utilities import get_operation_ast

from api.query_cost import Estimate, PageSize, estimate_nodes
from api.query_shape import (
    CYCLE_SHOWN,
    Shape,
    measure_shape,
    operations_of,
)
from resolvers.paging import MAX_PAGE_SIZE
from schema.parsed_documents import unlink_tokens

CACHE_SIZE = 1024
_SORTED = orjson.OPT_SORT_KEYS


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


# --- the node estimate: what a query may return, GitHub's way ---------------------------


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
        return unlink_tokens(parse(query, max_tokens=limits.max_tokens))
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
        shown = cycle if len(cycle) <= CYCLE_SHOWN else (*cycle[: CYCLE_SHOWN - 2], "…", cycle[-1])
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
        operations = [chosen] if chosen is not None else operations_of(document)
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
