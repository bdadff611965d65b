"""`paved serve`, `paved migrate`, `paved schema` and `paved documents hash`: the commands that
run or prepare the API itself (no client of it), and what the operator commands share with
them: the settings, logging, and the database checked before use.

A bad setting, or a database that cannot be used, ends with one line on stderr and exit code 2."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlsplit

import typer

from cli.framework import ExitCode, example, sub_app

# The server's own modules are imported when a command runs: completing a command line, or
# any client command, need not load them.
if TYPE_CHECKING:
    import uvicorn
    from starlette.types import ASGIApp

    from api.settings import Settings


def settings_or_exit(**overrides: Any) -> Settings:
    """The server's settings (`overrides` beat the environment); a bad one ends the command."""
    from pydantic import ValidationError

    from api.settings import Settings, describe_settings_error

    try:
        return Settings(**{key: value for key, value in overrides.items() if value is not None})
    except ValidationError as error:
        print(f"paved: {describe_settings_error(error)}", file=sys.stderr)
        raise SystemExit(ExitCode.USAGE) from None


def _database_problem(url: str, error: BaseException) -> str:
    """One line naming the database (never its password) and what went wrong."""
    parts = urlsplit(url)
    where = f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path}"
    return f"paved: cannot use the database at {where}: {type(error).__name__}: {error}"


def check_database(url: str) -> None:
    """Fail fast, in one line, when DATABASE_URL cannot be connected to."""
    import asyncpg

    # What an unreachable, refusing or misspelt database raises: told in one line.
    errors = (OSError, TimeoutError, ValueError, asyncpg.PostgresError, asyncpg.InterfaceError)

    async def probe() -> None:
        connection = await asyncpg.connect(url, timeout=10)
        await connection.close()

    try:
        asyncio.run(probe())
    except errors as error:
        print(_database_problem(url, error), file=sys.stderr)
        raise SystemExit(ExitCode.USAGE) from None


def configure_logging(settings: Settings) -> None:
    """JSON lines in production, text in development (`PAVED_LOG_FORMAT`)."""
    from api.observability.logs import configure_logging as configure

    configure(settings.log_level, json=settings.json_logs)


def operator_settings() -> Settings:
    """The settings (and logging) of a command that works on the database, checked first."""
    settings = settings_or_exit()
    configure_logging(settings)
    if settings.database_url:
        check_database(settings.database_url)
    return settings


def server_config(app: ASGIApp, settings: Settings) -> uvicorn.Config:
    """How `paved serve` runs `app` (tests serve theirs the same way)."""
    import uvicorn

    from api.http_protocol import CoalescingHttpProtocol

    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http=CoalescingHttpProtocol,
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


def serve(
    host: Annotated[
        str | None, typer.Option("--host", metavar="ADDRESS", help="address to bind (PAVED_HOST)")
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", metavar="PORT", help="port to bind (PAVED_PORT)")
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", metavar="DIR", help="embedded database folder (PAVED_DATA_DIR)"),
    ] = None,
    no_demo: Annotated[bool, typer.Option("--no-demo", help="never load the demo data")] = False,
) -> int:
    """Serve the GraphQL API (and the portal)."""
    from api.app import create_app
    from api.bootstrap import MISSING_PUBLIC_URL, MISSING_WEBHOOK_KEY
    from api.server import PavedServer

    settings = settings_or_exit(
        host=host, port=port, data_dir=data_dir, demo=False if no_demo else None
    )
    configure_logging(settings)
    if settings.production and settings.webhook_encryption_key is None:
        print(f"paved: {MISSING_WEBHOOK_KEY}", file=sys.stderr)
        return ExitCode.USAGE
    if settings.production and settings.login_enabled and settings.public_url is None:
        print(f"paved: {MISSING_PUBLIC_URL}", file=sys.stderr)
        return ExitCode.USAGE
    if settings.database_url:
        check_database(settings.database_url)
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
    return ExitCode.OK


def migrate() -> int:
    """Apply the database migrations to DATABASE_URL."""
    from api.bootstrap import migrate as apply

    settings = settings_or_exit()
    configure_logging(settings)
    if not settings.database_url:
        print("paved: set DATABASE_URL to the database to migrate", file=sys.stderr)
        return ExitCode.USAGE
    check_database(settings.database_url)
    applied = asyncio.run(apply(settings.database_url))
    print(f"applied {len(applied)} migration(s)" + (f": {', '.join(applied)}" if applied else ""))
    return ExitCode.OK


def schema() -> int:
    """Print the GraphQL schema (SDL)."""
    from schema.build import schema_sdl

    sys.stdout.write(schema_sdl())
    return ExitCode.OK


def documents_hash(
    files: Annotated[list[Path], typer.Argument(metavar="FILE...", help="GraphQL documents")],
) -> int:
    """Print the PAVED_TRUSTED_DOCUMENTS map of these documents."""
    import orjson

    from api.trusted_documents import manifest

    try:
        documents = manifest(files)
    except (OSError, UnicodeDecodeError) as error:
        print(f"paved: {error}", file=sys.stderr)
        return ExitCode.USAGE
    sys.stdout.write(orjson.dumps(documents, option=orjson.OPT_INDENT_2).decode() + "\n")
    return ExitCode.OK


def register(app: typer.Typer) -> None:
    """Add serve, migrate, schema and `documents hash` to the root `paved` app."""
    app.command(epilog=example("paved serve --port 8000 --no-demo"))(serve)
    app.command(epilog=example("DATABASE_URL=postgresql://paved@db/paved paved migrate"))(migrate)
    app.command(epilog=example("paved schema > schema/schema.graphql"))(schema)
    documents = sub_app(app, "documents", "Trusted documents (persisted queries).")
    documents.command(
        "hash", epilog=example("paved documents hash queries/*.graphql > trusted.json")
    )(documents_hash)
