"""Validation remembered by a document's shape, not only by its text.

Clients such as CI pipelines send mutations with their input written inline, so nearly every
request is a new text and an exact-text cache never hits: each one would run the ~30
validation rules again, the largest part of a mutation's time in the process. Most rules
depend only on the document's shape: its names, punctuation, variables, `true`/`false`/`null`
and enum values. Only a few look at the string and number literals, so a document whose shape
already passed every rule is checked again by those few alone (`_VALUE_RULES`).

Shapes are only remembered after a document of that shape passed every rule; both caches
are bounded, least recently used first out.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Generic, TypeVar

from graphql import GraphQLError, GraphQLSyntaxError, validate
from graphql.language import Lexer, Source, TokenKind
from graphql.validation import OverlappingFieldsCanBeMergedRule, ValuesOfCorrectTypeRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

K = TypeVar("K")
V = TypeVar("V")

# The rules whose verdict can change with a string or number literal: the literal's type
# (scalars' own parsing included), and fields merged only when their arguments are equal.
_VALUE_RULES = (
    ValuesOfCorrectTypeRule,
    OverlappingFieldsCanBeMergedRule,
    MaybeNullValidationRule,
    OneOfInputValidationRule,
)

_LITERALS = {
    TokenKind.STRING: "\x00string",
    TokenKind.BLOCK_STRING: "\x00string",
    TokenKind.INT: "\x00int",
    TokenKind.FLOAT: "\x00float",
}


def shape(query: str) -> str | None:
    """`query`'s tokens with its string and number literals left out (None: it does not lex)."""
    lexer = Lexer(Source(query))
    parts: list[str] = []
    try:
        token = lexer.advance()
        while token.kind is not TokenKind.EOF:
            parts.append(_LITERALS.get(token.kind) or token.value or token.kind.value)
            token = lexer.advance()
    except GraphQLSyntaxError:
        return None
    return " ".join(parts)


class Bounded(Generic[K, V]):
    """At most `size` entries, the least recently used dropped first."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)


class ValidationMemory:
    """What the process learnt: each text's errors, and the shapes that passed every rule."""

    def __init__(self, size: int) -> None:
        self.texts: Bounded[str, list[GraphQLError]] = Bounded(size)
        self.valid_shapes: Bounded[str, bool] = Bounded(size)


class ShapeValidationCache(SchemaExtension):
    """Strawberry's validation step, answered from `memory` where it can."""

    def __init__(self, memory: ValidationMemory) -> None:
        super().__init__()
        self._memory = memory

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        query, document = context.query, context.graphql_document
        if query is None or document is None:
            yield
            return
        schema = context.schema._schema
        errors = self._memory.texts.get(query)
        if errors is None:
            form = shape(query)
            if form is not None and self._memory.valid_shapes.get(form):
                errors = validate(schema, document, _VALUE_RULES)
            else:
                errors = validate_document(schema, document, context.validation_rules)
                if form is not None and not errors:
                    self._memory.valid_shapes.put(form, True)
            self._memory.texts.put(query, errors)
        context.pre_execution_errors = errors
        yield
