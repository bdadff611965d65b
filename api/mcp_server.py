"""`/mcp`: the Model Context Protocol over streamable HTTP, for agents (the official `mcp` SDK).

A face like `/graphql`, and a client of it: every tool runs its fixed document
(`api.mcp_tools`) through `GraphQLEndpoint.run_fixed`, so the request's principal (read by the
same `AuthenticationMiddleware`: a bearer API token or OIDC JWT; the local admin only in
development), the query limits, the rate limit and per-actor slots, the fast read path,
policy and the audit log all apply as they do there. The Host guard stands in front of both.
Mutations are audited with the channel `mcp`.

Stateless, with JSON answers: every POST carries one JSON-RPC message and gets its answer; no
session lives in a process, so any replica answers any request. Other methods get 405: there
is no session to end (DELETE) and no stream of server-initiated messages to open (GET).

- A tool's arguments are checked by its pydantic model first: a refusal is a tool error
  (`isError`) saying `VALIDATION` and what is wrong, before any SQL.
- A mutation's `UserError`s, a query's GraphQL errors, and the endpoint's refusals (limits,
  `RATE_LIMITED`) are tool errors naming each code and message; the result is otherwise the
  document's answer as JSON (`structuredContent`, and the same as text). An answer with both
  data and errors (a provider's live status that failed) is a result, the errors listed in
  its `warnings`.
- `paved://service/{slug}` (a resource template) reads `get_service`'s document; the
  resources listed are the first services by slug.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import mcp_types as types
import orjson
from mcp.server import Server, ServerRequestContext
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.shared.exceptions import MCPError
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import Receive, Scope, Send

from api.graphql_http import GraphQLEndpoint
from api.http_requests import RequestError
from api.mcp_tools import SERVICE_DOCUMENT_TOOL, TOOLS, TOOLS_BY_NAME, McpTool, ServiceSlug
from api.request_ids import request_id
from domain.catalog.rules import SLUG_PATTERN
from domain.errors import ErrorCode

log = logging.getLogger(__name__)

MCP_CHANNEL = "mcp"
"""What the audit log records as the channel of a mutation made through `/mcp`."""
SERVICE_URI_TEMPLATE = "paved://service/{slug}"
_SERVICE_URI = re.compile(f"paved://service/({SLUG_PATTERN})")
_LISTED_SERVICES = 100
_INSTRUCTIONS = (
    "Paved Road, an internal developer platform: its catalog of services, teams and "
    "environments, and deployments. Read tools are safe; acting tools (deploy, promote, "
    "rollback, approve_deployment, freeze_environment) may change production: confirm with "
    "the user first. promote answers a plan unless called with confirm: true."
)
_VERSION = "1"


def channel_of(request: Request) -> str | None:
    """The face a request came through when not the GraphQL API itself (`mcp`), for the
    audit log."""
    channel: str | None = getattr(request.state, "channel", None)
    return channel


class ToolFailure(Exception):
    """A tool's refusal or error, as the agent is told it: `CODE: message` lines."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(_line(error) for error in errors))
        self.errors = errors


def _line(error: dict[str, Any]) -> str:
    path = error.get("path")
    where = f" ({'.'.join(str(part) for part in path)})" if path else ""
    return f"{error.get('code', ErrorCode.INTERNAL.value)}: {error.get('message', '')}{where}"


def _named(part: object) -> str:
    """A path part as told back: an unknown argument's name may be as long as its sender
    liked."""
    text = str(part)
    return text if len(text) <= 64 else text[:61] + "..."


def _validation_errors(refused: ValidationError) -> list[dict[str, Any]]:
    """The arguments' problems, never echoing what was sent (it may be huge)."""
    return [
        {
            "code": ErrorCode.VALIDATION.value,
            "message": problem["msg"],
            "path": [_named(part) for part in problem["loc"]] or None,
        }
        for problem in refused.errors(include_url=False, include_input=False)[:10]
    ]


def _graphql_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """GraphQL errors as tool errors: code, message (an internal failure's with the request
    id it was logged under) and path."""
    told = []
    for error in errors:
        extensions = error.get("extensions") or {}
        message = error.get("message", "")
        if "requestId" in extensions:
            message = f"{message} (request {extensions['requestId']})"
        told.append(
            {
                "code": extensions.get("code", ErrorCode.INTERNAL.value),
                "message": message,
                "path": error.get("path"),
            }
        )
    return told


def _tool(tool: McpTool) -> types.Tool:
    schema = tool.arguments.model_json_schema()
    schema.pop("title", None)
    return types.Tool(
        name=tool.name,
        title=tool.title,
        description=tool.description,
        input_schema=schema,
        annotations=types.ToolAnnotations(
            title=tool.title,
            read_only_hint=tool.read_only,
            destructive_hint=None if tool.read_only else tool.destructive,
            idempotent_hint=True if tool.read_only else None,
            open_world_hint=False,
        ),
    )


def _text(value: Any) -> str:
    return orjson.dumps(value).decode()


class McpFace:
    """The MCP server and its transport; built in the app's lifespan, `running()` there too."""

    def __init__(self, endpoint: GraphQLEndpoint) -> None:
        self._endpoint = endpoint
        self._tools = [_tool(tool) for tool in TOOLS]
        self.server: Server[Any] = Server(
            "paved-road",
            version=_VERSION,
            title="Paved Road",
            instructions=_INSTRUCTIONS,
            on_list_tools=self._list_tools,
            on_call_tool=self._call_tool,
            on_list_resources=self._list_resources,
            on_list_resource_templates=self._list_resource_templates,
            on_read_resource=self._read_resource,
        )
        self._manager = StreamableHTTPSessionManager(
            self.server,
            json_response=True,
            stateless=True,
            # The app's HostGuard checks Host and Origin in front of every route.
            security_settings=None,
            max_request_body_size=endpoint.hardening.max_body_bytes,
        )

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The transport's session manager, run in a task of its own: its anyio task group
        must end in the task that started it, and the app's lifespan may be entered and left
        in different tasks (the test fixtures' are)."""
        started = asyncio.Event()
        stop = asyncio.Event()

        async def run() -> None:
            async with self._manager.run():
                started.set()
                await stop.wait()

        task = asyncio.create_task(run(), name="mcp-transport")
        waiting = asyncio.create_task(started.wait())
        await asyncio.wait({task, waiting}, return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        if task.done():
            task.result()  # its failure, if it failed to start
        try:
            yield
        finally:
            stop.set()
            await task

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != "POST":
            # Stateless: no session to end (DELETE), no stream of server-sent messages (GET).
            refused = PlainTextResponse("use POST", status_code=405, headers={"Allow": "POST"})
            await refused(scope, receive, send)
            return
        scope.setdefault("state", {})["channel"] = MCP_CHANNEL
        await self._manager.handle_request(scope, receive, send)

    # --- running a document -------------------------------------------------------------------

    async def answer(self, request: Request, tool: McpTool, arguments: dict[str, Any]) -> Any:
        """The tool's result; raises ToolFailure."""
        try:
            checked = tool.arguments.model_validate(arguments)
        except ValidationError as refused:
            raise ToolFailure(_validation_errors(refused)) from None
        try:
            answer = await self._endpoint.run_fixed(request, tool.document, checked.variables())
        except RequestError as refused:
            raise ToolFailure(_graphql_errors([refused.error])) from None
        errors = _graphql_errors(answer.get("errors") or [])
        result = (answer.get("data") or {}).get(tool.root)
        if errors:
            if not isinstance(result, dict):
                raise ToolFailure(errors)
            # Partial: what could not be answered (a provider's live status) is null, and why.
            result = {**result, "warnings": [_line(error) for error in errors]}
        if result is None and tool.missing is not None:
            message = tool.missing.format(**checked.model_dump())
            raise ToolFailure([{"code": ErrorCode.NOT_FOUND.value, "message": message}])
        if tool.mutation is not None and isinstance(result, dict):
            if result.get("errors"):
                raise ToolFailure(result["errors"])
            result = {key: value for key, value in result.items() if key != "errors"}
        note = checked.note()
        if note is not None and isinstance(result, dict):
            result = {**result, "note": note}
        return result

    # --- the protocol's handlers --------------------------------------------------------------

    async def _list_tools(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=self._tools)

    async def _call_tool(
        self, ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        tool = TOOLS_BY_NAME.get(params.name)
        if tool is None:
            unknown = f"no tool `{_named(params.name)}`"
            return _tool_error([{"code": ErrorCode.NOT_FOUND.value, "message": unknown}])
        request = _request_of(ctx)
        try:
            result = await self.answer(request, tool, dict(params.arguments or {}))
        except ToolFailure as failed:
            return _tool_error(failed.errors)
        except Exception:
            log.exception("MCP tool %s failed", tool.name)
            return _tool_error(
                [
                    {
                        "code": ErrorCode.INTERNAL.value,
                        "message": f"Internal server error (request {request_id(request)})",
                    }
                ]
            )
        structured = result if isinstance(result, dict) else {"result": result}
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=_text(structured))],
            structured_content=structured,
        )

    async def _list_resources(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        listing = await self._read(
            ctx, TOOLS_BY_NAME["search_services"], {"first": _LISTED_SERVICES}
        )
        return types.ListResourcesResult(
            resources=[
                types.Resource(
                    uri=SERVICE_URI_TEMPLATE.format(slug=service["slug"]),
                    name=service["slug"],
                    title=service["name"],
                    description=service.get("description"),
                    mime_type="application/json",
                )
                for service in listing["nodes"]
            ]
        )

    async def _list_resource_templates(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        return types.ListResourceTemplatesResult(
            resource_templates=[
                types.ResourceTemplate(
                    uri_template=SERVICE_URI_TEMPLATE,
                    name="service",
                    title="A service",
                    description="A service as a document: owners, dependencies, what runs in "
                    "each environment with live health, recent deployments.",
                    mime_type="application/json",
                )
            ]
        )

    async def _read_resource(
        self, ctx: ServerRequestContext[Any], params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        uri = str(params.uri)
        found = _SERVICE_URI.fullmatch(uri)
        if found is None:
            raise MCPError(types.INVALID_PARAMS, f"unknown resource: {uri[:200]}")
        service = await self._read(
            ctx, SERVICE_DOCUMENT_TOOL, ServiceSlug(service=found[1]).model_dump()
        )
        return types.ReadResourceResult(
            contents=[
                types.TextResourceContents(
                    uri=uri, mime_type="application/json", text=_text(service)
                )
            ]
        )

    async def _read(
        self, ctx: ServerRequestContext[Any], tool: McpTool, arguments: dict[str, Any]
    ) -> Any:
        """A read for a resource handler; failures are protocol errors there."""
        try:
            return await self.answer(_request_of(ctx), tool, arguments)
        except ToolFailure as failed:
            raise MCPError(types.INVALID_PARAMS, str(failed)) from None


def _request_of(ctx: ServerRequestContext[Any]) -> Request:
    request = ctx.request
    if not isinstance(request, Request):  # only HTTP reaches this server
        raise MCPError(types.INTERNAL_ERROR, "no HTTP request")
    return request


def _tool_error(errors: list[dict[str, Any]]) -> types.CallToolResult:
    text = "\n".join(_line(error) for error in errors)
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)],
        structured_content={"errors": errors},
        is_error=True,
    )


class McpRoute:
    """The ASGI app of the `/mcp` route: hands each request to the face the lifespan built."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        face: McpFace = scope["app"].state.mcp
        await face.handle(scope, receive, send)
