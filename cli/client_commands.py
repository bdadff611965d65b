"""What every `paved` command that is a client of /graphql shares: running it with its settings
and HTTP client, refusals as one line each on stderr, JSON output, input objects.

Where: `--api-url`, else `PAVED_API_URL`, else the URL `paved login` stored; credential:
`PAVED_TOKEN`, else the token `paved login` stored (only sent to its own URL), sent as a
bearer token and never taken on the command line nor printed."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

import httpx2 as httpx
from pydantic import ValidationError

from cli.api_client import Api, ClientSettings, Refused, error_line
from cli.framework import ExitCode, print_json

Transport: TypeAlias = httpx.AsyncBaseTransport

__all__ = ["Following", "Transport", "check_payload", "client_for", "given", "print_json"]


@dataclass(frozen=True, slots=True)
class Following:
    """How a command that waits prints and polls: `--json`, `--interval`, `--timeout`."""

    json: bool = False
    interval: float = 2.0
    timeout: float = 1800.0


def check_payload(json: bool, payload: dict[str, Any]) -> None:
    """Print the payload as JSON when asked; refuse with its `errors`."""
    if json:
        print_json(payload)
    errors = payload.get("errors") or []
    if errors:
        raise Refused(ExitCode.REFUSED, *(error_line(error) for error in errors))


def given(**fields: Any) -> dict[str, Any]:
    """An input object of the fields that were given (not None)."""
    return {key: value for key, value in fields.items() if value is not None}


def client_settings(api_url: str | None = None) -> ClientSettings:
    """The client's settings (`api_url` first); a bad one refused as a usage error."""
    try:
        return ClientSettings(api_url=api_url) if api_url else ClientSettings()
    except ValidationError as error:
        problem = error.errors()[0]
        name = "PAVED_" + "_".join(str(part) for part in problem["loc"]).upper()
        raise Refused(ExitCode.USAGE, f"paved: {name}: {problem['msg']}") from None


async def client_for(
    work: Callable[[Api], Awaitable[int]],
    api_url: str | None,
    transport: Transport | None,
    settings: ClientSettings | None = None,
) -> int:
    """`work` given a client of the API (`settings`, else those of `api_url`); its refusals
    as one line each on stderr and their exit code."""
    try:
        if settings is None:
            settings = client_settings(api_url)
        headers = {"User-Agent": "paved-cli"}
        if settings.token is not None:
            headers["Authorization"] = f"Bearer {settings.token.get_secret_value()}"
        async with httpx.AsyncClient(
            transport=transport, headers=headers, timeout=httpx.Timeout(30.0)
        ) as http:
            return await work(Api(http, settings.api_url))
    except Refused as refused:
        sys.stdout.flush()
        for line in refused.lines:
            print(line, file=sys.stderr)
        return refused.code
