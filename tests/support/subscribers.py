"""Real subscription clients: graphql-transport-ws over `websockets`, GraphQL over SSE over
httpx streaming."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx2 as httpx
from websockets.asyncio.client import ClientConnection, connect

WAIT = 10.0
"""The longest any test waits for a message (it normally comes in milliseconds)."""


class WsClient:
    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self._early: list[dict[str, Any]] = []

    async def send(self, message: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(message))

    async def receive(self) -> dict[str, Any]:
        """The next message other than a ping (answered)."""
        if self._early:
            return self._early.pop(0)
        return await self._next_message()

    async def _next_message(self) -> dict[str, Any]:
        while True:
            raw = await asyncio.wait_for(self.connection.recv(), WAIT)
            message: dict[str, Any] = json.loads(raw)
            if message["type"] == "ping":
                await self.send({"type": "pong"})
                continue
            return message

    async def subscribe(
        self, operation_id: str, query: str, variables: dict[str, Any] | None = None
    ) -> None:
        """Subscribe, and return once the server handled it: it handles messages in order,
        so its `pong` to a later `ping` says the subscription receives events (or failed:
        its `error` is the next message received)."""
        await self.subscribe_with(operation_id, {"query": query, "variables": variables or {}})

    async def subscribe_with(self, operation_id: str, payload: dict[str, Any]) -> None:
        """`subscribe` with this payload (`documentId`...)."""
        await self.send({"id": operation_id, "type": "subscribe", "payload": payload})
        await self.send({"type": "ping"})
        while (message := await self._next_message())["type"] != "pong":
            self._early.append(message)

    async def next_payload(self, operation_id: str = "1") -> dict[str, Any]:
        message = await self.receive()
        assert message.get("id") == operation_id, message
        assert message["type"] == "next", message
        payload: dict[str, Any] = message["payload"]
        return payload


@asynccontextmanager
async def ws_client(url: str, authorization: str | None = None) -> AsyncIterator[WsClient]:
    """A graphql-transport-ws connection, initialised (acknowledged)."""
    async with connect(url, subprotocols=["graphql-transport-ws"]) as connection:  # type: ignore[list-item]
        client = WsClient(connection)
        payload = {"authorization": authorization} if authorization else {}
        await client.send({"type": "connection_init", "payload": payload})
        assert (await client.receive())["type"] == "connection_ack"
        yield client


@dataclass
class SseEvent:
    event: str
    data: str
    id: str | None = None

    @property
    def payload(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.data)
        return parsed


@dataclass
class SseStream:
    response: httpx.Response
    _lines: AsyncIterator[str] = field(init=False)

    def __post_init__(self) -> None:
        self._lines = self.response.aiter_lines()

    async def next_event(self) -> SseEvent:
        """The next event (comments skipped)."""
        return await asyncio.wait_for(self._read(), WAIT)

    async def _read(self) -> SseEvent:
        fields: dict[str, str] = {}
        async for line in self._lines:
            if line == "":
                if fields:
                    return SseEvent(fields.get("event", "message"), fields.get("data", ""),
                                    fields.get("id"))  # fmt: skip
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            fields[name] = f"{fields[name]}\n{value}" if name in fields else value
        raise EOFError("the stream ended")


@asynccontextmanager
async def sse_stream(
    http: httpx.AsyncClient,
    url: str,
    query: str,
    variables: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> AsyncIterator[SseStream]:
    """A GraphQL-over-SSE subscription ("distinct connections": one per request)."""
    async with http.stream(
        "POST",
        url,
        json={"query": query, "variables": variables or {}},
        headers={"Accept": "text/event-stream", **(headers or {})},
        timeout=httpx.Timeout(WAIT, read=None),
    ) as response:
        yield SseStream(response)
