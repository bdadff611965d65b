"""The static query limits on syntax trees: depth, aliases through fragments, directives,
fragment cycles, and the node estimate with its page sizes and variables."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from graphql import (
    DocumentNode,
    GraphQLSchema,
    OperationDefinitionNode,
    SelectionNode,
    SelectionSetNode,
    Visitor,
    get_introspection_query,
    parse,
    visit,
)

from api.query_cost import DEFAULT_LIST_SIZE, Estimate, PageSize, estimate_nodes
from api.query_limits import QueryChecker, QueryLimits, QueryRejected, parse_within
from api.query_shape import measure_shape
from domain.catalog.rules import MAX_OWNERS_PER_SERVICE
from schema.build import build_schema
from tests.support.graphql import aliased


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    return build_schema()._schema


def operation(document: DocumentNode, index: int = 0) -> OperationDefinitionNode:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return operations[index]


def estimate(schema: GraphQLSchema, query: str, variables: dict[str, Any] | None = None) -> int:
    document = parse(query)
    return estimate_nodes(schema, document, operation(document), variables).nodes


class Visits:
    """How many selections a walk of a document is handed, all selection sets together, and
    how many the document holds. A walk handed more than `per_selection` times the document's
    size is stopped there (an assertion): expanding a fragment bomb would go on for ages."""

    def __init__(self, per_selection: int) -> None:
        self.per_selection = per_selection
        self.size = 0
        self.count = 0

    def seen(self) -> None:
        self.count += 1
        limit = self.per_selection * self.size
        assert self.count <= limit, f"the walk looked at more than {limit} selections"


class CountedSelections(tuple[SelectionNode, ...]):
    """A selection set's selections that tell `visits` each time one is handed out."""

    visits: Visits

    def __new__(cls, selections: Iterable[SelectionNode], visits: Visits) -> CountedSelections:
        counted = super().__new__(cls, selections)
        counted.visits = visits
        return counted

    def __iter__(self) -> Iterator[SelectionNode]:
        for selection in super().__iter__():
            self.visits.seen()
            yield selection


def counting_visits(document: DocumentNode, visits: Visits) -> DocumentNode:
    """The document with every selection set counting, into `visits`, the selections it hands
    out to a walk; `visits.size` becomes the number of selections in the document."""

    class Counting(Visitor):
        def leave_selection_set(self, node: SelectionSetNode, *_: Any) -> SelectionSetNode:
            visits.size += len(node.selections)
            return replace(node, selections=CountedSelections(node.selections, visits))

    counted: DocumentNode = visit(document, Counting())
    return counted


# --- depth -------------------------------------------------------------------------------


def test_depth_counts_fields_through_fragments_and_inline_fragments() -> None:
    assert measure_shape(parse("{ __typename }")).depth == 1
    assert measure_shape(parse("{ teams { nodes { slug } } }")).depth == 3
    query = """
    { teams { ...T } }
    fragment T on TeamConnection { nodes { ... on Team { members { ...M } } } }
    fragment M on UserConnection { nodes { teams { slug } } }
    """
    assert measure_shape(parse(query)).depth == 6


def test_depth_is_the_deepest_operation_or_unused_fragment() -> None:
    query = "query A { a { b } } query B { a { b { c { d } } } } fragment U on Q { x { y { z } } }"
    assert measure_shape(parse(query)).depth == 4


def test_the_standard_introspection_query_fits() -> None:
    """GraphiQL's: `ofType` wrapper chains add no depth, other introspection fields do."""
    query = get_introspection_query(
        descriptions=True,
        specified_by_url=True,
        directive_is_repeatable=True,
        schema_description=True,
        input_value_deprecation=True,
    )
    assert measure_shape(parse(query)).depth == 6
    assert (
        measure_shape(parse("{ __schema { types { fields { type { fields { name } } } } } }")).depth
        == 6
    )


def test_parser_nesting_overflow_is_reported_as_depth() -> None:
    deep = "{" + "a {" * 300 + "b" + "}" * 301
    with pytest.raises(QueryRejected) as rejected:
        parse_within(deep, QueryLimits())
    assert rejected.value.limit == "max_depth"


# --- aliases -------------------------------------------------------------------------------


def test_aliases_are_counted_each_time_a_fragment_is_spread() -> None:
    spreads = " ".join(["...F"] * 100)
    query = f"{{ {spreads} }} fragment F on Query {{ {aliased(10)} }}"
    assert measure_shape(parse(query)).aliases == 1000


def test_nested_fragment_bomb_is_counted_exactly_without_expanding_it() -> None:
    """Ten levels of ten spreads: 10^10 aliased fields, counted while the walk looks at each
    of the document's 102 selections a few times at most (expanding the spreads would look
    at F0's alias 10^10 times), so the totals are reused where a fragment is spread."""
    levels = [f"fragment F0 on Query {{ {aliased(1)} }}"]
    levels += [
        f"fragment F{level} on Query {{ {' '.join([f'...F{level - 1}'] * 10)} }}"
        for level in range(1, 11)
    ]
    visits = Visits(per_selection=4)
    document = counting_visits(parse("{ ...F10 } " + " ".join(levels)), visits)
    assert visits.size == 1 + 1 + 10 * 10
    shape = measure_shape(document)
    assert shape.aliases == 10**10
    assert visits.size <= visits.count <= 4 * visits.size


def test_aliases_of_every_operation_and_unused_fragment_add_up() -> None:
    query = (
        f"query A {{ {aliased(3)} }} query B {{ {aliased(4)} ...Used }} "
        f"fragment Used on Query {{ {aliased(5, 'u')} }} "
        f"fragment Unused on Query {{ {aliased(6, 'x')} }}"
    )
    assert measure_shape(parse(query)).aliases == 3 + 4 + 5 + 6


def test_a_duplicate_fragment_name_hides_no_aliases() -> None:
    query = (
        f"{{ ...F }} fragment F on Query {{ {aliased(3)} }} "
        f"fragment F on Query {{ {aliased(40, 'b')} }}"
    )
    assert measure_shape(parse(query)).aliases == 43


def test_aliases_inside_nested_fields_count() -> None:
    query = "{ a: teams { b: nodes { c: slug d: name } } e: users { totalCount } }"
    assert measure_shape(parse(query)).aliases == 5


# --- fragment cycles ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "cycle"),
    [
        ("{ ...A } fragment A on Query { ...A }", ("A", "A")),
        ("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }", ("A", "B", "A")),
        (
            "{ __typename } fragment A on Query { x { ...B } } fragment B on X { ... on X { ...A } }",
            ("A", "B", "A"),
        ),
    ],
)
def test_cycles_are_found_without_recursing_forever(query: str, cycle: tuple[str, ...]) -> None:
    shape = measure_shape(parse(query))
    assert shape.fragment_cycle == cycle


def test_a_long_fragment_chain_needs_no_recursion() -> None:
    chain = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} }}" for i in range(3000))
    shape = measure_shape(parse("{ ...F0 } " + chain + " fragment F3000 on Query { ...F0 }"))
    assert shape.fragment_cycle[0] == shape.fragment_cycle[-1] == "F0"
    assert len(shape.fragment_cycle) == 3002


def test_cycle_is_rejected_with_the_fragment_names(schema: GraphQLSchema) -> None:
    checker = QueryChecker(schema, QueryLimits())
    with pytest.raises(QueryRejected, match="fragments spread themselves: A → B → A"):
        checker.check(
            "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }", None, {}
        )


# --- directives, introspection, page variables --------------------------------------------


def test_directives_are_counted_per_selection_with_repeats() -> None:
    skips = " ".join(["@skip(if: false)"] * 7)
    shape = measure_shape(parse(f"{{ teams {{ totalCount {skips} }} ...F @include(if: true) }}"))
    assert shape.most_directives == ("totalCount", 7)


def test_introspection_and_page_variables_are_noted() -> None:
    query = (
        "query($n: Int, $m: Int) { __schema { types { name } } "
        "teams(first: $n) { nodes { members(last: $m) { totalCount } } } ...F } "
        'fragment F on Query { __type(name: "Team") { name } }'
    )
    shape = measure_shape(parse(query))
    assert shape.introspection == {"__schema", "__type"}
    assert shape.page_variables == {"n", "m"}


# --- the node estimate -------------------------------------------------------------------


def test_connections_multiply_their_children_by_page_size(schema: GraphQLSchema) -> None:
    query = (
        "{ teams(first: 100) { nodes { members(first: 100) { nodes { "
        "teams { services(first: 100) { nodes { slug } } } } } } } }"
    )
    # User.teams is a plain list of 20 at most in the estimate: it multiplies like a page.
    services = 100
    teams = 20 * (1 + services)
    members = 100 * (1 + teams)
    assert estimate(schema, query) == 100 * (1 + members)


def test_absent_page_size_counts_the_default(schema: GraphQLSchema) -> None:
    assert estimate(schema, "{ teams { totalCount } }") == 20
    assert estimate(schema, '{ service(slug: "x") { slug owner { slug } } }') == 0
    assert estimate(schema, "{ teams { nodes { members { totalCount } } } }") == 20 + 20 * 20


def test_plain_lists_multiply_by_their_declared_bound_or_the_default(
    schema: GraphQLSchema,
) -> None:
    owners = MAX_OWNERS_PER_SERVICE * (1 + 0)
    depends_on = DEFAULT_LIST_SIZE * (1 + owners)
    query = "{ services(last: 5) { nodes { dependsOn { owners { role } } } } }"
    assert estimate(schema, query) == 5 * (1 + depends_on)
    # Lists of scalars select nothing and cost nothing.
    assert estimate(schema, '{ service(slug: "x") { tags } }') == 0
    # `nodes(ids:)` returns as many items as it is asked for, given literally or by a variable.
    assert estimate(schema, '{ nodes(ids: ["a", "b", "c"]) { id } }') == 3
    by_variable = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
    assert estimate(schema, by_variable, {"ids": ["a"] * 7}) == 7


def test_nested_plain_lists_multiply(schema: GraphQLSchema) -> None:
    """The attack of issue 17: nine levels of dependsOn/dependents under 100 services."""
    levels = "dependsOn { dependents { " * 4 + "dependsOn { slug }" + " }" * 8
    query = "{ services(first: 100) { nodes { " + levels + " } } }"
    inner = 0
    for _ in range(9):
        inner = DEFAULT_LIST_SIZE * (1 + inner)
    assert estimate(schema, query) == 100 * (1 + inner)
    assert estimate(schema, query) > QueryLimits().max_nodes


def test_each_mutation_field_costs_at_least_one(schema: GraphQLSchema) -> None:
    one = 'createTeam(input: {slug: "a", name: "A"}) { team { slug } }'
    many = " ".join(f"m{index}: {one}" for index in range(25))
    assert estimate(schema, "mutation { " + one + " }") == 1
    assert estimate(schema, "mutation { " + many + " }") == 25
    # A payload's `errors` is a list like any other.
    assert (
        estimate(
            schema, 'mutation { createTeam(input: {slug: "a", name: "A"}) { errors { code } } }'
        )
        == 20
    )


def test_sibling_connections_add_up(schema: GraphQLSchema) -> None:
    query = "{ a: teams(first: 3) { totalCount } b: users(first: 4) { totalCount } environments }"
    # `environments` without a selection set is invalid, but still estimated.
    assert estimate(schema, query) == 3 + 4 + 20


def test_fragments_and_interfaces_are_estimated_where_spread(schema: GraphQLSchema) -> None:
    query = """
    { teams(first: 10) { nodes { ...Members } } node(id: "x") { ... on Team { ...Members } } }
    fragment Members on Team { members(first: 5) { nodes { handle } } }
    """
    assert estimate(schema, query) == 10 + 10 * 5 + 5


def test_variables_and_their_defaults_set_page_sizes(schema: GraphQLSchema) -> None:
    query = (
        "query($n: Int = 7, $m: Int) "
        "{ services(first: $n) { nodes { owner { members(first: $m) { totalCount } } } } }"
    )
    assert estimate(schema, query, {"m": 5}) == 7 + 7 * 5
    assert estimate(schema, query, {"n": 2, "m": 3}) == 2 + 2 * 3
    assert estimate(schema, query, {}) == 7 + 7 * 20
    assert estimate(schema, query, {"n": None}) == 20 + 20 * 20
    assert estimate(schema, query, {"n": "many", "m": True}) == 20 + 20 * 20


def test_largest_page_size_is_reported(schema: GraphQLSchema) -> None:
    document = parse(
        "query($n: Int) { teams(first: 3) { nodes { members(last: $n) { totalCount } } } }"
    )
    found = estimate_nodes(schema, document, operation(document), {"n": 250})
    assert found == Estimate(3 + 3 * 250, PageSize("members", "last", 250))


def test_fragment_bomb_estimate_is_linear(schema: GraphQLSchema) -> None:
    levels = ["fragment F0 on TeamConnection { nodes { members(first: 10) { totalCount } } }"]
    levels += ["fragment F1 on Query { teams(first: 10) { ...F0 } }"]
    levels += [
        f"fragment F{level} on Query {{ {' '.join([f'...F{level - 1}'] * 10)} }}"
        for level in range(2, 12)
    ]
    assert estimate(schema, "{ ...F11 } " + " ".join(levels)) == 10**10 * (10 + 10 * 10)


# --- the checker ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "variables", "limit", "message"),
    [
        ("{" + "teams { nodes {" * 7 + "slug" + "} }" * 7 + "}", {}, "max_depth", "query depth 15"),
        (f"{{ {aliased(31)} }}", {}, "max_aliases", "31 aliases"),
        ("{ " + "__typename " * 2001 + "}", {}, "max_tokens", "limit of 2000 tokens"),
        (
            "{ teams(first: 101) { totalCount } }",
            {},
            "max_page_size",
            "`first` on `teams` may be at most 100, got 101",
        ),
        (
            "query($n: Int) { users(last: $n) { totalCount } }",
            {"n": 1000},
            "max_page_size",
            "`last` on `users` may be at most 100, got 1000",
        ),
        (
            "{ teams(first: 100) { nodes { services(first: 100) { nodes { owner { "
            "members(first: 100) { totalCount } } } } } } }",
            {},
            "max_nodes",
            "up to 1010100 nodes",
        ),
        (
            "{ __typename " + "@skip(if: false) " * 6 + "}",
            {},
            "max_directives_per_field",
            "`__typename` has 6 directives",
        ),
    ],
)
def test_checker_names_the_limit_and_the_value(
    schema: GraphQLSchema, query: str, variables: dict[str, Any], limit: str, message: str
) -> None:
    with pytest.raises(QueryRejected) as rejected:
        QueryChecker(schema, QueryLimits()).check(query, None, variables)
    assert rejected.value.limit == limit
    assert message in rejected.value.message


def test_introspection_can_be_turned_off_but_typename_stays(schema: GraphQLSchema) -> None:
    checker = QueryChecker(schema, QueryLimits(introspection=False))
    with pytest.raises(QueryRejected, match="introspection is disabled"):
        checker.check("{ __schema { queryType { name } } }", None, None)
    with pytest.raises(QueryRejected, match="`__type`"):
        checker.check('{ ...F } fragment F on Query { __type(name: "Team") { name } }', None, None)
    assert checker.check("{ __typename teams { __typename } }", None, None).nodes == 20


def test_checker_estimates_the_chosen_operation(schema: GraphQLSchema) -> None:
    checker = QueryChecker(schema, QueryLimits())
    query = "query Small { teams(first: 1) { totalCount } } query Big { users(first: 90) { totalCount } }"
    assert checker.check(query, "Small", None).nodes == 1
    assert checker.check(query, "Big", None).nodes == 90
    # Ambiguous: the executor refuses it, and the most expensive operation is counted.
    assert checker.check(query, None, None).nodes == 90
    assert checker.check(query, None, None).operation is None


def test_checker_caches_per_text_but_not_across_page_variables(schema: GraphQLSchema) -> None:
    checker = QueryChecker(schema, QueryLimits())
    query = "query($n: Int, $after: String) { teams(first: $n, after: $after) { totalCount } }"
    assert checker.check(query, None, {"n": 3, "after": "x"}).nodes == 3
    assert checker.check(query, None, {"n": 4, "after": "y"}).nodes == 4
    assert checker.check(query, None, {}).nodes == 20
    with pytest.raises(QueryRejected):
        checker.check(query, None, {"n": 101})
    first = checker.check(query, None, {"n": 3, "after": "z"}).document
    assert checker.check(query, None, {"n": 9}).document is first


def test_syntax_errors_stay_syntax_errors(schema: GraphQLSchema) -> None:
    from graphql import GraphQLSyntaxError

    with pytest.raises(GraphQLSyntaxError):
        QueryChecker(schema, QueryLimits()).check("{ teams { totalCount", None, None)
