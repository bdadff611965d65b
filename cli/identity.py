"""`paved whoami`: who the API takes the caller for (with the token of PAVED_TOKEN, else the
one `paved login` stored)."""

from __future__ import annotations

from typing import Any

import typer

from cli.api_client import Api
from cli.framework import ApiUrlOption, ClientCall, JsonOption, example, print_json

VIEWER = (
    "query Whoami { viewer { __typename name ... on User { handle } ... on ApiClient { slug } } }"
)


def describe_viewer(viewer: dict[str, Any] | None) -> str:
    """`User ana`, `ApiClient ci-bot`, `LocalAdmin local admin`, or `anonymous`."""
    if viewer is None:
        return "anonymous"
    name = viewer.get("handle") or viewer.get("slug") or viewer.get("name")
    return f"{viewer['__typename']} {name}"


def register(app: typer.Typer) -> None:
    app.command(epilog=example("paved whoami", "paved whoami --json"))(whoami)


def whoami(json: JsonOption = False, api_url: ApiUrlOption = None) -> ClientCall:
    """Who the API takes you for (the user or API client of your token)."""

    async def work(api: Api) -> int:
        data = await api(VIEWER)
        if json:
            print_json(data)
            return 0
        typer.echo(describe_viewer(data.get("viewer")))
        return 0

    return ClientCall(work, api_url)
