"""`POST /graphql` handed straight to the GraphQL endpoint, the way the app's routes would
hand it: the credential admitted as `AuthenticationMiddleware` admits it, the answer the
endpoint's own. What it leaves out is the machinery between the two for the one request
every client sends most: Starlette's exception middleware, router, request-response wrapper
and `Response` object. Everything else (`/mcp`, GET, event streams, other paths) takes the
ordinary way."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from api.authentication import Authenticator, admit
from api.graphql_http import Answer, GraphQLEndpoint
from api.graphql_sse import EVENT_STREAM
from api.web_sessions import WebSessions


class GraphQLPosts:
    def __init__(
        self,
        app: ASGIApp,
        endpoint: Callable[[], GraphQLEndpoint | None],
        authenticator: Callable[[], Authenticator | None],
        sessions: Callable[[], WebSessions | None],
    ) -> None:
        self._app = app
        self._endpoint = endpoint
        self._authenticator = authenticator
        self._sessions = sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"] != "/graphql"
            or _wants_event_stream(scope)
        ):
            await self._app(scope, receive, send)
            return
        endpoint = self._endpoint()
        authenticator = self._authenticator()
        if endpoint is None or authenticator is None:  # before start-up completes
            await self._app(scope, receive, send)
            return
        if not await admit(scope, send, authenticator, self._sessions()):
            return
        await _send(await endpoint.answer(Request(scope, receive)), send)


def _wants_event_stream(scope: Scope) -> bool:
    for key, value in scope["headers"]:
        if key == b"accept":
            return EVENT_STREAM in value.decode("latin-1").lower()
    return False


async def _send(answer: Answer, send: Send) -> None:
    """As Starlette's `Response` sends it: the answer's own headers, then its length and type."""
    headers = [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in (answer.headers or {}).items()
    ]
    headers.append((b"content-length", str(len(answer.body)).encode("latin-1")))
    headers.append((b"content-type", answer.media_type.encode("latin-1")))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})
