"""`/graphql` over HTTP, following the GraphQL-over-HTTP spec.

Answers `application/graphql-response+json` when the client accepts it (request
errors then get 4xx), and `application/json` otherwise (200 for every well-formed
request). GET runs queries only; GraphiQL (`api.graphiql`) is served to browsers when enabled.

Everything the endpoint refuses, it refuses before either read path runs, so before any
SQL: oversized bodies, other content types, batches, unregistered documents (with trusted
documents on), the static query limits of `api.query_limits`, mutations over GET, and
actors out of rate-limit points (`api.rate_limits`).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import AbstractContextManager, nullcontext
from functools import partial
from typing import Any, NamedTuple

import asyncpg
import orjson
from graphql import DocumentNode, GraphQLError, GraphQLSyntaxError
from opentelemetry.trace import Tracer
from starlette.requests import Request
from starlette.responses import Response
from strawberry import Schema
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.types.graphql import OperationType

from api import nul_characters
from api.actor_slots import ActorSlots, Busy
from api.authentication import principal_of
from api.graphiql import graphiql_page
from api.hardening import Hardening
from api.http_requests import (
    GRAPHQL_RESPONSE,
    JSON,
    RequestError,
    check_params,
    error_body,
    negotiate,
    read_params,
    wants_ide,
)
from api.nul_characters import carries_nul
from api.query_limits import Checked, QueryChecker, QueryRejected
from api.rate_limits import Charge, RateLimited
from api.request_ids import current_request_id, request_id, tag_logs_with_request_ids
from api.unavailable import Outage, unavailable_body, unavailable_headers
from domain.access.model import Principal
from domain.access.policy import Action, decide
from domain.errors import ErrorCode, Unavailable
from reads.fast_reads import FastReads
from reads.verification import Disagreement, same_json
from resolvers.request_stats import RequestStats, current_stats
from schema.build import INTERNAL_ERROR
from schema.fast_mutations import FastMutations
from schema.parsed_documents import already_parsed

log = logging.getLogger(__name__)


_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")

_KEPT_DISAGREEMENTS = 100
_KEPT_INTERNAL_ANSWERS = 100


class _NothingDone(Exception):
    """A query the database could not answer: nothing was done, the client may retry it."""

    def __init__(self, down: Unavailable) -> None:
        super().__init__(down.message)
        self.down = down


# --- error reports carry the request id ------------------------------------------------


# --- reading requests --------------------------------------------------------------------

# What each media range in `Accept` gets: the two JSON types, with wildcards meaning plain JSON.


def _actor(request: Request, principal: Principal) -> str:
    """The rate-limit bucket: the actor, or for the local admin its client address."""
    if principal.actor_id is not None:
        return f"{principal.kind}:{principal.actor_id}"
    address = request.client.host if request.client else "unknown"
    return f"{principal.kind}@{address}"


# --- writing answers ---------------------------------------------------------------------


def _internal_error(request: Request) -> dict[str, Any]:
    return {
        "message": INTERNAL_ERROR,
        "extensions": {"code": ErrorCode.INTERNAL.value, "requestId": request_id(request)},
    }


def _outage_in(payload: dict[str, Any]) -> Unavailable | None:
    """The outage an executed operation met, if any of its errors is one."""
    for error in payload.get("errors") or ():
        if (error.get("extensions") or {}).get("code") == ErrorCode.UNAVAILABLE.value:
            return Unavailable(error.get("message") or "")
    return None


def _cost(charge: Charge) -> dict[str, int]:
    return {"requested": charge.requested, "remaining": charge.remaining}


def _with_cost(body: bytes, charge: Charge | None) -> bytes:
    """An answer's JSON object with the cost added to its `extensions`."""
    if charge is None:
        return body
    if b'"extensions":' not in body:
        # The fast path's `{"data":...}`, without parsing it.
        return body[:-1] + b',"extensions":' + orjson.dumps({"cost": _cost(charge)}) + b"}"
    payload = orjson.loads(body)
    payload.setdefault("extensions", {})["cost"] = _cost(charge)
    return orjson.dumps(payload)


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


def _note_failure(failure: str, code: str) -> None:
    stats = current_stats.get()
    if stats is not None:
        stats.failure, stats.code = failure, code


def _note_rate_limited(limit: str) -> None:
    stats = current_stats.get()
    if stats is not None:
        stats.rate_limited = limit


def _codes(payload: dict[str, Any]) -> list[str]:
    """The codes of the GraphQL errors answered."""
    return [
        str((error.get("extensions") or {}).get("code", ""))
        for error in payload.get("errors") or ()
        if isinstance(error, dict)
    ]


class Answer(NamedTuple):
    body: bytes
    status: int
    media_type: str
    headers: dict[str, str] | None = None


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
        fast_mutations: FastMutations | None = None,
        verify: bool = False,
        hardening: Hardening | None = None,
        outage: Outage | None = None,
        tracer: Tracer | None = None,
        database_answers: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        """`outage`: tells a database outage (answered UNAVAILABLE) from a bug (INTERNAL);
        `tracer`: a span per operation when tracing is on; `database_answers`: whether the
        database answers at all, asked when a query runs out of time (a database that hangs
        is UNAVAILABLE, not a query too large)."""
        self._schema = schema
        self._outage = outage
        self._database_answers = database_answers
        self._tracer = tracer
        self._context_factory = context_factory
        self._graphiql = graphiql
        self.fast_reads = fast_reads
        self.fast_mutations = fast_mutations
        self.verify = verify
        self.hardening = hardening or Hardening()
        self.rate_limiter = self.hardening.rate_limiter
        self.slots = ActorSlots(self.hardening.max_concurrent_per_actor)
        self._checker = QueryChecker(schema._schema, self.hardening.limits)
        self.fast_answers = 0
        self.disagreements: list[Disagreement] = []
        self.internal_answers: deque[str] = deque(maxlen=_KEPT_INTERNAL_ANSWERS)
        """The request ids of the latest answers that carried INTERNAL."""
        self.internal_count = 0
        """How many answers carried INTERNAL: the test suite fails a test that caused one
        without asking for it (`tests/support/internal_answers.py`)."""
        tag_logs_with_request_ids(logging.getLogger("strawberry.execution"), log)

    async def __call__(self, request: Request) -> Response:
        if request.method not in ("GET", "POST"):
            return Response(status_code=405, headers={"Allow": "GET, POST"})
        if wants_ide(request):
            if self._graphiql:
                return graphiql_page()
            return Response("GraphiQL is disabled", status_code=404, media_type="text/plain")
        answer = await self.answer(request)
        return Response(
            answer.body,
            status_code=answer.status,
            media_type=answer.media_type,
            headers=answer.headers,
        )

    async def answer(self, request: Request) -> Answer:
        """The answer to a GET (not GraphiQL's page) or a POST of GraphQL, whatever it is."""
        media_type = negotiate(request)
        if media_type is None:
            refused = RequestError(406, f"accept {GRAPHQL_RESPONSE} or {JSON}")
            return Answer(error_body(refused.error), 406, JSON)
        reset = current_request_id.set(request_id(request))
        try:
            return await self._answer(request, media_type)
        except RequestError as refused:
            _note_failure("request_error", refused.error["extensions"].get("code", ""))
            return Answer(
                error_body(refused.error),
                refused.status_for(media_type),
                media_type,
                refused.headers,
            )
        except _NothingDone as nothing_done:
            return self._unavailable(nothing_done.down, media_type)
        except Exception as error:
            down = None if self._outage is None else self._outage(error)
            if down is not None:
                log.warning("the database is unavailable (%r)", error)
                return self._unavailable(down, media_type)
            log.exception("unexpected failure")
            _note_failure("internal", ErrorCode.INTERNAL.value)
            return Answer(error_body(self._internal_error(request)), 500, media_type)
        finally:
            current_request_id.reset(reset)

    async def _answer(self, request: Request, media_type: str) -> Answer:
        params = await read_params(request, self.hardening.max_body_bytes)
        operation_name, variables = check_params(params)
        principal = principal_of(request)
        query = self._document_text(params, principal)
        body, status = await self._checked_answer(
            request, media_type, principal, query, operation_name, variables
        )
        return Answer(body, status, media_type)

    async def run_fixed(
        self, request: Request, query: str, variables: dict[str, Any] | None
    ) -> dict[str, Any]:
        """The answer (`data`, `errors`, `extensions`) to a document this server holds itself
        (the MCP tools', `api.mcp_tools`), run for `request`'s principal as a POST of it
        would be: static limits, rate limit, per-actor slot and deadline, the fast path or
        the executor, the response limit. Trusted documents do not apply: the document is
        the server's own. Raises RequestError as the endpoint would answer it."""
        reset = current_request_id.set(request_id(request))
        try:
            body, _ = await self._checked_answer(
                request, JSON, principal_of(request), query, None, variables
            )
        except _NothingDone as nothing_done:
            raise RequestError(
                503,
                nothing_done.down.message,
                ErrorCode.UNAVAILABLE.value,
                headers=unavailable_headers(),
            ) from None
        finally:
            current_request_id.reset(reset)
        answer: dict[str, Any] = orjson.loads(body)
        return answer

    async def _checked_answer(
        self,
        request: Request,
        media_type: str,
        principal: Principal,
        query: str,
        operation_name: str | None,
        variables: dict[str, Any] | None,
    ) -> tuple[bytes, int]:
        """The body (with its cost) and status of a document, once checked and charged."""
        checked = self._check(query, operation_name, variables)
        stats = current_stats.get()
        if stats is not None and checked.operation is not None:
            name = checked.operation.name
            stats.operation_name = name.value if name is not None else None
            stats.operation_type = checked.operation.operation.value
        if request.method == "GET" and not checked.reads_only:
            raise RequestError(
                405, "only queries may be sent with GET; use POST", headers={"Allow": "POST"}
            )
        actor = _actor(request, principal)
        charge = self._charge(actor, max(checked.nodes, 1))
        try:
            async with self.slots.slot(actor, self.hardening.request_timeout_seconds):
                with already_parsed(query, checked.document):
                    body, status = await self._within_deadline(
                        self._run(
                            request,
                            media_type,
                            principal,
                            query,
                            operation_name,
                            variables,
                            reads_only=checked.reads_only,
                            document=checked.document,
                        ),
                        checked.reads_only,
                    )
        except Busy:
            _note_rate_limited("concurrency")
            raise RequestError(
                429,
                f"too many requests of yours are running at once (at most "
                f"{self.slots.per_actor}); retry when they have finished",
                ErrorCode.RATE_LIMITED,
                headers={"Retry-After": "1"},
                extensions={"limit": "max_concurrent_per_actor", "retryAfter": 1},
            ) from None
        return self._bounded(body, charge), status

    @staticmethod
    def _unavailable(down: Unavailable, media_type: str) -> Answer:
        return Answer(unavailable_body(down), 503, media_type, unavailable_headers())

    def _internal_error(self, request: Request) -> dict[str, Any]:
        error = _internal_error(request)
        self.internal_count += 1
        self.internal_answers.append(str(error["extensions"]["requestId"]))
        return error

    async def _within_deadline(
        self, answer: Coroutine[Any, Any, tuple[bytes, int]], reads_only: bool
    ) -> tuple[bytes, int]:
        """Queries end at the request deadline; mutations run to the end of their transaction."""
        seconds = self.hardening.request_timeout_seconds
        if not reads_only:
            return await answer
        deadline = asyncio.timeout(seconds)
        try:
            async with deadline:
                return await answer
        except TimeoutError:
            if not deadline.expired():
                raise  # not the deadline's: a pool that had no connection in time
            if self._database_answers is not None and not await self._database_answers():
                raise _NothingDone(
                    Unavailable("the database did not answer in time; retry shortly")
                ) from None
            raise RequestError(
                None,
                f"the query ran longer than {seconds:g} s, the limit; ask for less "
                "(smaller pages, fewer nested lists)",
                ErrorCode.VALIDATION,
                extensions={"limit": "request_timeout_seconds"},
            ) from None

    def _bounded(self, body: bytes, charge: Charge | None) -> bytes:
        """The body with its cost, unless it is larger than the response limit."""
        limit = self.hardening.max_response_bytes
        if len(body) > limit:
            raise RequestError(
                None,
                f"the response would be {len(body)} bytes, exceeding the limit of {limit}; "
                "ask for less (smaller pages, fewer nested lists)",
                ErrorCode.VALIDATION,
                extensions={"limit": "max_response_bytes"},
            )
        return _with_cost(body, charge)

    async def _run(
        self,
        request: Request,
        media_type: str,
        principal: Principal,
        query: str,
        operation_name: str | None,
        variables: dict[str, Any] | None,
        *,
        reads_only: bool = False,
        document: DocumentNode | None = None,
    ) -> tuple[bytes, int]:
        """The answer's body (without its cost) and status, from the fast path or the executor.
        A query the database could not answer raises `_NothingDone` (answered 503)."""
        stats = current_stats.get()
        with self._operation_span(stats) as span:
            may_read = decide(principal, Action.READ_CATALOG).allowed
            fast = (
                await self._fast_answer(query, variables, operation_name)
                if may_read and reads_only
                else None
            )
            mutated = (
                await self.fast_mutations.answer(
                    query,
                    document,
                    operation_name,
                    variables,
                    partial(self._context_factory, request),
                )
                if self.fast_mutations is not None and document is not None and not reads_only
                else None
            )
            path = (
                "fast"
                if (isinstance(fast, bytes) and not self.verify) or mutated is not None
                else "executor"
            )
            if span is not None:
                span.set_attribute("paved.read_path", path)
            if stats is not None:
                stats.read_path = path
            if isinstance(fast, bytes) and path == "fast":
                return fast, 200
            if mutated is not None:
                payload, status = self._payload(mutated, request, media_type)
            else:
                payload, status = await self._execute(
                    request, media_type, query, operation_name, variables
                )
        if stats is not None:
            stats.error_codes.extend(_codes(payload))
        if reads_only and (down := _outage_in(payload)) is not None:
            raise _NothingDone(down)
        if isinstance(fast, bytes):
            reference = orjson.dumps(payload)
            assert self.fast_reads is not None
            volatile = self.fast_reads.volatile(query, variables, operation_name)
            if not same_json(fast, reference, float_tolerance=1e-3 if volatile else 0.0):
                self._disagree(Disagreement(query, variables, fast, reference))
        elif isinstance(fast, asyncpg.PostgresError) and "errors" not in payload:
            reference = orjson.dumps(payload)
            self._disagree(Disagreement(query, variables, str(fast).encode(), reference))
        return orjson.dumps(payload), status

    def _operation_span(self, stats: RequestStats | None) -> AbstractContextManager[Any]:
        """The operation's span (None without tracing): name, type, and which path answers."""
        if self._tracer is None:
            return nullcontext()
        name = stats.operation_name[:100] if stats and stats.operation_name else None
        kind = (stats.operation_type if stats is not None else None) or "operation"
        return self._tracer.start_as_current_span(
            f"graphql {kind} {name}" if name else f"graphql {kind}",
            attributes={
                "graphql.operation.type": kind,
                **({"graphql.operation.name": name} if name else {}),
            },
        )

    def checked_document(
        self, params: dict[str, Any], principal: Principal
    ) -> tuple[str, str | None, dict[str, Any] | None, Checked]:
        """The document to run, its operation name and variables, checked as every request's
        is (trusted documents, static limits); raises RequestError. Subscriptions, whose
        transports are not this endpoint's, go through it too."""
        operation_name, variables = check_params(params)
        query = self._document_text(params, principal)
        return query, operation_name, variables, self._check(query, operation_name, variables)

    def charge(self, actor: str, cost: int) -> Charge | None:
        """Take `cost` points from `actor`'s rate-limit bucket; raises RequestError (429)."""
        return self._charge(actor, cost)

    def _document_text(self, params: dict[str, Any], principal: Principal) -> str:
        """The query sent, or the trusted document `documentId` names. With trusted
        documents on, only admins may send a query that is not one of them."""
        query = params.get("query")
        document_id = params.get("documentId")
        trusted = self.hardening.trusted_documents
        if document_id is not None:
            if query is not None:
                raise RequestError(400, "send either `query` or `documentId`, not both")
            if not isinstance(document_id, str):
                raise RequestError(400, "`documentId` must be a string")
            text = trusted.text(document_id) if trusted is not None else None
            if text is None:
                raise RequestError(
                    400, "unknown `documentId`: no trusted document has it", ErrorCode.NOT_FOUND
                )
            return text
        if not isinstance(query, str) or not query.strip():
            raise RequestError(400, "`query` must be a non-empty string")
        if trusted is not None and not principal.is_admin and not trusted.trusts(query):
            raise RequestError(
                403,
                "only trusted documents may be run: send the `documentId` of a registered one",
                ErrorCode.FORBIDDEN,
            )
        return query

    def _check(
        self, query: str, operation_name: str | None, variables: dict[str, Any] | None
    ) -> Checked:
        if carries_nul(query, variables):
            raise RequestError(None, nul_characters.MESSAGE, ErrorCode.VALIDATION)
        try:
            return self._checker.check(query, operation_name, variables)
        except QueryRejected as rejected:
            limit = {"limit": rejected.limit} if rejected.limit else None
            raise RequestError(
                None, rejected.message, ErrorCode.VALIDATION, extensions=limit
            ) from None
        except GraphQLSyntaxError as error:
            raise RequestError.from_syntax_error(error) from None

    def _charge(self, actor: str, cost: int) -> Charge | None:
        if self.rate_limiter is None:
            return None
        try:
            return self.rate_limiter.charge(actor, cost)
        except RateLimited as limited:
            _note_rate_limited("points")
            raise RequestError(
                429,
                f"rate limit exceeded: this request costs {limited.requested} points and "
                f"{limited.remaining} remain; retry in {limited.retry_after} s",
                ErrorCode.RATE_LIMITED,
                headers={"Retry-After": str(limited.retry_after)},
                extensions={
                    "cost": {"requested": limited.requested, "remaining": limited.remaining},
                    "retryAfter": limited.retry_after,
                },
            ) from None

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
            if self._outage is not None and self._outage(error) is not None:
                raise  # answered 503: the executor would meet the same outage
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
    ) -> tuple[dict[str, Any], int]:
        """The response payload and status."""
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
                    405, "only queries may be sent with GET; use POST", headers={"Allow": "POST"}
                ) from None
            raise RequestError(
                400, f"{error.operation_type.value} operations are not supported"
            ) from None
        except CannotGetOperationTypeError:
            raise RequestError(400, "no operation matches `operationName`") from None
        return self._payload(result, request, media_type)

    def _payload(
        self, result: ExecutionResult, request: Request, media_type: str
    ) -> tuple[dict[str, Any], int]:
        """The response payload and status of an operation's result."""
        request_error = _is_request_error(result)
        if request_error:
            _note_failure("request_error", ErrorCode.VALIDATION.value)
        status = 400 if request_error and media_type == GRAPHQL_RESPONSE else 200
        payload: dict[str, Any] = {}
        if result.errors:
            payload["errors"] = [
                self._formatted(error, request, request_error=request_error)
                for error in result.errors
            ]
        if not request_error:
            payload["data"] = result.data
        if result.extensions:
            payload["extensions"] = dict(result.extensions)
        return payload, status

    def _formatted(
        self, error: GraphQLError, request: Request, *, request_error: bool
    ) -> dict[str, Any]:
        """The error as sent: internal failures carry the request id (their details were
        logged under it), request errors a code, and production messages no suggestions."""
        formatted: dict[str, Any] = dict(error.formatted)
        if error.original_error is None and error.message == INTERNAL_ERROR:
            formatted.update(self._internal_error(request))
        elif request_error:
            formatted["extensions"] = {
                "code": ErrorCode.VALIDATION.value,
                **(formatted.get("extensions") or {}),
            }
        if self.hardening.hide_suggestions:
            formatted["message"] = _SUGGESTION.sub("", formatted["message"])
        return formatted
