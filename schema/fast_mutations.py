"""The fast mutation path: a mutation answered without graphql-core's executor.

Every mutation field is one use case and its payload (`schema.mutation_fields`). When a
document is one such field (no fragments, no directives) and its payload selection reads only
plain attributes (fields without a resolver of their own: the payload's entity and its stored
fields, `errors`, `__typename`), this path coerces the arguments as the executor would, runs
the same `MutationRunner`, and renders the selection with the schema's own serializers. That
leaves out the executor's per-field work, which cost a mutation more than its SQL.

Anything else gets None before anything runs, and the executor answers: other documents,
variables or arguments the executor would refuse, fields with resolvers (an entity's owner,
its audit trail). A failure once the use case has run is answered as the executor answers
it: `data` null, the error masked (or UNAVAILABLE), with its path and location.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cachetools import LRUCache
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    Undefined,
    VariableNode,
    get_named_type,
    print_ast,
    specified_rules,
)
from graphql.execution.values import get_argument_values, get_variable_values
from strawberry.types import ExecutionResult
from strawberry.types.arguments import convert_arguments
from strawberry.types.field import StrawberryField

from resolvers.context import Context
from schema.build import INTERNAL_ERROR, PavedSchema
from schema.inputs import sent_fields
from schema.mutation_fields import MutationRunner, runner_of
from schema.sent_inputs import Reader, sent_reader
from schema.sent_variables import REFUSED, Coercer, variable_coercer

log = logging.getLogger(__name__)

_DEFINITION = "strawberry-definition"
_PLANS = 1024
"""Documents whose plan (or that they have none) is kept: as many as are kept parsed."""


@dataclass(frozen=True, slots=True)
class _Field:
    """One selected field: its response key and the attribute it reads (None: `__typename`,
    whose value is `typename`)."""

    key: str
    attribute: str | None
    type: GraphQLOutputType | None = None
    children: tuple[_Field, ...] = ()
    typename: str | None = None


@dataclass(frozen=True, slots=True)
class _Direct:
    """The variable that is the whole `input` argument, what coerces its value, and what
    reads the fields from the coerced value."""

    variable: str
    coerce: Coercer
    read: Reader


@dataclass(frozen=True, slots=True)
class _Plan:
    operation: OperationDefinitionNode
    node: FieldNode
    graphql_field: GraphQLField
    field: StrawberryField
    runner: MutationRunner[Any]
    payload: _Field
    read_sent: Reader | None
    """Reads the `input` argument's fields from the coerced value (None: strawberry converts
    it first, as the executor does)."""
    direct: _Direct | None = None
    """How the `input` argument is read when it is the operation's one variable (None:
    graphql-core coerces the variables)."""


class _NullWhereNonNull(Exception):
    pass


class FastMutations:
    def __init__(self, schema: PavedSchema) -> None:
        self._strawberry = schema
        self._schema = schema._schema
        self._memory = schema.validation_memory
        mutation = self._schema.mutation_type
        self._fields = mutation.fields if mutation is not None else {}
        self._scalars = schema.schema_converter.scalar_registry
        self._plans: LRUCache[tuple[int, str | None], tuple[DocumentNode, _Plan | None]] = LRUCache(
            maxsize=_PLANS
        )
        """By the document's identity: each entry holds its document, whose id no other
        document can take while the entry is kept."""
        self.answered = 0
        """How many mutations this path answered."""

    def plans(self, document: DocumentNode, operation_name: str | None = None) -> bool:
        """Whether this path would answer the operation (given a valid document)."""
        return self._plan(document, operation_name) is not None

    async def answer(
        self,
        query: str,
        document: DocumentNode,
        operation_name: str | None,
        variables: Mapping[str, Any] | None,
        context_for: Callable[[], Context],
    ) -> ExecutionResult | None:
        """The result as the executor would give it, or None when the executor must answer
        (nothing has run then)."""
        plan = self._plan(document, operation_name)
        if plan is None or self._memory.errors(self._schema, query, document, specified_rules):
            return None
        argument = self._input(plan, variables)
        if argument is None:
            return None
        self.answered += 1
        context = context_for()
        try:
            payload = await plan.runner.with_fields(context, argument)
            data = _value(payload, plan.payload.type, plan.payload.children)
        except Exception as error:
            return ExecutionResult(data=None, errors=[self._failure(error, plan, context)])
        return ExecutionResult(data={plan.payload.key: data}, errors=None)

    def _plan(self, document: DocumentNode, operation_name: str | None) -> _Plan | None:
        """The document's plan, made once per parsed document (a text is parsed once)."""
        key = (id(document), operation_name)
        known = self._plans.get(key)
        if known is not None and known[0] is document:
            return known[1]
        plan = self._planned(document, operation_name)
        self._plans[key] = (document, plan)
        return plan

    def _planned(self, document: DocumentNode, operation_name: str | None) -> _Plan | None:
        operation = _operation(document, operation_name)
        if operation is None:
            return None
        selections = operation.selection_set.selections
        if len(selections) != 1 or not isinstance(selections[0], FieldNode):
            return None
        node = selections[0]
        graphql_field = self._fields.get(node.name.value)
        if graphql_field is None or node.directives or node.selection_set is None:
            return None
        field = graphql_field.extensions.get(_DEFINITION)
        if not isinstance(field, StrawberryField) or field.base_resolver is None:
            return None
        runner = runner_of(field.base_resolver.wrapped_func)
        payload = _selected(node, graphql_field.type)
        if runner is None or payload is None:
            return None
        read_sent = next(
            (
                sent_reader(argument.type, self._scalars, self._strawberry.config)
                for argument in field.arguments
                if argument.python_name == "input"
            ),
            None,
        )
        direct = _direct(operation, node, graphql_field, read_sent)
        return _Plan(operation, node, graphql_field, field, runner, payload, read_sent, direct)

    def _input(self, plan: _Plan, variables: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """The fields of the `input` argument as the use case is given them (`sent_fields`)."""
        if plan.direct is not None and variables is not None:
            sent = _sent(plan.direct, variables)
            if sent is not None:
                return sent
        coerced = get_variable_values(
            self._schema, plan.operation.variable_definitions or (), dict(variables or {})
        )
        if isinstance(coerced, list):
            return None
        try:
            arguments = get_argument_values(plan.graphql_field, plan.node, coerced)
            if plan.read_sent is not None:
                read: dict[str, Any] = plan.read_sent(arguments["input"])
                return read
            converted = convert_arguments(
                arguments,
                plan.field.arguments,
                scalar_registry=self._scalars,
                config=self._strawberry.config,
            )
            return sent_fields(converted["input"])
        except Exception:
            return None  # the executor answers, with the error it reports

    @staticmethod
    def _failure(error: Exception, plan: _Plan, context: Context) -> GraphQLError:
        down = context.outage(error)
        if down is not None:
            log.warning("the database is unavailable (%r)", error)
            return GraphQLError(
                down.message,
                nodes=[plan.node],
                path=[plan.payload.key],
                original_error=down,
                extensions=down.extensions,
            )
        log.error("%s failed", plan.node.name.value, exc_info=error)
        return GraphQLError(INTERNAL_ERROR, nodes=[plan.node], path=[plan.payload.key])


def _sent(direct: _Direct, variables: Mapping[str, Any]) -> dict[str, Any] | None:
    """The fields read from the variable's value coerced directly (None: graphql-core must
    coerce it)."""
    value = direct.coerce(variables.get(direct.variable))
    if value is REFUSED:
        return None
    try:
        sent: dict[str, Any] = direct.read(value)
    except Exception:
        return None  # graphql-core's way next, then the executor's
    return sent


def _direct(
    operation: OperationDefinitionNode,
    node: FieldNode,
    graphql_field: GraphQLField,
    read: Reader | None,
) -> _Direct | None:
    """When the field's one argument, `input`, is the operation's one variable, of the
    argument's own type and without a default, and its fields can be read from the coerced
    value: how to read it directly."""
    if read is None:
        return None
    definitions, arguments = operation.variable_definitions or (), node.arguments or ()
    if len(definitions) != 1 or len(arguments) != 1 or len(graphql_field.args) != 1:
        return None
    definition, argument = definitions[0], arguments[0]
    argument_type = graphql_field.args.get("input")
    if (
        argument_type is None
        or argument.name.value != "input"
        or not isinstance(argument.value, VariableNode)
        or argument.value.name.value != definition.variable.name.value
        or definition.default_value is not None
        or definition.directives
        or print_ast(definition.type) != str(argument_type.type)
    ):
        return None
    coerce = variable_coercer(argument_type.type)
    return None if coerce is None else _Direct(definition.variable.name.value, coerce, read)


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    """The mutation to run: the one operation, or the one named; no fragments."""
    chosen = None
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            return None
        if name is None:
            if chosen is not None:
                return None
            chosen = definition
        elif definition.name is not None and definition.name.value == name:
            chosen = definition
    if chosen is None or chosen.operation is not OperationType.MUTATION or chosen.directives:
        return None
    return chosen


def _selected(node: FieldNode, type_: GraphQLOutputType) -> _Field | None:
    """The field as the renderer reads it, when all it selects are plain attributes."""
    key = (node.alias or node.name).value
    named = get_named_type(type_)
    if isinstance(named, (GraphQLScalarType, GraphQLEnumType)):
        return None if node.selection_set else _Field(key, "", type_)
    if not isinstance(named, GraphQLObjectType) or node.selection_set is None:
        return None
    children = _children(named, node.selection_set)
    return None if children is None else _Field(key, "", type_, children)


def _children(
    parent: GraphQLObjectType, selection_set: SelectionSetNode
) -> tuple[_Field, ...] | None:
    children: list[_Field] = []
    keys: set[str] = set()
    for selection in selection_set.selections:
        if not isinstance(selection, FieldNode) or selection.directives or selection.arguments:
            return None
        key = (selection.alias or selection.name).value
        if key in keys:
            return None  # merged by the executor; not here
        keys.add(key)
        if selection.name.value == "__typename":
            children.append(_Field(key, None, typename=parent.name))
            continue
        graphql_field = parent.fields.get(selection.name.value)
        field = graphql_field.extensions.get(_DEFINITION) if graphql_field else None
        if (
            graphql_field is None
            or not isinstance(field, StrawberryField)
            or field.base_resolver is not None
            or field.extensions
            or field.permission_classes
        ):
            return None
        child = _selected(selection, graphql_field.type)
        if child is None:
            return None
        children.append(_Field(key, field.python_name, graphql_field.type, child.children))
    return tuple(children)


def _value(value: Any, type_: GraphQLOutputType | None, children: tuple[_Field, ...]) -> Any:
    if isinstance(type_, GraphQLNonNull):
        if value is None:
            raise _NullWhereNonNull(type_)
        return _value(value, type_.of_type, children)
    if value is None:
        return None
    if isinstance(type_, GraphQLList):
        return [_value(item, type_.of_type, children) for item in value]
    if isinstance(type_, (GraphQLScalarType, GraphQLEnumType)):
        serialized = type_.serialize(value)
        if serialized is None or serialized is Undefined:
            raise TypeError(f"{type_} cannot represent {value!r}")
        return serialized
    return {
        child.key: child.typename
        if child.attribute is None
        else _value(getattr(value, child.attribute), child.type, child.children)
        for child in children
    }
