"""What every `paved` command that is a client of /graphql shares: running it with its settings
and HTTP client, refusals as one line each on stderr, JSON and table output, argument types.

A command is `async (api, args) -> exit code`, set as `client_command` on its parser. Where:
`PAVED_API_URL` (or `--api-url`); credential: `PAVED_TOKEN`, sent as a bearer token and never
taken on the command line nor printed."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NoReturn, TypeAlias

import httpx2 as httpx
import orjson
from pydantic import ValidationError

from cli.api_client import DEFAULT_API_URL, Api, ClientSettings, Refused, error_line

Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Transport: TypeAlias = httpx.AsyncBaseTransport
Command: TypeAlias = Callable[[Api, argparse.Namespace], Awaitable[int]]


def print_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


def table(rows: Sequence[Sequence[str]]) -> list[str]:
    """`rows` (the first one the header) in columns as wide as their widest cell."""
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def check_payload(args: argparse.Namespace, payload: dict[str, Any]) -> None:
    """Print the payload as JSON when asked; refuse with its `errors`."""
    if args.json:
        print_json(payload)
    errors = payload.get("errors") or []
    if errors:
        raise Refused(1, *(error_line(error) for error in errors))


def given(**fields: Any) -> dict[str, Any]:
    """An input object of the fields that were given (not None)."""
    return {key: value for key, value in fields.items() if value is not None}


async def run_command(args: argparse.Namespace, transport: Transport | None = None) -> int:
    """Run the parsed client command `args` against the API; `transport` (tests: an
    `httpx.ASGITransport` over the app) replaces the network."""
    command: Command = args.client_command

    async def work(api: Api) -> int:
        return await command(api, args)

    return await client_for(work, args.api_url, transport)


async def client_for(
    work: Callable[[Api], Awaitable[int]], api_url: str | None, transport: Transport | None
) -> int:
    """`work` given a client of the API (`api_url`, else PAVED_API_URL); its refusals as one
    line each on stderr and their exit code."""
    try:
        try:
            settings = ClientSettings(api_url=api_url) if api_url else ClientSettings()
        except ValidationError as error:
            problem = error.errors()[0]
            name = "PAVED_" + "_".join(str(part) for part in problem["loc"]).upper()
            raise Refused(2, f"paved: {name}: {problem['msg']}") from None
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


def blocking(args: argparse.Namespace) -> int:
    """`run` of a client command's parser: the command in its own event loop."""
    try:
        return asyncio.run(run_command(args))
    except KeyboardInterrupt:
        print("paved: interrupted", file=sys.stderr)
        return 130


class OneLineParser(argparse.ArgumentParser):
    """Usage errors as one `paved: ...` line, exit code 2."""

    def error(self, message: str) -> NoReturn:
        print(f"paved: {message}", file=sys.stderr)
        raise SystemExit(2)


def seconds(text: str) -> float:
    """A positive number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, not {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected more than 0 seconds, not {text!r}")
    return value


def page_size(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 100:
        raise argparse.ArgumentTypeError(f"expected 1 to 100, not {text!r}")
    return int(text)


def client_options() -> argparse.ArgumentParser:
    """The options every client command takes (a parent parser)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print the answer as JSON")
    common.add_argument(
        "--api-url", metavar="URL", help=f"the GraphQL endpoint (PAVED_API_URL; {DEFAULT_API_URL})"
    )
    return common


def waiting_options(interval_help: str = "poll every (2)") -> argparse.ArgumentParser:
    """`--interval` and `--timeout` of a command that waits (a parent parser)."""
    waiting = argparse.ArgumentParser(add_help=False)
    waiting.add_argument(
        "--interval", type=seconds, default=2.0, metavar="SECONDS", help=interval_help
    )
    waiting.add_argument(
        "--timeout", type=seconds, default=1800.0, metavar="SECONDS", help="give up after (1800)"
    )
    return waiting
