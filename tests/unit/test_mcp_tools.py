"""The MCP tools' fixed documents against the schema: each one valid, its one top-level field
the tool's root (a mutation's the Mutation field it names), its variables what its arguments
give (at their largest), and within the default query limits at the largest `first`; and what
an agent is told of refusals, errors and partial answers (the endpoint a stub)."""

from __future__ import annotations

from typing import Any, cast

import pytest
from graphql import FieldNode, OperationDefinitionNode, OperationType, parse, validate
from graphql.execution.values import get_variable_values
from starlette.requests import Request

from api.graphql_http import GraphQLEndpoint
from api.hardening import Hardening
from api.http_requests import RequestError
from api.mcp_server import McpFace, ToolFailure
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


# --- what the agent is told -----------------------------------------------------------------


class _Endpoint:
    """Answers every document with `answer` (or raises it), recording the variables."""

    def __init__(self, answer: dict[str, Any] | Exception) -> None:
        self.hardening = Hardening()
        self._answer = answer
        self.calls: list[dict[str, Any] | None] = []

    async def run_fixed(
        self, request: Request, query: str, variables: dict[str, Any] | None
    ) -> dict[str, Any]:
        self.calls.append(variables)
        if isinstance(self._answer, Exception):
            raise self._answer
        return self._answer


def _face(answer: dict[str, Any] | Exception) -> tuple[McpFace, _Endpoint]:
    endpoint = _Endpoint(answer)
    return McpFace(cast(GraphQLEndpoint, endpoint)), endpoint


REQUEST = Request({"type": "http", "method": "POST", "headers": [], "state": {}})
TOOL = {tool.name: tool for tool in TOOLS}


async def _failure(face: McpFace, tool: str, arguments: dict[str, Any]) -> list[dict[str, Any]]:
    with pytest.raises(ToolFailure) as failed:
        await face.answer(REQUEST, TOOL[tool], arguments)
    return failed.value.errors


async def test_refused_arguments_never_reach_the_endpoint_nor_come_back_whole() -> None:
    face, endpoint = _face({"data": {}})
    long_name = "n" * 10_000
    errors = await _failure(face, "get_service", {"service": "x" * 10_000, long_name: 1})
    assert endpoint.calls == []
    assert {error["code"] for error in errors} == {"VALIDATION"}
    assert all(len(str(error)) < 300 for error in errors), errors


async def test_user_errors_graphql_errors_and_refusals_are_failures() -> None:
    forbidden = {"code": "FORBIDDEN", "message": "you may not", "path": ["input", "service"]}
    face, _ = _face({"data": {"deploy": {"deployment": None, "errors": [forbidden]}}})
    deploy = {"service": "a", "environment": "b", "version": "v1"}
    assert await _failure(face, "deploy", deploy) == [forbidden]
    assert ToolFailure([forbidden]).args[0] == "FORBIDDEN: you may not (input.service)"

    internal = {"message": "Internal server error", "extensions": {"code": "INTERNAL",
                                                                    "requestId": "r1"}}  # fmt: skip
    face, _ = _face({"data": None, "errors": [internal]})
    [told] = await _failure(face, "search_services", {})
    assert told["message"] == "Internal server error (request r1)"

    face, _ = _face(RequestError(429, "slow down", "RATE_LIMITED"))
    [limited] = await _failure(face, "search_services", {})
    assert (limited["code"], limited["message"]) == ("RATE_LIMITED", "slow down")

    face, _ = _face({"data": {"service": None}})
    assert await _failure(face, "get_service", {"service": "gone"}) == [
        {"code": "NOT_FOUND", "message": "no service `gone`"}
    ]


async def test_a_partial_answer_is_a_result_with_warnings() -> None:
    failed_live = {
        "message": "the provider did not answer",
        "path": ["service", "environments", 0, "live"],
        "extensions": {"code": "PROVIDER_ERROR"},
    }
    service = {"slug": "a", "environments": [{"live": None}]}
    face, endpoint = _face({"data": {"service": service}, "errors": [failed_live]})
    result = await face.answer(REQUEST, TOOL["get_service"], {"service": "a"})
    assert result == {
        **service,
        "warnings": ["PROVIDER_ERROR: the provider did not answer (service.environments.0.live)"],
    }
    assert endpoint.calls == [{"slug": "a"}]


async def test_a_mutation_result_leaves_out_its_empty_errors() -> None:
    face, endpoint = _face({"data": {"freezeEnvironment": {"environment": {"slug": "p"},
                                                           "errors": []}}})  # fmt: skip
    result = await face.answer(REQUEST, TOOL["freeze_environment"], {"environment": "p"})
    assert result == {"environment": {"slug": "p"}}
    assert endpoint.calls == [{"input": {"environment": "p"}}]
