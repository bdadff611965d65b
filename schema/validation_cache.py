"""Validation remembered by a document's shape, not only by its text.

Clients such as CI pipelines send mutations with their input written inline, so nearly every
request is a new text and an exact-text cache never hits: each one would run the ~30
validation rules again, the largest part of a mutation's time in the process. Most rules
depend only on the document's shape: its names, punctuation, variables, `true`/`false`/`null`
and enum values. Only a few look at the string and number literals, so a document whose shape
already passed every rule is checked again by those few alone (`_VALUE_RULES`).

A shape also remembers whether its literals can change any verdict at all: when every string
literal stands where `String` or `ID` is expected (any text is one), no number literal and no
fragment appears, and no selection asks for one response key twice (so no two fields are
compared by their arguments), a document of a passed shape passes as it is, with no rule run.

Shapes are only remembered after a document of that shape passed every rule; both caches
are bounded, least recently used first out.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from enum import Enum

from cachetools import LRUCache
from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLID,
    GraphQLSchema,
    GraphQLString,
    GraphQLSyntaxError,
    TypeInfo,
    TypeInfoVisitor,
    get_named_type,
    validate,
    visit,
)
from graphql.language import (
    FieldNode,
    FloatValueNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    Lexer,
    SelectionSetNode,
    Source,
    StringValueNode,
    TokenKind,
    Visitor,
)
from graphql.validation import (
    ASTValidationRule,
    OverlappingFieldsCanBeMergedRule,
    ValuesOfCorrectTypeRule,
)
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

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


def shape(query: str, document: DocumentNode | None = None) -> str | None:
    """`query`'s tokens with its string and number literals left out (None: it does not lex).
    `document`, `query` parsed with its locations, holds the tokens already: they are read
    from it rather than lexed again."""
    start = document.loc.start_token if document is not None and document.loc else None
    parts: list[str] = []
    if start is not None:
        token = start.next
        while token is not None and token.kind is not TokenKind.EOF:
            if token.kind is not TokenKind.COMMENT:
                parts.append(_LITERALS.get(token.kind) or token.value or token.kind.value)
            token = token.next
        if token is not None:
            return " ".join(parts)
        parts.clear()  # a parse that stopped short: lex the text itself
    lexer = Lexer(Source(query))
    try:
        token = lexer.advance()
        while token.kind is not TokenKind.EOF:
            parts.append(_LITERALS.get(token.kind) or token.value or token.kind.value)
            token = lexer.advance()
    except GraphQLSyntaxError:
        return None
    return " ".join(parts)


class _LiteralsThatMatter(Visitor):
    """Finds a literal whose text could change a verdict (see the module's docstring)."""

    def __init__(self, types: TypeInfo) -> None:
        super().__init__()
        self._types = types
        self.found = False

    def enter_string_value(self, node: StringValueNode, *_: object) -> object:
        expected = get_named_type(self._types.get_input_type())
        if expected is not GraphQLString and expected is not GraphQLID:
            return self._matters()
        return None

    def enter_int_value(self, node: IntValueNode, *_: object) -> object:
        return self._matters()  # `Int` holds 32 bits; custom scalars read numbers their way

    def enter_float_value(self, node: FloatValueNode, *_: object) -> object:
        return self._matters()

    def enter_fragment_definition(self, node: FragmentDefinitionNode, *_: object) -> object:
        return self._matters()

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_: object) -> object:
        return self._matters()

    def enter_inline_fragment(self, node: InlineFragmentNode, *_: object) -> object:
        return self._matters()

    def enter_selection_set(self, node: SelectionSetNode, *_: object) -> object:
        keys = [
            (selection.alias or selection.name).value
            for selection in node.selections
            if isinstance(selection, FieldNode)
        ]
        if len(keys) != len(set(keys)):
            return self._matters()
        return None

    def _matters(self) -> object:
        self.found = True
        return self.BREAK


def literals_matter(schema: GraphQLSchema, document: DocumentNode) -> bool:
    """Whether another document of `document`'s shape (a valid one) could be invalid."""
    types = TypeInfo(schema)
    finder = _LiteralsThatMatter(types)
    visit(document, TypeInfoVisitor(types, finder))
    return finder.found


class _Literals(Enum):
    FREE = "no literal can change the verdict"
    CHECKED = "the literals are checked by the rules that read them"


class ValidationMemory:
    """What the process learnt: each text's errors, and the shapes that passed every rule."""

    def __init__(self, size: int) -> None:
        self.texts: LRUCache[str, list[GraphQLError]] = LRUCache(maxsize=size)
        self.valid_shapes: LRUCache[str, _Literals] = LRUCache(maxsize=size)
        """Each shape that passed every rule, and whether its literals still need checking."""

    def errors(
        self,
        schema: GraphQLSchema,
        query: str,
        document: DocumentNode,
        rules: Collection[type[ASTValidationRule]],
    ) -> list[GraphQLError]:
        """`document`'s (`query` parsed) validation errors under `rules`, from memory where
        it can."""
        errors = self.texts.get(query)
        if errors is not None:
            return errors
        form = shape(query, document)
        known = self.valid_shapes.get(form) if form is not None else None
        if known is _Literals.FREE:
            errors = []
        elif known is _Literals.CHECKED:
            errors = validate(schema, document, _VALUE_RULES)
        else:
            errors = validate_document(schema, document, tuple(rules))
            if form is not None and not errors:
                matter = literals_matter(schema, document)
                self.valid_shapes[form] = _Literals.CHECKED if matter else _Literals.FREE
        self.texts[query] = errors
        return errors


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
        context.pre_execution_errors = self._memory.errors(
            context.schema._schema, query, document, context.validation_rules
        )
        yield
