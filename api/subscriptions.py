"""What both subscription transports (WebSocket, SSE) share: the same checks as a query's
before anything is subscribed, the per-actor limit, the subscriber's context, the shape of
each result, and ending every open subscription at shutdown.

Refusals happen in this order, all before any SQL: the credential (by the caller), the
document (trusted documents, size, depth, aliases, node estimate, introspection), the
operation type (only subscriptions), the rate limit, the per-actor limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import DocumentNode, GraphQLError, OperationType, validate
from strawberry import Schema
from strawberry.types.execution import ExecutionResult

from api.authentication import Authenticator
from api.graphql_http import GraphQLEndpoint
from api.http_requests import RequestError
from api.observability.subscription_metrics import SubscriptionMetrics
from api.shared_subscriptions import Broadcast, shareable
from api.web_sessions import SessionCredential, WebSessions
from domain.access.model import LOCAL_ADMIN, Principal
from domain.access.sessions import secret_hash
from domain.errors import ErrorCode
from domain.events.model import ORIGIN
from resolvers.context import Context, Ports
from resolvers.event_feed import StreamPosition
from schema.build import INTERNAL_ERROR

log = logging.getLogger(__name__)

_VALIDATED_CACHE_SIZE = 1024


def actor_key(principal: Principal, address: str | None) -> str:
    """Whose subscriptions are counted together: the actor, or for the local admin (no
    credential, development only) its client address."""
    if principal.actor_id is not None:
        return f"{principal.kind}:{principal.actor_id}"
    return f"{principal.kind}@{address or 'unknown'}"


@dataclass(slots=True)
class Subscriber:
    """Who subscribes, as a transport found out."""

    principal: Principal
    authorization: str | None
    """The credential as sent, checked again while the subscription runs."""
    address: str | None
    request_id: str | None = None
    resume_after: str | None = None
    session: SessionCredential | None = None
    """The browser session the subscriber acts through (then `authorization` is None),
    checked again while the subscription runs, as a credential is."""
    transport: str = "websocket"
    """`websocket` or `sse`, for the metrics."""

    @property
    def credential_key(self) -> str:
        """Which credential this is, for sharing checks and executions: the header as sent,
        or the hash of the session's id."""
        if self.session is not None:
            return "session:" + secret_hash(self.session.secret).hex()
        return self.authorization or ""


@dataclass(slots=True)
class Running:
    """A subscription started: its results, as JSON-ready payloads, and its position."""

    results: AsyncGenerator[dict[str, Any], None]
    stream: StreamPosition
    release: Callable[[], Awaitable[None]]

    async def begin(self) -> asyncio.Future[dict[str, Any]]:
        """Start reading the results; returns once the subscription receives live events
        (or has failed or ended already), so that a transport can tell its client that
        nothing committed from then on is missed. The future is the first result."""
        first = asyncio.ensure_future(anext(self.results))
        subscribed = asyncio.ensure_future(self.stream.subscribed.wait())
        try:
            await asyncio.wait((first, subscribed), return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            # Canceled (the client left): the results are still being read, and `end` can
            # close them only once that read has stopped.
            first.cancel()
            with contextlib.suppress(BaseException):
                await first
            raise
        finally:
            subscribed.cancel()
        return first

    async def end(self, pending: asyncio.Future[dict[str, Any]] | None) -> None:
        """Stop reading (cancelling a result still awaited) and give the place back."""
        if pending is not None and not pending.done():
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending
        await self.results.aclose()
        await self.release()


class Subscriptions:
    def __init__(
        self,
        schema: Schema,
        endpoint: GraphQLEndpoint,
        ports: Ports,
        authenticator: Authenticator,
        *,
        sessions: WebSessions | None = None,
        per_actor: int,
        per_connection: int,
        keepalive_seconds: float,
        queue_size: int = 1_000,
        metrics: SubscriptionMetrics | None = None,
    ) -> None:
        self._schema = schema
        self.metrics = metrics
        """Where subscriptions and WebSocket connections are counted (None: metrics off)."""
        self._endpoint = endpoint
        self._ports = ports
        self.authenticator = authenticator
        self.sessions = sessions
        """Browser sessions, when signing in is on (a WebSocket may act through one)."""
        self.per_actor = per_actor
        self.per_connection = per_connection
        self.keepalive_seconds = keepalive_seconds
        self.max_message_bytes = endpoint.hardening.max_body_bytes
        """A WebSocket message is held to the size of a request body."""
        self.open_per_actor: Counter[str] = Counter()
        """Open subscriptions by `actor_key`."""
        self.closing = asyncio.Event()
        """Set at shutdown: every transport ends its subscriptions."""
        self._transports: set[asyncio.Task[Any]] = set()
        self._checks: dict[str, asyncio.Future[Principal]] = {}
        self._valid: dict[str, GraphQLError | None] = {}
        self._broadcasts: dict[tuple[Any, ...], Broadcast] = {}
        self.queue_size = queue_size
        """Results a member of a shared subscription may have waiting before it is dropped."""

    @contextlib.asynccontextmanager
    async def transport(self) -> AsyncIterator[None]:
        """Around a WebSocket connection or an SSE stream: shutdown waits for it to end."""
        task = asyncio.current_task()
        assert task is not None
        self._transports.add(task)
        try:
            yield
        finally:
            self._transports.discard(task)

    async def close_all(self, grace_seconds: float = 2.0) -> None:
        """Ask every transport to end its subscriptions (WebSockets close with 1001, SSE
        streams send `complete`) and wait, at most `grace_seconds`, for them to do so."""
        self.closing.set()
        pending = [task for task in self._transports if not task.done()]
        if pending:
            await asyncio.wait(pending, timeout=grace_seconds)

    async def start(self, params: dict[str, Any], subscriber: Subscriber) -> Running:
        """Check and start the subscription `params` (query, variables...) asks for; raises
        RequestError for anything refused. Counted in the metrics either way."""
        named = params.get("operationName")
        names = [named if isinstance(named, str) else None]
        metrics, transport = self.metrics, subscriber.transport
        try:
            running = await self._start(params, subscriber, names)
        except RequestError as refused:
            if metrics is not None:
                metrics.asked(names[-1], transport, str(refused.error["extensions"]["code"]))
            raise
        except Exception:
            if metrics is not None:
                metrics.asked(names[-1], transport, ErrorCode.INTERNAL.value)
            raise
        if metrics is None:
            return running
        metrics.asked(names[-1], transport, None)
        metrics.opened(transport)
        release = running.release
        closed = False

        async def release_and_count() -> None:
            nonlocal closed
            if not closed:
                closed = True
                metrics.closed(transport)
            await release()

        running.release = release_and_count
        return running

    async def _start(
        self, params: dict[str, Any], subscriber: Subscriber, names: list[str | None]
    ) -> Running:
        """`start`; the operation's name, once known, is appended to `names`."""
        principal = subscriber.principal
        query, operation_name, variables, checked = self._endpoint.checked_document(
            params, principal
        )
        operation = checked.operation
        if operation is not None and operation.name is not None:
            names.append(operation.name.value)
        if operation is None:
            raise RequestError(400, "no single operation to run: name one with `operationName`")
        if operation.operation is not OperationType.SUBSCRIPTION:
            raise RequestError(
                400,
                f"only subscriptions are served here; send {operation.operation.value} "
                "operations over HTTP (POST /graphql with application/json)",
            )
        invalid = self._invalid(query, checked.document)
        if invalid is not None:
            refused = RequestError(400, invalid.message, ErrorCode.VALIDATION)
            refused.error = formatted(invalid, subscriber.request_id)
            raise refused
        actor = actor_key(principal, subscriber.address)
        self._endpoint.charge(actor, max(checked.nodes, 1))
        if self.open_per_actor[actor] >= self.per_actor:
            raise RequestError(
                429,
                f"you have {self.per_actor} subscriptions open, the limit; end one first",
                ErrorCode.RATE_LIMITED,
                extensions={"limit": "max_subscriptions_per_actor"},
            )
        self.open_per_actor[actor] += 1
        released = False

        async def release() -> None:
            nonlocal released
            if not released:
                released = True
                self.open_per_actor[actor] -= 1
                if self.open_per_actor[actor] <= 0:
                    del self.open_per_actor[actor]

        try:
            if subscriber.resume_after is None and shareable(operation):
                key = (query, operation_name, orjson.dumps(variables, option=orjson.OPT_SORT_KEYS),
                       subscriber.credential_key, actor)  # fmt: skip
                return await self._shared(
                    key, query, variables, operation_name, subscriber, release
                )
            stream = StreamPosition(resume_after=subscriber.resume_after)
            results = await self._subscribed(query, variables, operation_name, subscriber, stream)
        except BaseException:
            await release()
            raise
        return Running(results, stream, release)

    async def _subscribed(
        self,
        query: str,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        subscriber: Subscriber,
        stream: StreamPosition,
    ) -> AsyncGenerator[dict[str, Any], None]:
        context = self._context(subscriber, stream)
        result = await self._schema.subscribe(
            query, variables, context_value=context, operation_name=operation_name
        )
        if isinstance(result, ExecutionResult):
            raise _refused(result)
        return self._payloads(result, subscriber)

    async def _shared(
        self,
        key: tuple[Any, ...],
        query: str,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        subscriber: Subscriber,
        release: Callable[[], Awaitable[None]],
    ) -> Running:
        """A member of the broadcast of this exact subscription (started if there is none):
        one execution per event for all of them."""
        broadcast = self._broadcasts.get(key)
        if broadcast is None or broadcast.finished:
            stream = StreamPosition()
            results = await self._subscribed(query, variables, operation_name, subscriber, stream)
            broadcast = Broadcast(results, stream, lambda ended: self._forget(key, ended))
            self._broadcasts[key] = broadcast
        feed = self._ports.feed
        member = broadcast.join(feed.position if feed is not None else ORIGIN, self.queue_size)
        joined = broadcast

        async def leave_and_release() -> None:
            # Also for a member whose results were never read (their generator's `finally`
            # runs only once started).
            await joined.leave(member)
            await release()

        return Running(member.results(), member.stream, leave_and_release)

    @property
    def broadcasts(self) -> int:
        """Shared subscriptions running (each executes once per event for all members)."""
        return len(self._broadcasts)

    def _forget(self, key: tuple[Any, ...], ended: Broadcast) -> None:
        if self._broadcasts.get(key) is ended:
            del self._broadcasts[key]

    def _invalid(self, query: str, document: DocumentNode) -> GraphQLError | None:
        """The first error of a document that does not validate against the schema
        (remembered per text): refused before it is subscribed, like a request error."""
        if query not in self._valid:
            errors = validate(self._schema._schema, document)
            if len(self._valid) >= _VALIDATED_CACHE_SIZE:
                self._valid.clear()
            self._valid[query] = errors[0] if errors else None
        return self._valid[query]

    def _context(self, subscriber: Subscriber, stream: StreamPosition) -> Context:
        context = Context.for_request(self._ports, subscriber.principal, subscriber.request_id)
        context.stream = stream
        if subscriber.principal is not LOCAL_ADMIN:
            authorization, session = subscriber.authorization, subscriber.session
            key = subscriber.credential_key
            context.reauthenticate = lambda: self._recheck(key, authorization, session)
        return context

    async def _recheck(
        self, key: str, authorization: str | None, session: SessionCredential | None
    ) -> Principal:
        """Who the credential (`authorization` or `session`) stands for now. The subscribers
        that share one are woken by the same events at the same moment: they share one check
        (one lookup)."""
        pending = self._checks.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._principal(authorization, session))
            self._checks[key] = pending
            pending.add_done_callback(lambda _: self._checks.pop(key, None))
        return await asyncio.shield(pending)

    async def _principal(
        self, authorization: str | None, session: SessionCredential | None
    ) -> Principal:
        if session is not None and self.sessions is not None:
            return await self.sessions.principal(session)
        return await self.authenticator.principal(authorization)

    async def _payloads(
        self, results: AsyncGenerator[ExecutionResult, None], subscriber: Subscriber
    ) -> AsyncGenerator[dict[str, Any], None]:
        try:
            async for result in results:
                yield payload(result, subscriber.request_id)
        finally:
            await results.aclose()


def _refused(result: ExecutionResult) -> RequestError:
    """A document that did not validate, or whose variables did not fit."""
    errors = [formatted(error, None) for error in result.errors or ()]
    refused = RequestError(400, errors[0]["message"] if errors else "refused", ErrorCode.VALIDATION)
    refused.error = errors[0] if errors else refused.error
    return refused


def formatted(error: GraphQLError, request_id: str | None) -> dict[str, Any]:
    shown: dict[str, Any] = dict(error.formatted)
    if error.original_error is None and error.message == INTERNAL_ERROR:
        shown["extensions"] = {"code": ErrorCode.INTERNAL.value, "requestId": request_id}
    elif not shown.get("extensions", {}).get("code"):
        shown["extensions"] = {"code": ErrorCode.VALIDATION.value, **shown.get("extensions", {})}
    return shown


def payload(result: ExecutionResult, request_id: str | None) -> dict[str, Any]:
    """One result as sent: `data`, and `errors` when there are any."""
    sent: dict[str, Any] = {"data": result.data}
    if result.errors:
        sent["errors"] = [formatted(error, request_id) for error in result.errors]
    return sent


def ends_stream(sent: dict[str, Any]) -> bool:
    """Whether a result says the subscription failed (no data, only errors): nothing follows."""
    return sent.get("data") is None and bool(sent.get("errors"))
