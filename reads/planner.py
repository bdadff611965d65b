"""Validated GraphQL query -> `ReadPlan`, or `NotPlannable` when only the executor can
answer it exactly (mutations, introspection, provider-backed fields, arguments the
resolvers would refuse with an error).

Fields are collected as the GraphQL spec's CollectFields does: in document order,
merged by response key, fragments matched against the object's type, `@skip` and
`@include` applied.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from graphql import (
    BooleanValueNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionNode,
    SelectionSetNode,
    Undefined,
    VariableNode,
    coerce_input_value,
    type_from_ast,
    value_from_ast,
)

from domain import read_plan as p
from reads.graph_map import (
    ACTORS,
    CONNECTION_TYPES,
    ID_TYPES,
    LISTED_ENTITY,
    NESTED_LISTINGS,
    NODE_TYPES,
    PAGE_FIELDS,
    RELATED,
    RENDERED_COLUMNS,
    ROOT_LISTINGS,
    ROOT_LOOKUPS,
    E,
    NotPlannable,
    R,
)
from reads.listing_arguments import listing
from reads.stored_fields import column, stored_fields
from resolvers.global_ids import decode_id
from resolvers.paging import MAX_PAGE_SIZE

FieldGroups = dict[str, list[FieldNode]]


def plan_operation(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
) -> p.ReadPlan:
    """The plan for a document that has already passed validation."""
    operation = _operation(document, operation_name)
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    planner = _Planner(schema, fragments, _coerce_variables(schema, operation, variables or {}))
    return planner.root(operation.selection_set)


def _operation(document: DocumentNode, operation_name: str | None) -> OperationDefinitionNode:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if len(operations) != 1 or operations[0].operation is not OperationType.QUERY:
        raise NotPlannable
    return operations[0]


def _coerce_variables(
    schema: GraphQLSchema, operation: OperationDefinitionNode, inputs: Mapping[str, Any]
) -> dict[str, Any]:
    coerced: dict[str, Any] = {}
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        var_type = type_from_ast(schema, definition.type)
        if var_type is None:
            raise NotPlannable
        if name not in inputs:
            if definition.default_value is not None:
                coerced[name] = value_from_ast(definition.default_value, var_type)  # type: ignore[arg-type]
            elif isinstance(var_type, GraphQLNonNull):
                raise NotPlannable
            continue
        try:
            value = coerce_input_value(inputs[name], var_type)  # type: ignore[arg-type]
        except (GraphQLError, TypeError, ValueError):
            raise NotPlannable from None
        if value is Undefined or (value is None and isinstance(var_type, GraphQLNonNull)):
            raise NotPlannable
        coerced[name] = value
    return coerced


class _Planner:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, Any],
    ) -> None:
        self._schema = schema
        self._fragments = fragments
        self._variables = variables
        self._matrix_environments: tuple[str, ...] | None = None

    # -- collecting fields -------------------------------------------------------------

    def _collect(self, type_name: str, selection_sets: Iterable[SelectionSetNode]) -> FieldGroups:
        groups: FieldGroups = {}
        visited: set[str] = set()
        for selection_set in selection_sets:
            self._collect_into(groups, type_name, selection_set, visited)
        return groups

    def _collect_into(
        self,
        groups: FieldGroups,
        type_name: str,
        selection_set: SelectionSetNode,
        visited: set[str],
    ) -> None:
        for selection in selection_set.selections:
            if not self._included(selection):
                continue
            if isinstance(selection, FieldNode):
                key = (selection.alias or selection.name).value
                groups.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if condition is None or self._applies(condition.name.value, type_name):
                    self._collect_into(groups, type_name, selection.selection_set, visited)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in visited:
                    continue
                visited.add(name)
                fragment = self._fragments[name]
                if self._applies(fragment.type_condition.name.value, type_name):
                    self._collect_into(groups, type_name, fragment.selection_set, visited)

    def _included(self, selection: SelectionNode) -> bool:
        for directive in selection.directives or ():
            name = directive.name.value
            if name not in ("skip", "include"):
                raise NotPlannable
            condition = (directive.arguments or ())[0].value
            if isinstance(condition, VariableNode):
                value = self._variables.get(condition.name.value)
            elif isinstance(condition, BooleanValueNode):
                value = condition.value
            else:
                raise NotPlannable
            if value is None:
                raise NotPlannable
            if bool(value) == (name == "skip"):
                return False
        return True

    def _applies(self, condition: str, type_name: str) -> bool:
        if condition == type_name:
            return True
        named = self._schema.get_type(condition)
        runtime = self._schema.get_type(type_name)
        return (
            isinstance(named, GraphQLInterfaceType)
            and isinstance(runtime, GraphQLObjectType)
            and self._schema.is_sub_type(named, runtime)
        )

    def _arguments(self, field: GraphQLField, node: FieldNode) -> dict[str, Any]:
        given = {argument.name.value: argument.value for argument in node.arguments or ()}
        values: dict[str, Any] = {}
        for name, definition in field.args.items():
            value_node = given.get(name)
            if isinstance(value_node, VariableNode) and value_node.name.value in self._variables:
                values[name] = self._variables[value_node.name.value]
            elif value_node is not None and not isinstance(value_node, VariableNode):
                value = value_from_ast(value_node, definition.type, self._variables)
                if value is Undefined:
                    raise NotPlannable
                values[name] = value
            elif definition.default_value is not Undefined:
                values[name] = definition.default_value
        return values

    # -- the root ----------------------------------------------------------------------

    def root(self, selection_set: SelectionSetNode) -> p.ReadPlan:
        query_type = self._schema.query_type
        assert query_type is not None
        fields: list[p.RootField] = []
        for key, nodes in self._collect(query_type.name, [selection_set]).items():
            name = nodes[0].name.value
            if name == "__typename":
                fields.append(p.Constant(key, query_type.name))
                continue
            definition = query_type.fields.get(name)
            if definition is None:
                raise NotPlannable
            fields.append(self._root_field(key, name, nodes, self._arguments(definition, nodes[0])))
        return p.ReadPlan(tuple(fields))

    def _root_field(
        self, key: str, name: str, nodes: list[FieldNode], args: dict[str, Any]
    ) -> p.RootField:
        if name in ROOT_LOOKUPS:
            entity, by, argument = ROOT_LOOKUPS[name]
            return p.Lookup(key, by, args[argument], self._selection(entity, nodes))
        if name in ROOT_LISTINGS:
            source = ROOT_LISTINGS[name]
            return self._connection(key, listing(source, args), nodes)
        if name == "node":
            return self._node(key, args["id"], nodes) or p.Constant(key, None)
        if name == "nodes":
            ids: Sequence[str] = args["ids"]
            if len(ids) > MAX_PAGE_SIZE:
                raise NotPlannable
            return p.LookupList(key, tuple(self._node(key, global_id, nodes) for global_id in ids))
        if name == "compareEnvironments":
            selection = self._selection(E.COMPARISON, nodes)
            return p.Comparison(key, args["service"], args["from"], args["to"], selection)
        if name == "deploymentMetrics":
            return self._metrics(key, args, nodes)
        raise NotPlannable

    def _metrics(self, key: str, args: dict[str, Any], nodes: list[FieldNode]) -> p.Metrics:
        """Refused windows (a time without zone, `until` not after `since`) are the
        executor's to explain."""
        since: datetime = args["since"]
        until: datetime | None = args.get("until")
        if since.tzinfo is None or (until is not None and (until.tzinfo is None or until <= since)):
            raise NotPlannable
        return p.Metrics(
            key,
            args["environment"],
            args.get("service"),
            args.get("team"),
            since,
            until,
            self._selection(E.METRICS, nodes),
        )

    def _node(self, key: str, global_id: str, nodes: list[FieldNode]) -> p.Lookup | None:
        decoded = decode_id(global_id)
        if decoded is None:
            return None
        type_name, pk = decoded
        if type_name not in NODE_TYPES:
            if isinstance(self._schema.get_type(type_name), GraphQLObjectType):
                raise NotPlannable  # a node the executor resolves (API clients, tokens)
            return None
        return p.Lookup(key, p.LookupKey.ID, pk, self._selection(NODE_TYPES[type_name], nodes))

    # -- objects -----------------------------------------------------------------------

    def _selection(self, entity: p.Entity, nodes: list[FieldNode]) -> p.Selection:
        object_type = self._schema.get_type(entity.value)
        assert isinstance(object_type, GraphQLObjectType)
        groups = self._collect(entity.value, _sub_selections(nodes))
        return p.Selection(
            entity,
            tuple(
                self._object_field(entity, object_type, key, group) for key, group in groups.items()
            ),
        )

    def _object_field(
        self, entity: p.Entity, object_type: GraphQLObjectType, key: str, nodes: list[FieldNode]
    ) -> p.Field:
        name = nodes[0].name.value
        if name == "__typename":
            return p.Constant(key, entity.value)
        if name == "id" and entity in ID_TYPES:
            return p.GlobalId(key)
        if name in stored_fields(object_type):
            return p.Stored(key, column(name))
        if (entity, name) in RENDERED_COLUMNS:
            return p.Stored(key, RENDERED_COLUMNS[entity, name])
        related = RELATED.get((entity, name))
        if related is not None:
            relation, many, target = related
            return p.Related(key, relation, many, self._selection(target, nodes))
        if (entity, name) == (E.SERVICE, "currentDeployment"):
            environment = self._arguments(object_type.fields[name], nodes[0])["environment"]
            return p.Related(
                key,
                R.SERVICE_CURRENT_DEPLOYMENT,
                False,
                self._selection(E.DEPLOYMENT, nodes),
                slugs=(environment,),
            )
        if (entity, name) == (E.SERVICE, "resources"):
            environment = self._arguments(object_type.fields[name], nodes[0]).get("environment")
            return p.Related(
                key,
                R.SERVICE_RESOURCES,
                True,
                self._selection(E.RESOURCE, nodes),
                slugs=None if environment is None else (environment,),
            )
        if (entity, name) == (E.RELEASE_ROW, "cells"):
            selection = self._selection(E.SERVICE_ENVIRONMENT, nodes)
            return p.Related(key, R.RELEASE_ROW_CELLS, True, selection, self._matrix_environments)
        actor = ACTORS.get((entity, name))
        if actor is not None:
            return p.ActorOf(
                key,
                actor,
                *(
                    self._selection(kind, nodes)
                    for kind in (E.USER, E.API_CLIENT, E.LOCAL_ADMIN, E.FORMER_ACTOR)
                ),
            )
        source = NESTED_LISTINGS.get((entity, name))
        if source is not None:
            args = self._arguments(object_type.fields[name], nodes[0])
            return self._connection(key, listing(source, args), nodes)
        raise NotPlannable

    # -- connections -------------------------------------------------------------------

    def _connection(self, key: str, listing: p.Listing, nodes: list[FieldNode]) -> p.Connection:
        entity = LISTED_ENTITY[listing.source]
        type_name, edge_type = CONNECTION_TYPES.get(
            entity, (f"{entity.value}Connection", f"{entity.value}Edge")
        )
        if listing.source is p.ListingSource.RELEASE_MATRIX:
            self._matrix_environments = listing.environments
        parts: list[p.Edges | p.Nodes | p.PageInfo | p.TotalCount | p.Constant] = []
        for part_key, group in self._collect(type_name, _sub_selections(nodes)).items():
            name = group[0].name.value
            if name == "__typename":
                parts.append(p.Constant(part_key, type_name))
            elif name == "edges":
                parts.append(self._edges(part_key, entity, edge_type, group))
            elif name == "nodes":
                parts.append(p.Nodes(part_key, self._selection(entity, group)))
            elif name == "pageInfo":
                parts.append(self._page_info(part_key, group))
            elif name == "totalCount":
                parts.append(p.TotalCount(part_key))
            else:
                raise NotPlannable
        return p.Connection(key, listing, tuple(parts))

    def _edges(self, key: str, entity: p.Entity, type_name: str, nodes: list[FieldNode]) -> p.Edges:
        fields: list[p.Cursor | p.EdgeNode | p.Constant] = []
        for field_key, group in self._collect(type_name, _sub_selections(nodes)).items():
            name = group[0].name.value
            if name == "__typename":
                fields.append(p.Constant(field_key, type_name))
            elif name == "cursor":
                fields.append(p.Cursor(field_key))
            elif name == "node":
                fields.append(p.EdgeNode(field_key, self._selection(entity, group)))
            else:
                raise NotPlannable
        return p.Edges(key, tuple(fields))

    def _page_info(self, key: str, nodes: list[FieldNode]) -> p.PageInfo:
        fields: list[p.PageInfoValue | p.Constant] = []
        for field_key, group in self._collect("PageInfo", _sub_selections(nodes)).items():
            name = group[0].name.value
            if name == "__typename":
                fields.append(p.Constant(field_key, "PageInfo"))
            elif name in PAGE_FIELDS:
                fields.append(p.PageInfoValue(field_key, PAGE_FIELDS[name]))
            else:
                raise NotPlannable
        return p.PageInfo(key, tuple(fields))


def _sub_selections(nodes: list[FieldNode]) -> list[SelectionSetNode]:
    return [node.selection_set for node in nodes if node.selection_set is not None]
