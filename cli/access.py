"""`paved token create`, `paved user create`, `paved audit verify`: access administration
from the server's terminal, on its database (DATABASE_URL, else the embedded server under
PAVED_DATA_DIR) after applying migrations.

The commands act as the local operator, who has the local admin's full rights, through the
same ports (`api.bootstrap`) and use cases as the GraphQL mutations: the same rules, the same
refusals, and an audit record of every attempt. Bad input, and input the use case refuses, end
with one line on stderr and exit code 2."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from cli.framework import ExitCode, example, sub_app, usage_error
from cli.server import operator_settings
from domain.access.model import LOCAL_ADMIN, Scope
from domain.errors import CatalogError

if TYPE_CHECKING:
    from api.settings import Settings
    from resolvers.context import Context

T = TypeVar("T")

LOCAL_OPERATOR = dataclasses.replace(LOCAL_ADMIN, name="local operator")
"""Whoever runs `paved` at the server's terminal: the actor of these commands' audit records."""

_EXPIRY = re.compile(r"([1-9][0-9]{0,5})([dhm])")
_EXPIRY_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def expiry(text: str) -> timedelta:
    """`30d`, `12h` or `45m`."""
    found = _EXPIRY.fullmatch(text)
    if found is None:
        raise typer.BadParameter(f"expected a duration such as 30d, 12h or 45m, not {text!r}")
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
    return ExitCode.USAGE


def create_token(
    scope: Annotated[
        list[Scope], typer.Option("--scope", help="a scope of the token; repeat for more")
    ],
    user: Annotated[
        str | None, typer.Option("--user", metavar="HANDLE", help="the user the token acts for")
    ] = None,
    client: Annotated[
        str | None,
        typer.Option("--client", metavar="SLUG", help="the API client the token acts for"),
    ] = None,
    name: Annotated[str, typer.Option("--name", help="what the token is for")] = "cli",
    expires: Annotated[
        timedelta | None,
        typer.Option(
            "--expires", parser=expiry, metavar="DURATION", help="lifetime such as 30d, 12h or 45m"
        ),
    ] = None,
) -> int:
    """Create an API token for a user or an API client and print it (only it) on stdout."""
    from resolvers.access_mutations import create_api_token

    if (user is None) == (client is None):
        raise usage_error("give exactly one of them", "--user", "--client")
    settings = operator_settings()
    data: dict[str, Any] = {
        "user" if user is not None else "client": user or client,
        "name": name,
        "scopes": list(scope),
    }
    if expires is not None:
        data["expiresAt"] = datetime.now(UTC) + expires
    outcome = _as_operator(settings, lambda context: create_api_token(context, data))
    if outcome.value is None:
        return _refused(outcome.errors)
    _, secret = outcome.value
    print(secret)
    return ExitCode.OK


def create_user(
    handle: Annotated[str, typer.Option("--handle", help="the user's handle")],
    name: Annotated[str, typer.Option("--name", help="the user's name")],
    email: Annotated[
        str | None, typer.Option("--email", help="default: HANDLE@localhost.localdomain")
    ] = None,
    admin: Annotated[bool, typer.Option("--admin", help="make the user an administrator")] = False,
) -> int:
    """Create a user (an administrator with --admin)."""
    from resolvers.administrators import grant_administrator
    from resolvers.catalog_mutations import create_user as create

    settings = operator_settings()
    # The user rules want a dot in the domain, so not plain `@localhost`.
    data = {
        "handle": handle,
        "name": name,
        "email": email if email is not None else f"{handle}@localhost.localdomain",
    }

    async def work(context: Context) -> list[CatalogError]:
        created = await create(context, data)
        if created.value is None or not admin:
            return created.errors
        granted = await grant_administrator(context, {"user": created.value.handle})
        return granted.errors

    errors = _as_operator(settings, work)
    if errors:
        return _refused(errors)
    print(f"created {'administrator' if admin else 'user'} '{handle}'")
    return ExitCode.OK


STALE_UNSEALED = timedelta(seconds=5)
"""Unsealed records older than this mean no sealer is keeping up: verify fails."""


def verify_audit_log(
    expect_head: Annotated[
        str | None,
        typer.Option(
            "--expect-head",
            metavar="SEQ:HASH[:SIG]",
            help="a seal the sealer logged earlier (`audit seal ...`): the chain must still "
            "reach it with that hash (the signature is checked with PAVED_AUDIT_SEAL_KEY)",
        ),
    ] = None,
    no_seal: Annotated[
        bool,
        typer.Option(
            "--no-seal",
            help="only read: report the records waiting to be sealed instead of sealing them",
        ),
    ] = False,
) -> int:
    """Check the audit log's hash chain (exit 1 if it is broken). Records committed but not
    sealed yet are sealed first, as the server's sealer would (unless --no-seal)."""
    from domain.audit.seals import parse_expected, signed_by

    expected = None
    if expect_head is not None:
        try:
            expected = parse_expected(expect_head)
        except ValueError as error:
            raise usage_error(str(error), "--expect-head") from None
    settings = operator_settings()
    if expected is not None and expected.signature is not None:
        key = settings.audit_seal_key
        if key is None:
            raise usage_error("checking its signature needs PAVED_AUDIT_SEAL_KEY", "--expect-head")
        if not signed_by(expected, key.get_secret_value().encode()):
            print("the expected head's signature is not the seal key's: no sealer logged it")
            return 1
    result = _as_operator(
        settings, lambda context: context.audit.verify(expected, seal_first=not no_seal)
    )
    if result.reason is not None:
        where = "" if result.broken_id is None else f" at record {result.broken_id}"
        print(
            f"audit log broken{where}: {result.reason}"
            f" ({result.checked} record(s) before it verified)"
        )
        return 1
    print(f"audit log intact: {result.checked} record(s) verified")
    if expected is not None and result.head is not None:
        print(
            f"the expected head {expected.seq} is in the chain; its head now: {result.head.token}"
        )
    if result.unsealed and result.oldest_unsealed is not None:
        waited = datetime.now(UTC) - result.oldest_unsealed
        print(
            f"{result.unsealed} record(s) not sealed yet, the oldest appended"
            f" {waited.total_seconds():.1f} s ago"
        )
        if waited > STALE_UNSEALED:
            print("records wait longer than a sealer should take: is a server running?")
            return 1
    return ExitCode.OK


def register(app: typer.Typer) -> None:
    """Add `token create`, `user create` and `audit verify` to the root `paved` app."""
    token = sub_app(app, "token", "API tokens, made at the server's terminal (its database).")
    token.command(
        "create",
        epilog=example(
            "paved token create --user ada --scope read --scope deploy --expires 30d",
            "paved token create --client ci-bot --scope deploy --name ci",
        ),
    )(create_token)
    user = sub_app(app, "user", "Users, made at the server's terminal (its database).")
    user.command("create", epilog=example("paved user create --handle root --name Root --admin"))(
        create_user
    )
    audit = sub_app(app, "audit", "The audit log.")
    audit.command(
        "verify",
        epilog=example(
            "paved audit verify",
            "paved audit verify --expect-head"
            " \"$(grep -o 'audit seal [0-9a-f:]*' server.log | tail -1 | cut -d' ' -f3)\"",
        ),
    )(verify_audit_log)
