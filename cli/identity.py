"""`paved whoami`: who the API takes the caller for."""

from __future__ import annotations

from typing import Any

import typer

from cli.api_client import Api
from cli.framework import ApiUrlOption, ClientCall, JsonOption, print_json

VIEWER = (
    "query Whoami { viewer { __typename ... on User { handle name } ... on ApiClient { name } } }"
)


def register(app: typer.Typer) -> None:
    app.command(epilog="Example: paved whoami --json")(whoami)


def whoami(json: JsonOption = False, api_url: ApiUrlOption = None) -> ClientCall:
    """Who the API takes you for (the user or API client of your token)."""

    async def work(api: Api) -> int:
        data = await api(VIEWER)
        if json:
            print_json(data)
            return 0
        viewer: dict[str, Any] | None = data.get("viewer")
        if viewer is None:
            typer.echo("anonymous")
        else:
            name = viewer.get("handle") or viewer.get("name")
            typer.echo(f"{viewer['__typename']} {name}")
        return 0

    return ClientCall(work, api_url)
