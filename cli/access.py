"""`paved token create`, `paved user create`, `paved audit verify`: access administration
from the server's terminal, on its database (DATABASE_URL, else the embedded server under
PAVED_DATA_DIR) after applying migrations.

The commands act as the local operator, who has the local admin's full rights, through the
same ports (`api.bootstrap`) and use cases as the GraphQL mutations: the same rules, the same
refusals, and an audit record of every attempt. Bad input ends with one line on stderr and
exit code 2."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import re
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, NoReturn, TypeAlias, TypeVar

from api.settings import Settings
from domain.access.model import LOCAL_ADMIN, Scope
from domain.errors import CatalogError

if TYPE_CHECKING:
    from resolvers.context import Context

T = TypeVar("T")
Command: TypeAlias = Callable[[argparse.Namespace, Settings], int]
Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

LOCAL_OPERATOR = dataclasses.replace(LOCAL_ADMIN, name="local operator")
"""Whoever runs `paved` at the server's terminal: the actor of these commands' audit records."""

_EXPIRY = re.compile(r"([1-9][0-9]{0,5})([dhm])")
_EXPIRY_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        print(f"paved: {message}", file=sys.stderr)
        raise SystemExit(2)


def expiry(text: str) -> timedelta:
    """`30d`, `12h` or `45m`."""
    found = _EXPIRY.fullmatch(text)
    if found is None:
        raise argparse.ArgumentTypeError(
            f"expected a duration such as 30d, 12h or 45m, not {text!r}"
        )
    return timedelta(**{_EXPIRY_UNITS[found.group(2)]: int(found.group(1))})


def _as_operator(settings: Settings, work: Callable[[Context], Awaitable[T]]) -> T:
    """`work` done by the local operator, on the server's ports."""
    from api.bootstrap import command_ports
    from resolvers.context import Context

    async def run() -> T:
        async with command_ports(settings) as ports:
            return await work(Context.for_request(ports, LOCAL_OPERATOR))

    return asyncio.run(run())


def _refused(errors: Sequence[CatalogError]) -> int:
    print(f"paved: {'; '.join(error.message for error in errors)}", file=sys.stderr)
    return 2


def create_token(args: argparse.Namespace, settings: Settings) -> int:
    from resolvers.access_mutations import create_api_token

    data: dict[str, Any] = {
        "user" if args.user is not None else "client": args.user or args.client,
        "name": args.name,
        "scopes": [Scope(scope) for scope in args.scope],
    }
    if args.expires is not None:
        data["expiresAt"] = datetime.now(UTC) + args.expires
    outcome = _as_operator(settings, lambda context: create_api_token(context, data))
    if outcome.value is None:
        return _refused(outcome.errors)
    _, secret = outcome.value
    print(secret)
    return 0


def create_user(args: argparse.Namespace, settings: Settings) -> int:
    from resolvers.administrators import grant_administrator
    from resolvers.catalog_mutations import create_user as create

    # The user rules want a dot in the domain, so not plain `@localhost`.
    email = args.email if args.email is not None else f"{args.handle}@localhost.localdomain"
    data = {"handle": args.handle, "name": args.name, "email": email}

    async def work(context: Context) -> list[CatalogError]:
        created = await create(context, data)
        if created.value is None or not args.admin:
            return created.errors
        granted = await grant_administrator(context, {"user": created.value.handle})
        return granted.errors

    errors = _as_operator(settings, work)
    if errors:
        return _refused(errors)
    role = "administrator" if args.admin else "user"
    print(f"created {role} '{args.handle}'")
    return 0


def verify_audit_log(_: argparse.Namespace, settings: Settings) -> int:
    result = _as_operator(settings, lambda context: context.audit.verify())
    if result.intact:
        print(f"audit log intact: {result.checked} record(s) verified")
        return 0
    print(
        f"audit log broken at record {result.broken_id}: {result.reason}"
        f" ({result.checked} record(s) before it verified)"
    )
    return 1


def add_access_commands(
    commands: Subcommands, run: Callable[[Command], Callable[[argparse.Namespace], int]]
) -> None:
    """Add `token`, `user` and `audit` to the `paved` subcommands; `run` turns a command
    that takes the arguments and the settings into one that takes the arguments."""
    token = commands.add_parser("token", help="API tokens").add_subparsers(
        dest="action", required=True, parser_class=_OneLineParser
    )
    create = token.add_parser("create", help="create a token and print it (only it) on stdout")
    owner = create.add_mutually_exclusive_group(required=True)
    owner.add_argument("--user", metavar="HANDLE", help="the user the token acts for")
    owner.add_argument("--client", metavar="SLUG", help="the API client the token acts for")
    create.add_argument(
        "--scope",
        action="append",
        required=True,
        choices=[scope.value for scope in Scope],
        help="a scope of the token; repeat for more",
    )
    create.add_argument("--name", default="cli", help="what the token is for (default: cli)")
    create.add_argument(
        "--expires", type=expiry, metavar="DURATION", help="lifetime such as 30d, 12h or 45m"
    )
    create.set_defaults(run=run(create_token))

    user = commands.add_parser("user", help="users").add_subparsers(
        dest="action", required=True, parser_class=_OneLineParser
    )
    create = user.add_parser("create", help="create a user")
    create.add_argument("--handle", required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--email", help="default: HANDLE@localhost.localdomain")
    create.add_argument("--admin", action="store_true", help="make the user an administrator")
    create.set_defaults(run=run(create_user))

    audit = commands.add_parser("audit", help="the audit log").add_subparsers(
        dest="action", required=True, parser_class=_OneLineParser
    )
    verify = audit.add_parser("verify", help="check the audit log's hash chain (exit 1 if broken)")
    verify.set_defaults(run=run(verify_audit_log))
