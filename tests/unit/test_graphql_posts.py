"""A POST answered straight by the endpoint goes out exactly as Starlette's `Response` would
send the same answer, and only `POST /graphql` is taken that way."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.responses import Response

from api.graphql_http import Answer
from api.graphql_posts import GraphQLPosts, _send

ANSWERS = [
    Answer(b'{"data":{"a":1}}', 200, "application/json"),
    Answer(b'{"errors":[]}', 400, "application/graphql-response+json"),
    Answer(b'{"errors":[]}', 429, "application/json", {"Retry-After": "1"}),
    Answer(b'{"errors":[]}', 503, "application/graphql-response+json", {"Retry-After": "1"}),
    Answer(b'{"errors":[]}', 405, "application/json", {"Allow": "POST"}),
]


async def sent(app: Any) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        messages.append(message)

    async def receive() -> Any:
        raise AssertionError("nothing is read")

    await app({"type": "http", "method": "POST", "path": "/graphql"}, receive, send)
    return messages


@pytest.mark.parametrize("answer", ANSWERS, ids=[str(a.status) for a in ANSWERS])
async def test_an_answer_is_sent_as_starlette_would_send_it(answer: Answer) -> None:
    response = Response(
        answer.body, status_code=answer.status, media_type=answer.media_type, headers=answer.headers
    )

    async def direct(scope: Any, receive: Any, send: Any) -> None:
        await _send(answer, send)

    assert await sent(direct) == await sent(response)


@pytest.mark.parametrize(
    ("method", "path", "accept"),
    [
        ("GET", "/graphql", b"application/json"),
        ("POST", "/mcp", b"application/json"),
        ("POST", "/graphql/assets/x.js", b"*/*"),
        ("POST", "/graphql", b"text/event-stream"),
    ],
)
async def test_anything_else_takes_the_ordinary_way(method: str, path: str, accept: bytes) -> None:
    passed: list[str] = []

    async def ordinary(scope: Any, receive: Any, send: Any) -> None:
        passed.append(scope["path"])

    def never(*_: Any) -> Any:
        raise AssertionError("not asked")

    posts = GraphQLPosts(ordinary, endpoint=never, authenticator=never, sessions=never)
    scope = {"type": "http", "method": method, "path": path, "headers": [(b"accept", accept)]}
    await posts(scope, never, never)
    assert passed == [path]
