"""`paved`: the Typer root. Each module adds its commands (`register`); `main` runs the command
in its own event loop, `run` in the caller's (the tests'), over a transport of its choosing.

Exit codes (`cli.framework.ExitCode`, README "The CLI"): 0 done; 1 refused; 2 usage; 3 the API
cannot be reached; 4 the credential was refused."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

import typer

from cli import (
    access,
    audit_log,
    backstage,
    deployment_reports,
    deployments,
    environments,
    framework,
    identity,
    login,
    raw_query,
    resource_classes,
    resource_reviews,
    resources,
    server,
    services,
    teams,
    templates,
    tokens,
    users,
    webhooks,
)
from cli.server import server_config

__all__ = ["main", "run", "server_config", "typer_app"]


def typer_app() -> typer.Typer:
    """The `paved` commands (one sub-app per noun), as `parse` runs them."""
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
    framework.one_sub_app_per_noun(app)
    return app


_TYPER_COMMANDS: list[Callable[[typer.Typer], None]] = [
    server.register,
    access.register,
    login.register,
    identity.register,
    tokens.register,
    deployments.register,
    resources.register,
    services.register,
    teams.register,
    users.register,
    environments.register,
    audit_log.register,
    raw_query.register,
    webhooks.register,
    resource_classes.register,
    templates.register,
    deployment_reports.register,
    resource_reviews.register,
    backstage.register,
]
"""Each adds its noun's sub-app (or commands) to the root `paved` app."""


async def run(argv: Sequence[str], transport: framework.Transport | None = None) -> int:
    """`paved argv...` in the running event loop (the tests'), `transport` replacing the
    network."""
    return await framework.run(typer_app(), argv, transport)


def main(argv: list[str] | None = None) -> int:
    return framework.main(typer_app(), sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    raise SystemExit(main())
