"""A document's shape: what validation remembers beyond its exact text."""

from __future__ import annotations

import pytest
from graphql import build_schema, parse

from schema.validation_cache import literals_matter, shape


def test_documents_that_differ_in_string_and_number_literals_share_a_shape() -> None:
    one = 'mutation { createTeam(input: { slug: "a", name: "A" }) { errors { code } } }'
    two = 'mutation{createTeam(input:{slug:"b-2",name:"""B"""}){errors{code}}} # a comment'
    assert shape(one) == shape(two)
    assert shape("{ services(first: 5) { totalCount } }") == shape(
        "{ services(first: 50) { totalCount } }"
    )


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("{ services(first: 5) { totalCount } }", '{ services(first: "5") { totalCount } }'),
        ("{ services(first: 5) { totalCount } }", "{ services(first: 5.0) { totalCount } }"),
        ("{ services(first: 5) { totalCount } }", "{ services(first: null) { totalCount } }"),
        (
            "{ services(filter: { lifecycle: PRODUCTION }) { totalCount } }",
            "{ services(filter: { lifecycle: NOPE }) { totalCount } }",
        ),
        ("{ a: teams { totalCount } }", "{ b: teams { totalCount } }"),
        ('{ node(id: "x") { id } }', '{ node(id: "x") { id } node(id: "x") { id } }'),
        ("query($a: Int = 1) { teams { totalCount } }", "query($a: Int) { teams { totalCount } }"),
    ],
)
def test_names_values_and_structure_make_a_different_shape(one: str, other: str) -> None:
    assert shape(one) != shape(other)


@pytest.mark.parametrize(
    "query",
    [
        'mutation { createTeam(input: { slug: "a", name: "A" }) { errors { code } } }',
        'mutation{createTeam(input:{slug:"b-2",name:"""B"""}){errors{code}}} # a comment',
        "# before\nquery Q($a: Int = 1) { services(first: 5.5) { ...F } } fragment F on "
        "ServiceConnection { totalCount }",
        "{ a: teams { totalCount } b: teams { totalCount } }",
    ],
)
def test_the_shape_read_from_a_parsed_document_is_the_lexed_one(query: str) -> None:
    lexed = shape(query)
    assert lexed is not None
    assert shape(query, parse(query)) == lexed


def test_a_document_parsed_without_locations_is_lexed() -> None:
    query = '{ teams(slug: "x") { totalCount } }'
    assert shape(query, parse(query, no_location=True)) == shape(query)


def test_a_document_that_does_not_lex_has_no_shape() -> None:
    assert shape('{ teams(slug: "unterminated) }') is None


_SDL = """
scalar DateTime
input Filter { name: String, since: DateTime }
type Item { a(text: String, id: ID, when: DateTime, count: Int, names: [String]): Item, b: String }
type Query { item(filter: Filter, text: String): Item }
"""


@pytest.mark.parametrize(
    ("document", "matter"),
    [
        ('{ item(text: "x") { a(text: "y", id: "z", names: ["p", "q"]) { b } } }', False),
        ('{ item(filter: { name: "n" }) { b } }', False),
        ('query($t: String = "d") { item(text: $t) { b } }', False),
        ('{ item(filter: { since: "2026-01-01" }) { b } }', True),
        ('{ item { a(when: "now") { b } } }', True),
        ("{ item { a(count: 5) { b } } }", True),
        ('{ item { one: a(text: "x") { b } one: a(text: "y") { b } } }', True),
        ("{ item { b b } }", True),
        ("{ item { ...F } } fragment F on Item { b }", True),
        ("{ item { ... on Item { b } } }", True),
    ],
)
def test_literals_matter_unless_any_text_would_do(document: str, matter: bool) -> None:
    assert literals_matter(build_schema(_SDL), parse(document)) is matter
