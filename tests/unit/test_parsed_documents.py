"""A parsed document holds no reference cycle: when the caches let go of it, it is freed at
once, not left for the garbage collector's passes (which paused a served process for up to
0.76 s under a load of mutations with inline input, each a new text)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from graphql import parse
from graphql.language import Token

from api.query_limits import QueryLimits, parse_within
from schema.parsed_documents import unlink_tokens
from schema.validation_cache import shape

MUTATION = 'mutation { createTeam(input: {slug: "t-1", name: "T 1"}) { team { slug } } }'


def tokens(start: Token | None) -> Iterator[Token]:
    while start is not None:
        yield start
        start = start.next


@pytest.fixture
def collector_off() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def test_a_document_as_graphql_core_parses_it_is_a_cycle(collector_off: None) -> None:
    parse(MUTATION)
    assert gc.collect() > 0  # what the unlinking below is for


def test_a_checked_document_is_freed_without_the_collector(collector_off: None) -> None:
    document = parse_within(MUTATION, QueryLimits())
    assert document.loc is not None
    assert all(token.prev is None for token in tokens(document.loc.start_token))
    del document
    assert gc.collect() == 0


def test_the_tokens_still_lead_forward_through_the_whole_text() -> None:
    document = unlink_tokens(parse(MUTATION))
    assert document.loc is not None
    kinds = [token.kind.value for token in tokens(document.loc.start_token)]
    assert (kinds[0], kinds[-1]) == ("<SOF>", "<EOF>")
    assert shape(MUTATION, document) == shape(MUTATION)


def test_unlinking_twice_or_without_locations_changes_nothing() -> None:
    document = unlink_tokens(unlink_tokens(parse(MUTATION)))
    assert shape(MUTATION, document) == shape(MUTATION)
    bare = parse(MUTATION, no_location=True)
    assert unlink_tokens(bare) is bare
