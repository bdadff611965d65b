"""`paved teams list|show|create|update|delete|add-member|remove-member`, through /graphql."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.api_client import Api
from cli.catalog_common import (
    PAGE_FIELDS,
    AllOption,
    LimitOption,
    clear_option,
    cleared,
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

TEAM_FIELDS = "id slug name description version parent { slug } children { slug }"

TEAMS = f"""
query Teams($search: String, $first: Int, $after: String) {{
  teams(search: $search, first: $first, after: $after) {{
    {PAGE_FIELDS}
    nodes {{ slug name parent {{ slug }} members {{ totalCount }} }}
  }}
}}
"""

TEAM = f"""
query Team($slug: String!) {{
  team(slug: $slug) {{
    {TEAM_FIELDS}
    members(first: 100) {{ totalCount nodes {{ handle name }} }}
    services(first: 100) {{ totalCount nodes {{ slug }} }}
  }}
}}
"""

CREATE_TEAM = mutation("createTeam", f"team {{ {TEAM_FIELDS} }}")
UPDATE_TEAM = mutation("updateTeam", f"team {{ {TEAM_FIELDS} }}")
DELETE_TEAM = mutation("deleteTeam", "deletedId")
ADD_TEAM_MEMBER = mutation("addTeamMember", "team { slug } user { handle teams { slug } }")
REMOVE_TEAM_MEMBER = mutation("removeTeamMember", "team { slug } user { handle teams { slug } }")

app = sub_app("teams", "Teams: list, show, create, change, delete; their members.")

Slug = Annotated[str, typer.Argument(metavar="SLUG", help="the team's slug")]
Description = Annotated[str | None, typer.Option("--description", metavar="TEXT")]
Parent = Annotated[
    str | None, typer.Option("--parent", metavar="TEAM", help="the team it is part of")
]
ExpectedVersion = Annotated[
    int | None,
    typer.Option("--expected-version", metavar="N", help="refuse (CONFLICT) unless at version N"),
]
UserOption = Annotated[str, typer.Option("--user", metavar="HANDLE", help="the user's handle")]


CLEARABLE: dict[str, tuple[str, Any]] = {
    "description": ("description", None),
    "parent": ("parent", None),
}


def _show(team: dict[str, Any]) -> None:
    fields: list[tuple[str, Any]] = [
        ("slug", team["slug"]),
        ("name", team["name"]),
        ("description", team["description"]),
        ("parent", (team["parent"] or {}).get("slug")),
        ("children", slugs(team["children"]) or None),
    ]
    if "members" in team:
        members = team["members"]
        fields.append(("members", f"{members['totalCount']}: {slugs(members['nodes'], 'handle')}"))
        services = team["services"]
        fields.append(("services", f"{services['totalCount']}: {slugs(services['nodes'])}"))
    fields.append(("version", team["version"]))
    show_fields(fields)


@app.command("list", epilog="Example: paved teams list --search pay")
def list_teams(
    search: Annotated[
        str | None, typer.Option("--search", metavar="TEXT", help="in slugs and names")
    ] = None,
    limit: LimitOption = None,
    every: AllOption = False,
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """List teams, by slug."""
    wanted = wanted_rows(limit, every)

    async def work(api: Api) -> int:
        data = await listing(api, TEAMS, "teams", wanted, search=search)
        if json:
            print_json(data)
            return 0
        show_table(
            ["SLUG", "NAME", "PARENT", "MEMBERS"],
            [
                [t["slug"], t["name"], (t["parent"] or {}).get("slug"), t["members"]["totalCount"]]
                for t in data["teams"]["nodes"]
            ],
        )
        return 0

    return ClientCall(work, api_url)


@app.command(epilog="Example: paved teams show payments")
def show(slug: Slug, json: JsonOption = False, api_url: ApiUrlOption = None) -> ClientCall:
    """Show a team: its parent, sub-teams, members and services."""

    async def work(api: Api) -> int:
        team = await look_up(api, TEAM, "team", "team", slug, json=json, slug=slug)
        if not json:
            _show(team)
        return 0

    return ClientCall(work, api_url)


@app.command(epilog="Example: paved teams create payments --name Payments --parent commerce")
def create(
    slug: Slug,
    name: Annotated[str, typer.Option("--name", metavar="NAME", help="its display name")],
    description: Description = None,
    parent: Parent = None,
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """Create a team."""
    input_ = given(slug=slug, name=name, description=description, parent=parent)

    async def work(api: Api) -> int:
        payload = await mutate(api, CREATE_TEAM, "createTeam", input_, json=json)
        if not json:
            _show(payload["team"])
        return 0

    return ClientCall(work, api_url)


@app.command(epilog="Example: paved teams update payments --name 'Payments & Billing'")
def update(
    slug: Slug,
    expected_version: ExpectedVersion = None,
    name: Annotated[str | None, typer.Option("--name", metavar="NAME")] = None,
    description: Description = None,
    parent: Parent = None,
    clear: Annotated[list[str] | None, clear_option(CLEARABLE)] = None,
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """Change a team's fields (those given; --clear parent makes it a top-level team)."""
    changes = given(name=name, description=description, parent=parent)
    changes |= cleared(clear, CLEARABLE, changes)
    if not changes:
        raise usage_error("nothing to change: give at least one field (see --help)")
    input_ = given(team=slug, expectedVersion=expected_version) | changes

    async def work(api: Api) -> int:
        payload = await mutate(api, UPDATE_TEAM, "updateTeam", input_, json=json)
        if not json:
            _show(payload["team"])
        return 0

    return ClientCall(work, api_url)


@app.command(epilog="Example: paved teams delete old-team")
def delete(
    slug: Slug,
    expected_version: ExpectedVersion = None,
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """Delete a team (one that owns nothing)."""
    input_ = given(team=slug, expectedVersion=expected_version)

    async def work(api: Api) -> int:
        await mutate(api, DELETE_TEAM, "deleteTeam", input_, json=json)
        if not json:
            typer.echo(f"deleted team {slug}")
        return 0

    return ClientCall(work, api_url)


@app.command("add-member", epilog="Example: paved teams add-member payments --user ana")
def add_member(
    slug: Slug, user: UserOption, json: JsonOption = False, api_url: ApiUrlOption = None
) -> ClientCall:
    """Make a user a member of a team."""
    return _membership(ADD_TEAM_MEMBER, "addTeamMember", slug, user, json, api_url)


@app.command("remove-member", epilog="Example: paved teams remove-member payments --user ana")
def remove_member(
    slug: Slug, user: UserOption, json: JsonOption = False, api_url: ApiUrlOption = None
) -> ClientCall:
    """Remove a user from a team."""
    return _membership(REMOVE_TEAM_MEMBER, "removeTeamMember", slug, user, json, api_url)


def _membership(
    document: str, field: str, team: str, user: str, json: bool, api_url: str | None
) -> ClientCall:
    async def work(api: Api) -> int:
        payload = await mutate(api, document, field, {"team": team, "user": user}, json=json)
        if not json:
            member = payload["user"]
            typer.echo(f"{member['handle']} is in: {slugs(member['teams']) or '-'}")
        return 0

    return ClientCall(work, api_url)


def register(root: typer.Typer) -> None:
    root.add_typer(app)
