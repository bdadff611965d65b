"""The MCP tools' fixed documents against the schema: each one valid, its one top-level field
the tool's root (a mutation's the Mutation field it names), its variables what its arguments
give (at their largest), and within the default query limits at the largest `first`."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import FieldNode, OperationDefinitionNode, OperationType, parse, validate
from graphql.execution.values import get_variable_values

from api.mcp_tools import MCP_MUTATIONS, TOOLS, McpTool
from api.query_limits import QueryChecker, QueryLimits
from resolvers.paging import MAX_PAGE_SIZE
from schema.build import build_schema

SCHEMA = build_schema()._schema

SAMPLES: dict[str, dict[str, Any]] = {
    "search_services": {"query": "pay", "owner": "pay", "first": MAX_PAGE_SIZE},
    "get_service": {"service": "pay-api"},
    "who_owns": {"service": "pay-api"},
    "what_runs_where": {
        "query": "pay",
        "owner": "pay",
        "environments": ["staging", "prod"],
        "first": MAX_PAGE_SIZE,
    },
    "deployment_history": {"service": "pay-api", "environment": "prod", "first": MAX_PAGE_SIZE},
    "compare_environments": {
        "service": "pay-api",
        "from_environment": "staging",
        "to_environment": "prod",
    },
    "deployment_metrics": {"environment": "prod", "service": "pay-api", "team": "pay", "days": 7},
    "deploy": {
        "service": "pay-api",
        "environment": "prod",
        "version": "v1",
        "commit_sha": "abc",
        "description": "d",
        "idempotency_key": "k",
    },
    "promote": {
        "service": "pay-api",
        "from_environment": "staging",
        "to_environment": "prod",
        "confirm": True,
        "idempotency_key": "k",
    },
    "rollback": {"service": "pay-api", "environment": "prod", "to_deployment": "RGVw"},
    "approve_deployment": {"deployment": "RGVw", "comment": "ok"},
    "freeze_environment": {"environment": "prod", "reason": "incident"},
    "list_resource_classes": {"first": MAX_PAGE_SIZE},
    "list_templates": {"first": MAX_PAGE_SIZE},
    "request_resource": {
        "service": "pay-api",
        "environment": "prod",
        "resource_class": "postgres",
        "name": "db",
        "parameters": {"size": "S"},
        "dry_run": True,
        "idempotency_key": "k",
    },
    "create_service_from_template": {
        "template": "python",
        "slug": "orders",
        "owner": "pay",
        "name": "Orders",
        "description": "d",
        "parameters": {"size": "S"},
        "dry_run": True,
        "idempotency_key": "k",
    },
}


def _operation(tool: McpTool) -> OperationDefinitionNode:
    [operation] = parse(tool.document).definitions
    assert isinstance(operation, OperationDefinitionNode)
    return operation


def test_every_tool_has_a_sample() -> None:
    assert set(SAMPLES) == {tool.name for tool in TOOLS}


@pytest.mark.parametrize("tool", TOOLS, ids=lambda tool: tool.name)
def test_the_document_is_valid_and_its_variables_come_from_the_arguments(tool: McpTool) -> None:
    document = parse(tool.document)
    assert validate(SCHEMA, document) == []
    operation = _operation(tool)
    [root] = operation.selection_set.selections
    assert isinstance(root, FieldNode)
    assert root.name.value == tool.root
    if tool.mutation is None:
        assert operation.operation is OperationType.QUERY
    else:
        assert operation.operation is OperationType.MUTATION
        assert tool.root == tool.mutation
    arguments = tool.arguments.model_validate(SAMPLES[tool.name])
    variables = arguments.variables()
    definitions = operation.variable_definitions or ()
    coerced = get_variable_values(SCHEMA, definitions, variables)
    assert not isinstance(coerced, list), coerced
    defined = {definition.variable.name.value for definition in definitions}
    assert set(variables) <= defined
    QueryChecker(SCHEMA, QueryLimits()).check(tool.document, None, variables)


def test_mcp_mutations_are_the_mutation_fields_the_tools_call() -> None:
    mutation_type = SCHEMA.mutation_type
    assert mutation_type is not None
    assert {tool.mutation for tool in TOOLS if tool.mutation is not None} == MCP_MUTATIONS
    assert set(mutation_type.fields) >= MCP_MUTATIONS


def test_promote_is_a_dry_run_unless_confirmed() -> None:
    [promote] = [tool for tool in TOOLS if tool.name == "promote"]
    given = {"service": "a", "from_environment": "b", "to_environment": "c"}
    planned = promote.arguments.model_validate(given)
    assert planned.variables()["input"]["dryRun"] is True
    assert planned.note() is not None
    confirmed = promote.arguments.model_validate({**given, "confirm": True})
    assert confirmed.variables()["input"] == {
        "service": "a",
        "fromEnvironment": "b",
        "toEnvironment": "c",
        "dryRun": False,
    }
    assert confirmed.note() is None
