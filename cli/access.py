"""`paved token create`, `paved user create`, `paved audit verify`: access administration
straight on the database (DATABASE_URL, else the embedded server under PAVED_DATA_DIR),
after applying migrations. Bad input ends with one line on stderr and exit code 2."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import NoReturn, TypeAlias, TypeVar

import asyncpg

from api.settings import Settings
from domain.access.model import Scope
from domain.access.ports import VerifyResult
from domain.access.token_lifetimes import token_expiry
from domain.catalog.records import UserRecord
from domain.errors import CatalogError

T = TypeVar("T")
Command: TypeAlias = Callable[[argparse.Namespace, Settings], int]
Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

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


@asynccontextmanager
async def _database(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    from api.bootstrap import database_url, migrate
    from providers.postgres.database import create_pool

    async with database_url(settings) as dsn:
        await migrate(dsn)
        pool = await create_pool(dsn, min_size=1, max_size=2)
        try:
            yield pool
        finally:
            await pool.close()


def _run(settings: Settings, work: Callable[[asyncpg.Pool], Awaitable[T]]) -> T:
    async def run() -> T:
        async with _database(settings) as pool:
            return await work(pool)

    return asyncio.run(run())


def _refused(error: CatalogError) -> int:
    print(f"paved: {error.message}", file=sys.stderr)
    return 2


def create_token(args: argparse.Namespace, settings: Settings) -> int:
    from providers.postgres.access_store import PostgresAccessStore

    now = datetime.now(UTC)
    try:
        expires_at = token_expiry(
            now + args.expires if args.expires is not None else None,
            now=now,
            max_days=settings.max_token_days,
        )
    except CatalogError as error:
        return _refused(error)

    async def work(pool: asyncpg.Pool) -> str:
        _, secret = await PostgresAccessStore(pool).create_token(
            user_handle=args.user,
            client_slug=args.client,
            name=args.name,
            scopes=[Scope(scope) for scope in args.scope],
            expires_at=expires_at,
        )
        return secret

    try:
        secret = _run(settings, work)
    except CatalogError as error:
        return _refused(error)
    print(secret)
    return 0


def create_user(args: argparse.Namespace, settings: Settings) -> int:
    from providers.postgres.access_store import PostgresAccessStore
    from resolvers import validation as v

    # The user rules want a dot in the domain, so not plain `@localhost`.
    email = args.email if args.email is not None else f"{args.handle}@localhost.localdomain"
    try:
        model = v.validate(v.CreateUser, {"handle": args.handle, "name": args.name, "email": email})
    except v.InvalidInput as invalid:
        return _refused(invalid.errors[0])

    async def work(pool: asyncpg.Pool) -> UserRecord:
        store = PostgresAccessStore(pool)
        return await store.create_user(model.handle, model.name, model.email, args.admin)

    try:
        _run(settings, work)
    except CatalogError as error:
        return _refused(error)
    role = "administrator" if args.admin else "user"
    print(f"created {role} '{model.handle}'")
    return 0


def verify_audit_log(_: argparse.Namespace, settings: Settings) -> int:
    from providers.postgres.audit_log import PostgresAuditLog

    async def work(pool: asyncpg.Pool) -> VerifyResult:
        return await PostgresAuditLog(pool).verify()

    result = _run(settings, work)
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
