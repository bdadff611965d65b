"""The document a request already parsed, handed to the executor instead of parsed again.

The endpoint parses every document to check its shape and cost before anything runs; an
exact-text cache cannot help a mutation written with its input inline (a new text each time),
so without this the executor would parse the same text a second time."""

from __future__ import annotations

from collections.abc import Iterator
from contextvars import ContextVar

from graphql import DocumentNode
from strawberry.extensions import ParserCache

_given: ContextVar[tuple[str, DocumentNode] | None] = ContextVar(
    "paved_parsed_document", default=None
)


class already_parsed:
    """While the block runs, `query`'s executor takes `document` as its parse."""

    __slots__ = ("_given", "_token")

    def __init__(self, query: str, document: DocumentNode) -> None:
        self._given = (query, document)

    def __enter__(self) -> None:
        self._token = _given.set(self._given)

    def __exit__(self, *_: object) -> None:
        _given.reset(self._token)


def unlink_tokens(document: DocumentNode) -> DocumentNode:
    """`document` with its tokens linked forward only.

    graphql-core links a parse's tokens both ways, so every document is a reference cycle:
    freed only by the garbage collector, never when the last cache lets it go. A mutation with
    its input inline is a new text each time, so its documents go through the caches by the
    thousand, and the collector's rare full passes over them stalled the whole process for most
    of a second. Nothing reads `prev` after the parse; `next` still leads through every token
    (`schema.validation_cache.shape`)."""
    token = document.loc.start_token if document.loc is not None else None
    if token is None or token.next is None or token.next.prev is None:
        return document  # no tokens, or unlinked already (a cached parse)
    while token is not None:
        token.prev = None
        token = token.next
    return document


class SharedParse(ParserCache):
    """Strawberry's parse step: the request's own parse when it is this query's, else the
    cached parse."""

    def on_parse(self) -> Iterator[None]:
        given = _given.get()
        context = self.execution_context
        if given is not None and given[0] == context.query:
            context.graphql_document = given[1]
            yield
            return
        yield from super().on_parse()
        if context.graphql_document is not None:
            unlink_tokens(context.graphql_document)
