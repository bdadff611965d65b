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
    the API is; `settings`, a `ClientSettings`, replaces all of them) and returns the exit
    code."""

    work: Callable[[Any], Awaitable[int]]
    api_url: str | None = None
    settings: Any = None


JsonOption = Annotated[
    bool, typer.Option("--json", help="print exactly the API's data, as JSON (for scripts, jq)")
]
ApiUrlOption = Annotated[
    str | None,
    typer.Option(
        "--api-url", metavar="URL", help="the API's /graphql URL (PAVED_API_URL, `paved login`)"
    ),
]


def sub_app(app: typer.Typer, name: str, help: str) -> typer.Typer:
    """The sub-app of the noun `name` under `app`: the one registered already (several modules
    may add verbs to one noun, such as `audit`), else a new one."""
    for group in app.registered_groups:
        if group.name == name and group.typer_instance is not None:
            return group.typer_instance
    noun = typer.Typer(name=name, help=help, no_args_is_help=True)
    app.add_typer(noun, name=name, help=help)
    return noun


def _given(*values: Any) -> Any:
    """The first value actually given (Typer marks what was not with a placeholder)."""
    for value in values:
        if value is not None and not isinstance(value, typer.models.DefaultPlaceholder):
            return value
    return None


def one_sub_app_per_noun(app: typer.Typer) -> None:
    """Sub-apps of one noun added by several modules (each its own `add_typer`, say `audit
    verify` and `audit list`) become one, with the verbs of all: Typer would keep only the
    last. The sub-apps themselves are left as they are (a module may hold one for good)."""
    by_noun: dict[str, list[typer.models.TyperInfo]] = {}
    for group in app.registered_groups:
        instance = group.typer_instance
        name = _given(group.name, instance.info.name if instance else None)
        by_noun.setdefault(name, []).append(group)
    merged_groups = []
    for name, groups in by_noun.items():
        if name is None or len(groups) == 1:
            merged_groups.extend(groups)
            continue
        instances = [group.typer_instance for group in groups if group.typer_instance]
        help_ = _given(*(group.help for group in groups), *(i.info.help for i in instances))
        merged = typer.Typer(name=name, help=help_, no_args_is_help=True)
        for instance in instances:
            merged.registered_commands.extend(instance.registered_commands)
            merged.registered_groups.extend(instance.registered_groups)
        merged_groups.append(typer.models.TyperInfo(merged, name=name, help=help_))
    app.registered_groups[:] = merged_groups


def example(*commands: str) -> str:
    """The epilog of a command's `--help`: `Example: paved ...` (each on its own line)."""
    if len(commands) == 1:
        return f"Example: {commands[0]}"
    # "\b": Typer (its click) keeps the paragraph's lines as they are.
    return "Examples:\n\n\b\n" + "\n".join(f"  {command}" for command in commands)


def seconds(text: str | float) -> float:
    """A positive number of seconds (an option's parser; Typer parses the default too)."""
    try:
        value = float(text)
    except ValueError:
        raise typer.BadParameter(f"expected a number of seconds, not {text!r}") from None
    if not value > 0:
        raise typer.BadParameter(f"expected more than 0 seconds, not {text!r}")
    return value


def page_size(text: str | int) -> int:
    """1 to 100 (an option's parser; Typer parses the default too)."""
    text = str(text)
    if not text.isdigit() or not 1 <= int(text) <= 100:
        raise typer.BadParameter(f"expected 1 to 100, not {text!r}")
    return int(text)


IntervalOption = Annotated[
    float,
    typer.Option(
        "--interval", parser=seconds, metavar="SECONDS",
        help="poll every SECONDS, when the server offers no subscription stream",
    ),
]  # fmt: skip
TimeoutOption = Annotated[
    float,
    typer.Option("--timeout", parser=seconds, metavar="SECONDS", help="give up waiting after"),
]


def print_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


def parse(app: typer.Typer, argv: Sequence[str]) -> ClientCall | int:
    """What `argv` asks for: a client call to run, or the exit code of a command that ran
    (usage errors, `--help`, and the commands that need no API). A usage error is one line on
    stderr, exit code 2."""
    command = typer.main.get_command(app)
    try:
        result = command.main(list(argv), prog_name="paved", standalone_mode=False)
    except typer.Exit as done:
        return int(done.exit_code)
    except typer.Abort:
        print("paved: interrupted", file=sys.stderr)
        return 130
    except typer.TyperException as error:
        # Typer's own (vendored) click exceptions: usage errors carry exit code 2.
        code = int(getattr(error, "exit_code", ExitCode.REFUSED))
        if type(error).__name__ == "NoArgsIsHelpError":
            # `paved` or `paved NOUN` alone: the help, on stderr, as a usage error.
            print(_message(error), file=sys.stderr)
        elif code == ExitCode.USAGE:
            print(usage_line(error), file=sys.stderr)
        else:
            print(f"paved: {_message(error)}", file=sys.stderr)
        return code
    if isinstance(result, ClientCall):
        return result
    return int(result or 0)


def _message(error: Exception) -> str:
    format_message = getattr(error, "format_message", None)
    return str(format_message() if format_message is not None else error)


def usage_line(error: Exception) -> str:
    """`paved: <what is wrong> (see 'paved <command> --help')`, on one line."""
    message = " ".join(_message(error).split())
    context = getattr(error, "ctx", None)
    if context is not None:
        message += f" (see '{context.command_path} --help')"
    return f"paved: {message}"


def usage_error(message: str, *options: str) -> typer.BadParameter:
    """A bad argument found after parsing: exit 2 with `message` (about `options`), like
    Typer's own."""
    hint = " / ".join(f"'{option}'" for option in options) or None
    return typer.BadParameter(message, param_hint=hint)


async def run_call(call: ClientCall, transport: Transport | None = None) -> int:
    """Run `call` against the API (`transport`, in tests, replaces the network)."""
    from cli.client_commands import client_for

    return await client_for(call.work, call.api_url, transport, call.settings)


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
