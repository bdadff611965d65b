"""Running the API-client commands of `paved` in the test's event loop, over the in-process
app, and reading what they printed."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx2 as httpx
import pytest
from starlette.applications import Starlette

from cli import main as paved_cli

Runner = Callable[[Sequence[str], httpx.AsyncBaseTransport], Awaitable[int]]


async def _paved(argv: Sequence[str], transport: httpx.AsyncBaseTransport) -> int:
    return await paved_cli.run(argv, transport=transport)


class Paved:
    """Runs `paved ...` in the test's event loop, over the in-process app (`cli.main.run`, or
    `run`)."""

    def __init__(
        self, app: Starlette, capsys: pytest.CaptureFixture[str], run: Runner = _paved
    ) -> None:
        self.app = app
        self.capsys = capsys
        self.run = run
        self.transcript: list[str] = []
        """Everything any command printed on stdout, in order, commands run meanwhile too."""

    def read(self) -> tuple[str, str]:
        out, err = self.capsys.readouterr()
        self.transcript.append(out)
        return out, err

    async def __call__(self, *argv: str) -> tuple[int, str, str]:
        self.read()
        code = await self.run(argv, httpx.ASGITransport(app=self.app))
        out, err = self.read()
        return code, out, err

    async def json(self, *argv: str) -> Any:
        code, out, err = await self(*argv, "--json")
        assert (code, err) == (0, ""), (code, out, err)
        return json.loads(out)

    async def json_stream(self, *argv: str) -> list[Any]:
        """The JSON documents a `--json --wait` command printed one after the other."""
        code, out, err = await self(*argv, "--json")
        assert (code, err) == (0, ""), (code, out, err)
        return json_documents(out)


def json_documents(out: str) -> list[Any]:
    """The JSON documents printed one after the other."""
    decoder, documents, at = json.JSONDecoder(), [], 0
    while out[at:].strip():
        document, end = decoder.raw_decode(out, at)
        documents.append(document)
        at = end + (len(out[end:]) - len(out[end:].lstrip()))
    return documents
