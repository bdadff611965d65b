"""The HTTP side of `/graphql`: media-type negotiation, reading and checking the request's
parameters (with a cap on the body), and request errors."""

from __future__ import annotations

from typing import Any

import orjson
from graphql import GraphQLSyntaxError
from starlette.requests import Request

from domain.errors import ErrorCode

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
_ACCEPTED_BODY_TYPES = ("application/json", "application/graphql-response+json")

BAD_REQUEST = "BAD_REQUEST"
"""The code of requests refused for their HTTP form rather than their GraphQL document."""

MAX_NESTING = 32
"""The deepest nesting of objects and lists `variables` and `extensions` may have."""


class RequestError(Exception):
    """A request refused before execution. Without a `status` it is a GraphQL request
    error: 400 with `application/graphql-response+json`, 200 with `application/json`."""

    def __init__(
        self,
        status: int | None,
        message: str,
        code: str = BAD_REQUEST,
        *,
        headers: dict[str, str] | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error: dict[str, Any] = {
            "message": message,
            "extensions": {"code": code, **(extensions or {})},
        }
        self.headers = headers or {}

    @classmethod
    def from_syntax_error(cls, error: GraphQLSyntaxError) -> RequestError:
        refused = cls(None, error.message, ErrorCode.VALIDATION.value)
        refused.error = {**error.formatted, "extensions": {"code": ErrorCode.VALIDATION.value}}
        return refused

    def status_for(self, media_type: str) -> int:
        if self.status is not None:
            return self.status
        return 400 if media_type == GRAPHQL_RESPONSE else 200


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


def negotiate(request: Request) -> str | None:
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


def wants_ide(request: Request) -> bool:
    return (
        request.method == "GET"
        and "query" not in request.query_params
        and "documentId" not in request.query_params
        and "text/html" in request.headers.get("accept", "")
    )


def _decode_json_param(raw: str | None, name: str) -> Any:
    if raw is None:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise RequestError(400, f"`{name}` is not valid JSON") from None


def _too_large(limit: int) -> RequestError:
    return RequestError(413, f"the request body exceeds the limit of {limit} bytes")


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused once it grows past `limit` bytes: never more is held in memory."""
    declared = request.headers.get("content-length")
    if declared is not None:
        digits = declared.strip()
        if not (digits.isascii() and digits.isdigit()):  # `isdigit` alone takes '²'
            raise RequestError(400, "`Content-Length` is not a number")
        if len(digits.lstrip("0")) > 18 or int(digits) > limit:
            raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_params(request: Request, max_body_bytes: int) -> dict[str, Any]:
    if request.method == "GET":
        return {
            "query": request.query_params.get("query"),
            "documentId": request.query_params.get("documentId"),
            "operationName": request.query_params.get("operationName"),
            "variables": _decode_json_param(request.query_params.get("variables"), "variables"),
            "extensions": _decode_json_param(request.query_params.get("extensions"), "extensions"),
        }
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in _ACCEPTED_BODY_TYPES:
        raise RequestError(415, "send the request body as application/json")
    body = await _read_body(request, max_body_bytes)
    try:
        params = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise RequestError(400, "the request body is not valid JSON") from None
    if isinstance(params, list):
        raise RequestError(400, "batches (a JSON array) are not supported: send one operation")
    if not isinstance(params, dict):
        raise RequestError(400, "the request body must be a JSON object")
    return params


def nesting_depth(value: Any, limit: int) -> int:
    """How many objects and lists nest in `value` (a scalar: 0), counted iteratively and
    only up to `limit + 1`, so that no depth exhausts the stack and no walk goes on past
    the answer."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if not isinstance(item, list):
            continue
        depth += 1
        deepest = max(deepest, depth)
        if deepest > limit:
            break
        pending.extend((child, depth) for child in item)
    return deepest


def check_params(params: dict[str, Any]) -> tuple[str | None, dict[str, Any] | None]:
    """Also bounds the nesting of `variables` and `extensions` (the object itself counts as
    one level): everything that walks them later (the NUL check, the executor's coercion,
    the fast path's cache key) may then recurse."""
    operation_name = params.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise RequestError(400, "`operationName` must be a string")
    variables = params.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise RequestError(400, "`variables` must be an object")
    extensions = params.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        raise RequestError(400, "`extensions` must be an object")
    for name, value in (("variables", variables), ("extensions", extensions)):
        if nesting_depth(value, MAX_NESTING) > MAX_NESTING:
            raise RequestError(
                400, f"`{name}` nests objects and lists deeper than the limit of {MAX_NESTING}"
            )
    return operation_name, variables


def error_body(error: dict[str, Any]) -> bytes:
    return orjson.dumps({"errors": [error]})
