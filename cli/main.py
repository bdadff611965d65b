"""The `paved` command: serve the API, apply migrations, print the schema, administer access."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import asyncpg
import typer
from pydantic import ValidationError

from api.settings import Settings, describe_settings_error
from cli import framework, identity
from cli.access import Command, add_access_commands
from cli.deployments import add_deploy_commands
from cli.resources import add_resource_commands

if TYPE_CHECKING:
    import uvicorn
    from starlette.types import ASGIApp


def _settings(**overrides: Any) -> Settings:
    try:
        return Settings(**{key: value for key, value in overrides.items() if value is not None})
    except ValidationError as error:
        print(f"paved: {describe_settings_error(error)}", file=sys.stderr)
        raise SystemExit(2) from None


_DATABASE_ERRORS = (
    OSError, TimeoutError, ValueError, asyncpg.PostgresError, asyncpg.InterfaceError,
)  # fmt: skip
"""What an unreachable, refusing or misspelt database raises: told in one line."""


def _database_problem(url: str, error: BaseException) -> str:
    """One line naming the database (never its password) and what went wrong."""
    parts = urlsplit(url)
    where = f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path}"
    return f"paved: cannot use the database at {where}: {type(error).__name__}: {error}"


def _check_database(url: str) -> None:
    """Fail fast, in one line, when DATABASE_URL cannot be connected to."""

    async def probe() -> None:
        connection = await asyncpg.connect(url, timeout=10)
        await connection.close()

    try:
        asyncio.run(probe())
    except _DATABASE_ERRORS as error:
        print(_database_problem(url, error), file=sys.stderr)
        raise SystemExit(2) from None


def _configure_logging(settings: Settings) -> None:
    from api.observability.logs import configure_logging

    configure_logging(settings.log_level, json=settings.json_logs)


def server_config(app: ASGIApp, settings: Settings) -> uvicorn.Config:
    """How `paved serve` runs `app` (tests serve theirs the same way)."""
    import uvicorn

    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        log_level=settings.log_level,
        access_log=False,
        # JSON logs: uvicorn's own records go through the root handler, one JSON line each.
        log_config=None if settings.json_logs else uvicorn.config.LOGGING_CONFIG,
        # SIGTERM: stop accepting, give in-flight requests this long; then the lifespan's
        # shutdown releases what this replica holds (rollout leases).
        timeout_graceful_shutdown=settings.shutdown_seconds,
        ws_max_size=settings.max_body_bytes,
    )


def serve(args: argparse.Namespace) -> int:

    from api.app import create_app
    from api.bootstrap import MISSING_PUBLIC_URL, MISSING_WEBHOOK_KEY
    from api.server import PavedServer

    settings = _settings(
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        demo=False if args.no_demo else None,
    )
    _configure_logging(settings)
    if settings.production and settings.webhook_encryption_key is None:
        print(f"paved: {MISSING_WEBHOOK_KEY}", file=sys.stderr)
        return 2
    if settings.production and settings.login_enabled and settings.public_url is None:
        print(f"paved: {MISSING_PUBLIC_URL}", file=sys.stderr)
        return 2
    if settings.database_url:
        _check_database(settings.database_url)
    if not settings.production and settings.graphiql_enabled:
        logging.getLogger("paved").info(
            "GraphiQL at http://%s:%s/graphql", settings.host, settings.port
        )
    app = create_app(settings, tune_gc=True)
    config = server_config(app, settings)
    # Ctrl-C: uvicorn shuts down (the database stopped) and then re-raises the signal it
    # caught; end quietly, as `uvicorn.run` does, instead of with a traceback.
    with contextlib.suppress(KeyboardInterrupt):
        PavedServer(config, app).run()
    return 0


def migrate(_: argparse.Namespace) -> int:
    from api.bootstrap import migrate as apply

    settings = _settings()
    _configure_logging(settings)
    if not settings.database_url:
        print("paved: set DATABASE_URL to the database to migrate", file=sys.stderr)
        return 2
    _check_database(settings.database_url)
    applied = asyncio.run(apply(settings.database_url))
    print(f"applied {len(applied)} migration(s)" + (f": {', '.join(applied)}" if applied else ""))
    return 0


def _with_settings(command: Command) -> Callable[[argparse.Namespace], int]:
    """A command that works on the database, given the settings (and logging) it needs."""

    def run(args: argparse.Namespace) -> int:
        settings = _settings()
        _configure_logging(settings)
        if settings.database_url:
            _check_database(settings.database_url)
        return command(args, settings)

    return run


def schema(_: argparse.Namespace) -> int:
    from schema.build import schema_sdl

    sys.stdout.write(schema_sdl())
    return 0


def documents_hash(args: argparse.Namespace) -> int:
    import orjson

    from api.trusted_documents import manifest

    try:
        documents = manifest(args.files)
    except (OSError, UnicodeDecodeError) as error:
        print(f"paved: {error}", file=sys.stderr)
        return 2
    sys.stdout.write(orjson.dumps(documents, option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0


def typer_app() -> typer.Typer:
    """The `paved` commands built on Typer (one sub-app per noun), as `parse` runs them."""
    app = typer.Typer(
        name="paved",
        help="Paved Road: the platform API, and a client of it.",
        no_args_is_help=True,
        rich_markup_mode=None,
        pretty_exceptions_enable=False,
    )

    @app.callback()
    def paved() -> None:
        """Paved Road: the platform API, and a client of it."""

    for register in _TYPER_COMMANDS:
        register(app)
    return app


_TYPER_COMMANDS: list[Callable[[typer.Typer], None]] = [identity.register]
"""Each adds its noun's sub-app (or commands) to the root `paved` app."""


def _argparse_commands() -> frozenset[str]:
    """The commands not yet ported to Typer, run by `legacy_main`."""
    parser = _legacy_parser()
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return frozenset(actions[0].choices)


async def run(argv: Sequence[str], transport: framework.Transport | None = None) -> int:
    """`paved argv...` in the running event loop (the tests'), `transport` replacing the
    network."""
    if argv and argv[0] in _argparse_commands():
        from cli.client_commands import run_command

        args = _legacy_parser().parse_args(list(argv))
        if getattr(args, "client_command", None) is not None:
            return await run_command(args, transport)
        code: int = args.run(args)
        return code
    return await framework.run(typer_app(), argv, transport)


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if arguments and arguments[0] in _argparse_commands():
        return legacy_main(arguments)
    return framework.main(typer_app(), arguments)


def _legacy_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="paved", description="Paved Road platform API")
    commands = parser.add_subparsers(dest="command", required=True)

    serve_parser = commands.add_parser("serve", help="serve the GraphQL API")
    serve_parser.add_argument("--host", help="address to bind (PAVED_HOST)")
    serve_parser.add_argument("--port", type=int, help="port to bind (PAVED_PORT)")
    serve_parser.add_argument(
        "--data-dir", type=Path, help="embedded database folder (PAVED_DATA_DIR)"
    )
    serve_parser.add_argument("--no-demo", action="store_true", help="never load the demo data")
    serve_parser.set_defaults(run=serve)

    commands.add_parser("migrate", help="apply migrations to DATABASE_URL").set_defaults(
        run=migrate
    )
    commands.add_parser("schema", help="print the GraphQL schema (SDL)").set_defaults(run=schema)
    documents = commands.add_parser("documents", help="trusted documents").add_subparsers(
        dest="action", required=True
    )
    hash_parser = documents.add_parser(
        "hash", help="print the PAVED_TRUSTED_DOCUMENTS map of these documents"
    )
    hash_parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
    hash_parser.set_defaults(run=documents_hash)
    add_access_commands(commands, _with_settings)
    add_deploy_commands(commands)
    add_resource_commands(commands)
    return parser


def legacy_main(argv: list[str]) -> int:
    parser = _legacy_parser()
    args = parser.parse_args(argv)
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
