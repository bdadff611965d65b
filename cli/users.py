"""`paved users list|show|create|update`, through /graphql."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.api_client import Api
from cli.catalog_common import (
    PAGE_FIELDS,
    AllOption,
    LimitOption,
    given,
    listing,
    look_up,
    mutate,
    mutation,
    slugs,
    sub_app,
    wanted_rows,
)
from cli.framework import ApiUrlOption, ClientCall, JsonOption, print_json, usage_error
from cli.output import show_fields, show_table

USER_FIELDS = "id handle name email version teams { slug }"

USERS = f"""
query Users($search: String, $first: Int, $after: String) {{
  users(search: $search, first: $first, after: $after) {{
    {PAGE_FIELDS}
    nodes {{ handle name email teams {{ slug }} }}
  }}
}}
"""

USER = f"query User($handle: String!) {{ user(handle: $handle) {{ {USER_FIELDS} }} }}"

CREATE_USER = mutation("createUser", f"user {{ {USER_FIELDS} }}")
UPDATE_USER = mutation("updateUser", f"user {{ {USER_FIELDS} }}")

app = sub_app("users", "Users: list, show, create, change.")

Handle = Annotated[str, typer.Argument(metavar="HANDLE", help="the user's handle")]


def _show(user: dict[str, Any]) -> None:
    show_fields(
        [
            ("handle", user["handle"]),
            ("name", user["name"]),
            ("email", user["email"]),
            ("teams", slugs(user["teams"]) or None),
            ("version", user["version"]),
        ]
    )


@app.command("list", epilog="Example: paved users list --search ana")
def list_users(
    search: Annotated[
        str | None, typer.Option("--search", metavar="TEXT", help="in handles, names, emails")
    ] = None,
    limit: LimitOption = None,
    every: AllOption = False,
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """List users, by handle."""
    wanted = wanted_rows(limit, every)

    async def work(api: Api) -> int:
        data = await listing(api, USERS, "users", wanted, search=search)
        if json:
            print_json(data)
            return 0
        show_table(
            ["HANDLE", "NAME", "EMAIL", "TEAMS"],
            [
                [u["handle"], u["name"], u["email"], slugs(u["teams"])]
                for u in data["users"]["nodes"]
            ],
        )
        return 0

    return ClientCall(work, api_url)


@app.command(epilog="Example: paved users show ana")
def show(handle: Handle, json: JsonOption = False, api_url: ApiUrlOption = None) -> ClientCall:
    """Show a user and their teams."""

    async def work(api: Api) -> int:
        user = await look_up(api, USER, "user", "user", handle, json=json, handle=handle)
        if not json:
            _show(user)
        return 0

    return ClientCall(work, api_url)


@app.command(epilog="Example: paved users create ana --name 'Ana Lima' --email ana@example.com")
def create(
    handle: Handle,
    name: Annotated[str, typer.Option("--name", metavar="NAME")],
    email: Annotated[str, typer.Option("--email", metavar="EMAIL")],
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """Create a user."""
    input_ = {"handle": handle, "name": name, "email": email}

    async def work(api: Api) -> int:
        payload = await mutate(api, CREATE_USER, "createUser", input_, json=json)
        if not json:
            _show(payload["user"])
        return 0

    return ClientCall(work, api_url)


@app.command(epilog="Example: paved users update ana --email ana.lima@example.com")
def update(
    handle: Handle,
    expected_version: Annotated[
        int | None,
        typer.Option("--expected-version", metavar="N", help="refuse (CONFLICT) unless at N"),
    ] = None,
    name: Annotated[str | None, typer.Option("--name", metavar="NAME")] = None,
    email: Annotated[str | None, typer.Option("--email", metavar="EMAIL")] = None,
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """Change a user's name or email."""
    changes = given(name=name, email=email)
    if not changes:
        raise usage_error("nothing to change: give --name or --email")
    input_ = given(user=handle, expectedVersion=expected_version, **changes)

    async def work(api: Api) -> int:
        payload = await mutate(api, UPDATE_USER, "updateUser", input_, json=json)
        if not json:
            _show(payload["user"])
        return 0

    return ClientCall(work, api_url)


def register(root: typer.Typer) -> None:
    root.add_typer(app)
