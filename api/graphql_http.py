"""`/graphql` over HTTP, following the GraphQL-over-HTTP spec.

Answers `application/graphql-response+json` when the client accepts it (request
errors then get 4xx), and `application/json` otherwise (200 for every well-formed
request). GET runs queries only; GraphiQL is served to browsers when enabled.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from strawberry import Schema
from strawberry.http.ides import get_graphql_ide_html
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.types.graphql import OperationType

from api.fast_reads import FastReads

log = logging.getLogger(__name__)

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
_ACCEPTED_BODY_TYPES = ("application/json", "application/graphql-response+json")


_KEPT_DISAGREEMENTS = 100


@dataclass(frozen=True, slots=True)
class Disagreement:
    query: str
    variables: dict[str, Any] | None
    fast: bytes
    reference: bytes


def same_json(left: bytes, right: bytes) -> bool:
    """Equal documents once parsed and written with sorted keys."""
    option = orjson.OPT_SORT_KEYS
    return orjson.dumps(orjson.loads(left), option=option) == orjson.dumps(
        orjson.loads(right), option=option
    )


class RequestError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


# What each media range in `Accept` gets: the two JSON types, with wildcards meaning plain JSON.
_ANSWER_FOR = {
    GRAPHQL_RESPONSE: GRAPHQL_RESPONSE,
    JSON: JSON,
    "application/*": JSON,
    "*/*": JSON,
}


def _quality(params: list[str]) -> float:
    """The `q` of one `Accept` entry (1 when absent, 0 when unreadable)."""
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return min(max(float(value), 0.0), 1.0)
            except ValueError:
                return 0.0
    return 1.0


def _negotiate(request: Request) -> str | None:
    """The media type to answer with, or None when the client accepts neither.

    The highest q wins; among equals, the one listed first; q=0 refuses a type.
    """
    accept = request.headers.get("accept", "")
    if not accept.strip():
        return JSON
    best: str | None = None
    best_quality = 0.0
    for entry in accept.split(","):
        media_range, *params = entry.split(";")
        answer = _ANSWER_FOR.get(media_range.strip().lower())
        quality = _quality(params)
        if answer is not None and quality > best_quality:
            best, best_quality = answer, quality
    return best


def _wants_ide(request: Request) -> bool:
    return (
        request.method == "GET"
        and "query" not in request.query_params
        and "text/html" in request.headers.get("accept", "")
    )


def _decode_json_param(raw: str | None, name: str) -> Any:
    if raw is None:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise RequestError(400, f"`{name}` is not valid JSON") from None


async def _read_params(request: Request) -> dict[str, Any]:
    if request.method == "GET":
        return {
            "query": request.query_params.get("query"),
            "operationName": request.query_params.get("operationName"),
            "variables": _decode_json_param(request.query_params.get("variables"), "variables"),
            "extensions": _decode_json_param(request.query_params.get("extensions"), "extensions"),
        }
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in _ACCEPTED_BODY_TYPES:
        raise RequestError(415, "send the request body as application/json")
    body = await request.body()
    try:
        params = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise RequestError(400, "the request body is not valid JSON") from None
    if not isinstance(params, dict):
        raise RequestError(400, "the request body must be a JSON object")
    return params


def _check_params(params: dict[str, Any]) -> tuple[str, str | None, dict[str, Any] | None]:
    query = params.get("query")
    if not isinstance(query, str) or not query.strip():
        raise RequestError(400, "`query` must be a non-empty string")
    operation_name = params.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise RequestError(400, "`operationName` must be a string")
    variables = params.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise RequestError(400, "`variables` must be an object")
    extensions = params.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        raise RequestError(400, "`extensions` must be an object")
    return query, operation_name, variables


def _error_body(message: str) -> bytes:
    return orjson.dumps({"errors": [{"message": message}]})


def _is_request_error(result: ExecutionResult) -> bool:
    """Whether the operation never started executing: the document did not parse or
    validate, or (reported by graphql-core like a result, but with no field `path` on any
    error) its variables could not be coerced or no operation could be chosen."""
    if isinstance(result, PreExecutionError):
        return True
    return (
        result.data is None
        and bool(result.errors)
        and all(error.path is None for error in result.errors or ())
    )


def _result_body(result: ExecutionResult, *, executed: bool) -> bytes:
    payload: dict[str, Any] = {}
    if result.errors:
        payload["errors"] = [error.formatted for error in result.errors]
    if executed:
        payload["data"] = result.data
    if result.extensions:
        payload["extensions"] = result.extensions
    return orjson.dumps(payload)


class GraphQLEndpoint:
    """`fast_reads` answers what it can before the executor runs; with `verify`, the
    executor answers every request and the fast answers are only compared with it."""

    def __init__(
        self,
        schema: Schema,
        context_factory: Callable[[Request], Any],
        *,
        graphiql: bool,
        fast_reads: FastReads | None = None,
        verify: bool = False,
    ) -> None:
        self._schema = schema
        self._context_factory = context_factory
        self._graphiql = graphiql
        self.fast_reads = fast_reads
        self.verify = verify
        self.fast_answers = 0
        self.disagreements: list[Disagreement] = []

    async def __call__(self, request: Request) -> Response:
        if request.method not in ("GET", "POST"):
            return Response(status_code=405, headers={"Allow": "GET, POST"})
        if _wants_ide(request):
            if self._graphiql:
                return HTMLResponse(get_graphql_ide_html())
            return Response("GraphiQL is disabled", status_code=404, media_type="text/plain")
        media_type = _negotiate(request)
        if media_type is None:
            return Response(
                _error_body(f"accept {GRAPHQL_RESPONSE} or {JSON}"),
                status_code=406,
                media_type=JSON,
            )
        try:
            return await self._answer(request, media_type)
        except RequestError as error:
            return Response(
                _error_body(error.message),
                status_code=error.status,
                media_type=media_type,
                headers=error.headers,
            )

    async def _answer(self, request: Request, media_type: str) -> Response:
        query, operation_name, variables = _check_params(await _read_params(request))
        fast = await self._fast_answer(query, variables, operation_name)
        if isinstance(fast, bytes) and not self.verify:
            return Response(fast, media_type=media_type)
        response = await self._execute(request, media_type, query, operation_name, variables)
        reference = bytes(response.body)
        if isinstance(fast, bytes) and not same_json(fast, reference):
            self._disagree(Disagreement(query, variables, fast, reference))
        elif isinstance(fast, asyncpg.PostgresError) and b'"errors"' not in reference:
            self._disagree(Disagreement(query, variables, str(fast).encode(), reference))
        return response

    async def _fast_answer(
        self, query: str, variables: dict[str, Any] | None, operation_name: str | None
    ) -> bytes | asyncpg.PostgresError | None:
        """The fast path's body; None when it leaves the request to the executor, or the
        database error that made it fail (the executor then answers, usually with the same
        failure, masked)."""
        if self.fast_reads is None:
            return None
        try:
            body = await self.fast_reads.answer(query, variables, operation_name)
        except asyncpg.PostgresError as error:
            log.warning("the fast read path failed (%s); the executor answers instead", error)
            return error
        if body is not None:
            self.fast_answers += 1
        return body

    def _disagree(self, disagreement: Disagreement) -> None:
        log.error("fast read path disagrees with the executor on %r", disagreement.query)
        if len(self.disagreements) < _KEPT_DISAGREEMENTS:
            self.disagreements.append(disagreement)

    async def _execute(
        self,
        request: Request,
        media_type: str,
        query: str,
        operation_name: str | None,
        variables: dict[str, Any] | None,
    ) -> Response:
        allowed = (
            {OperationType.QUERY}
            if request.method == "GET"
            else {OperationType.QUERY, OperationType.MUTATION}
        )
        try:
            result = await self._schema.execute(
                query,
                variable_values=variables,
                context_value=self._context_factory(request),
                operation_name=operation_name,
                allowed_operation_types=allowed,
            )
        except InvalidOperationTypeError as error:
            if request.method == "GET":
                raise RequestError(
                    405, "only queries may be sent with GET; use POST", {"Allow": "POST"}
                ) from None
            raise RequestError(
                400, f"{error.operation_type.value} operations are not supported"
            ) from None
        except CannotGetOperationTypeError:
            raise RequestError(400, "no operation matches `operationName`") from None
        request_error = _is_request_error(result)
        status = 400 if request_error and media_type == GRAPHQL_RESPONSE else 200
        return Response(
            _result_body(result, executed=not request_error),
            status_code=status,
            media_type=media_type,
        )
