"""An agent: the `mcp` SDK's own client over streamable HTTP, and reading its tool results."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2 as httpx
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult

from tests.support.served import Served


def mcp_url(served: Served) -> str:
    return served.url.removesuffix("/graphql") + "/mcp"


@asynccontextmanager
async def agent(
    url: str, secret: str | None = None, *, mode: str = "auto"
) -> AsyncIterator[Client]:
    """The SDK's client over streamable HTTP, sending `secret` as its bearer token (none: the
    local admin, in development); no response cache. `mode="legacy"`: the initialize
    handshake of the protocol's versions before 2026-07-28, as most hosts still speak it."""
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    async with (
        httpx.AsyncClient(headers=headers, timeout=30) as http,
        Client(streamable_http_client(url, http_client=http), cache=None, mode=mode) as client,
    ):
        yield client


def result_of(called: CallToolResult) -> dict[str, Any]:
    """A successful call's structured result (the same JSON as its text)."""
    assert not called.is_error, called.content
    assert isinstance(called.structured_content, dict)
    text = called.content[0]
    assert text.type == "text"
    assert json.loads(text.text) == called.structured_content
    return called.structured_content


def error_text(called: CallToolResult) -> str:
    """A failed call's text: `CODE: message` lines."""
    assert called.is_error, called.structured_content
    text = called.content[0]
    assert text.type == "text"
    return text.text
