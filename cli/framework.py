"""What every `paved` command built on Typer shares.

A command that is a client of /graphql does not talk to the network while its arguments are
parsed: its Typer function returns a `ClientCall` (the async work, given an `Api`), and the
caller runs it: `main()` in its own event loop, the tests (`run`) in theirs, over an in-process
transport. A command that needs nothing from the API (serve, migrate, schema) returns its exit
code as an int.

Exit codes (README, "The CLI"): 0 done; 1 the API refused (a `UserError`, a GraphQL error);
2 usage (a bad argument or option, a bad setting); 3 the API cannot be reached or answers
nonsense; 4 authentication (no token, a token refused with 401/403)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Annotated, Any

import httpx2 as httpx
import orjson
import typer

Transport = httpx.AsyncBaseTransport


class ExitCode(IntEnum):
    OK = 0
    REFUSED = 1
    USAGE = 2
    UNREACHABLE = 3
    UNAUTHENTICATED = 4


@dataclass(frozen=True, slots=True)
class ClientCall:
    """A parsed client command: `work` runs it against the API (`api_url` overrides where
    the API is) and returns the exit code."""

    work: Callable[[Any], Awaitable[int]]
    api_url: str | None = None


JsonOption = Annotated[
    bool, typer.Option("--json", help="print exactly the API's data, as JSON (for scripts, jq)")
]
ApiUrlOption = Annotated[
    str | None,
    typer.Option(
        "--api-url", metavar="URL", help="the API's /graphql URL (PAVED_API_URL, `paved login`)"
    ),
]


def print_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


def usage_error(message: str) -> typer.BadParameter:
    """A bad argument found after parsing: exit 2 with `message`, like Typer's own."""
    return typer.BadParameter(message)


def parse(app: typer.Typer, argv: Sequence[str]) -> ClientCall | int:
    """What `argv` asks for: a client call to run, or the exit code of a command that ran
    (usage errors, `--help`, and the commands that need no API)."""
    command = typer.main.get_command(app)
    try:
        result = command.main(list(argv), prog_name="paved", standalone_mode=False)
    except typer.Exit as done:
        return int(done.exit_code)
    except typer.TyperException as error:
        show = getattr(error, "show", None)
        if show is not None:
            show()
        else:
            print(f"paved: {error}", file=sys.stderr)
        return int(getattr(error, "exit_code", ExitCode.USAGE))
    except typer.Abort:
        print("paved: interrupted", file=sys.stderr)
        return 130
    if isinstance(result, ClientCall):
        return result
    return int(result or 0)


async def run_call(call: ClientCall, transport: Transport | None = None) -> int:
    """Run `call` against the API (`transport`, in tests, replaces the network)."""
    from cli.client_commands import client_for

    return await client_for(call.work, call.api_url, transport)


async def run(app: typer.Typer, argv: Sequence[str], transport: Transport | None = None) -> int:
    """`paved argv...` in a running event loop (the tests')."""
    parsed = parse(app, argv)
    if isinstance(parsed, ClientCall):
        return await run_call(parsed, transport)
    return parsed


def main(app: typer.Typer, argv: Sequence[str]) -> int:
    """`paved argv...` in an event loop of its own; Ctrl-C ends it with one line."""
    parsed = parse(app, argv)
    if not isinstance(parsed, ClientCall):
        return parsed
    call = parsed
    try:
        return asyncio.run(run_call(call))
    except KeyboardInterrupt:
        print("paved: interrupted", file=sys.stderr)
        return 130
