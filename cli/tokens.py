"""`paved tokens list | create | revoke` and `paved clients list | create | delete`: API tokens
and API clients, as a client of the GraphQL API (`createApiToken`, `revokeApiToken`,
`createApiClient`, `deleteApiClient`; `User.tokens` and `Team.apiClients` to list them).

`paved tokens create` prints the new token's secret, and only it, on stdout (the API shows it
once): `export PAVED_TOKEN=$(paved tokens create --scope read)`. The operator's
`paved token create` makes one on the server's database instead, without the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer

from cli.access import expiry
from cli.api_client import Api, Refused
from cli.client_commands import check_payload, given
from cli.framework import (
    ApiUrlOption,
    ClientCall,
    ExitCode,
    JsonOption,
    example,
    print_json,
    sub_app,
    usage_error,
)
from cli.output import show_table
from domain.access.model import Scope

ERRORS = "errors { code message path }"
TOKEN_FIELDS = "id name prefix scopes expiresAt lastUsedAt revokedAt createdAt"  # noqa: S105 (fields)
CLIENT_FIELDS = "id slug name team { slug }"
PAGE_SIZE = 100

MY_TOKENS = f"""
query MyTokens {{
  viewer {{ __typename name ... on User {{ handle tokens {{ {TOKEN_FIELDS} }} }} }}
}}
"""
USER_TOKENS = f"""
query UserTokens($handle: String!) {{
  user(handle: $handle) {{ handle tokens {{ {TOKEN_FIELDS} }} }}
}}
"""
MY_HANDLE = "query MyHandle { viewer { __typename name ... on User { handle } } }"
CREATE_TOKEN = f"""
mutation CreateApiToken($input: CreateApiTokenInput!) {{
  createApiToken(input: $input) {{ token {{ {TOKEN_FIELDS} }} secret {ERRORS} }}
}}
"""
REVOKE_TOKEN = f"""
mutation RevokeApiToken($input: RevokeApiTokenInput!) {{
  revokeApiToken(input: $input) {{ token {{ {TOKEN_FIELDS} }} {ERRORS} }}
}}
"""
TEAM_CLIENTS = f"""
query TeamClients($team: String!) {{
  team(slug: $team) {{ slug apiClients {{ {CLIENT_FIELDS} }} }}
}}
"""
ALL_CLIENTS = f"""
query AllClients($first: Int, $after: String) {{
  teams(first: $first, after: $after) {{
    totalCount
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ slug apiClients {{ {CLIENT_FIELDS} }} }}
  }}
}}
"""
CREATE_CLIENT = f"""
mutation CreateApiClient($input: CreateApiClientInput!) {{
  createApiClient(input: $input) {{ apiClient {{ {CLIENT_FIELDS} }} {ERRORS} }}
}}
"""
DELETE_CLIENT = f"""
mutation DeleteApiClient($input: DeleteApiClientInput!) {{
  deleteApiClient(input: $input) {{ deletedId {ERRORS} }}
}}
"""


# --- tokens ----------------------------------------------------------------------------------


def _token_rows(tokens: list[dict[str, Any]]) -> list[list[Any]]:
    return [
        [
            token["id"],
            token["name"],
            token["prefix"],
            ",".join(scope.lower() for scope in token["scopes"]),
            token["expiresAt"],
            token["lastUsedAt"],
            token["revokedAt"],
            token["createdAt"],
        ]
        for token in tokens
    ]


def tokens_list(
    user: Annotated[
        str | None,
        typer.Option("--user", metavar="HANDLE", help="this user's (admins); default: yours"),
    ] = None,
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """List API tokens: yours, or a user's (admins). Never their secrets."""

    async def work(api: Api) -> int:
        if user is not None:
            data = await api(USER_TOKENS, handle=user)
            found = data.get("user")
            if found is None:
                raise Refused(ExitCode.REFUSED, f"paved: NOT_FOUND: no user '{user}'")
        else:
            data = await api(MY_TOKENS)
            found = data["viewer"]
            if found.get("__typename") != "User":
                raise Refused(
                    ExitCode.REFUSED,
                    f"paved: you are {found.get('name')} ({found.get('__typename')}), no user: "
                    "name one with --user HANDLE",
                )
        if json:
            print_json(data)
            return ExitCode.OK
        if not found["tokens"]:
            print(f"no tokens of {found['handle']}")
            return ExitCode.OK
        show_table(
            ["ID", "NAME", "PREFIX", "SCOPES", "EXPIRES", "LAST USED", "REVOKED", "CREATED"],
            _token_rows(found["tokens"]),
        )
        return ExitCode.OK

    return ClientCall(work, api_url)


def tokens_create(
    scope: Annotated[
        list[Scope], typer.Option("--scope", help="a scope of the token; repeat for more")
    ],
    name: Annotated[str, typer.Option("--name", help="what the token is for")] = "cli",
    user: Annotated[
        str | None,
        typer.Option("--user", metavar="HANDLE", help="for this user (admins); default: you"),
    ] = None,
    client: Annotated[
        str | None,
        typer.Option("--client", metavar="SLUG", help="for this API client (admins)"),
    ] = None,
    expires: Annotated[
        timedelta | None,
        typer.Option(
            "--expires",
            parser=expiry,
            metavar="DURATION",
            help="lifetime such as 30d, 12h or 45m (default: the longest allowed)",
        ),
    ] = None,
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """Create an API token and print its secret (only it) on stdout: the API shows it once."""
    if user is not None and client is not None:
        raise usage_error("give at most one of them", "--user", "--client")

    async def work(api: Api) -> int:
        owner = {"user": user} if user is not None else {"client": client}
        if user is None and client is None:
            viewer = (await api(MY_HANDLE))["viewer"]
            if viewer.get("__typename") != "User":
                raise Refused(
                    ExitCode.REFUSED,
                    f"paved: you are {viewer.get('name')} ({viewer.get('__typename')}), no "
                    "user: name the token's owner with --user HANDLE or --client SLUG",
                )
            owner = {"user": viewer["handle"]}
        expires_at = (datetime.now(UTC) + expires).isoformat() if expires is not None else None
        fields = given(
            **owner,
            name=name,
            scopes=[item.value.upper() for item in scope],
            expiresAt=expires_at,
        )
        payload = (await api(CREATE_TOKEN, input=fields))["createApiToken"]
        check_payload(json, payload)
        if not json:
            print(payload["secret"])
        return ExitCode.OK

    return ClientCall(work, api_url)


def tokens_revoke(
    id_: Annotated[str, typer.Argument(metavar="ID", help="the token's id (paved tokens list)")],
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """Revoke an API token: it stops working at once."""

    async def work(api: Api) -> int:
        payload = (await api(REVOKE_TOKEN, input={"token": id_}))["revokeApiToken"]
        check_payload(json, payload)
        if not json:
            revoked = payload["token"]
            print(f"revoked token {revoked['name']} ({revoked['prefix']}...)  id {revoked['id']}")
        return ExitCode.OK

    return ClientCall(work, api_url)


# --- API clients -----------------------------------------------------------------------------


def _client_rows(clients: list[dict[str, Any]]) -> list[list[Any]]:
    return [[c["slug"], c["name"], c["team"]["slug"], c["id"]] for c in clients]


def clients_list(
    team: Annotated[
        str | None, typer.Option("--team", metavar="TEAM", help="only this team's")
    ] = None,
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """List API clients (admins), by team."""

    async def work(api: Api) -> int:
        clients: list[dict[str, Any]] = []
        if team is not None:
            data = await api(TEAM_CLIENTS, team=team)
            if data.get("team") is None:
                raise Refused(ExitCode.REFUSED, f"paved: NOT_FOUND: no team '{team}'")
            clients = data["team"]["apiClients"]
        else:
            teams: list[dict[str, Any]] = []
            after: str | None = None
            while True:
                page = (await api(ALL_CLIENTS, first=PAGE_SIZE, after=after))["teams"]
                teams.extend(page["nodes"])
                if not page["pageInfo"]["hasNextPage"]:
                    break
                after = page["pageInfo"]["endCursor"]
            data = {"teams": {"totalCount": page["totalCount"], "nodes": teams}}
            clients = [client for node in teams for client in node["apiClients"]]
        if json:
            print_json(data)
            return ExitCode.OK
        if not clients:
            print("no API clients")
            return ExitCode.OK
        show_table(["SLUG", "NAME", "TEAM", "ID"], _client_rows(clients))
        return ExitCode.OK

    return ClientCall(work, api_url)


def clients_create(
    slug: Annotated[str, typer.Argument(metavar="SLUG", help="the client's slug")],
    name: Annotated[str, typer.Option("--name", metavar="NAME", help="the client's name")],
    team: Annotated[str, typer.Option("--team", metavar="TEAM", help="the team it acts for")],
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """Create an API client (a bot or CI job acting for a team; admins)."""

    async def work(api: Api) -> int:
        fields = {"slug": slug, "name": name, "team": team}
        payload = (await api(CREATE_CLIENT, input=fields))["createApiClient"]
        check_payload(json, payload)
        if not json:
            made = payload["apiClient"]
            print(f"created API client {made['slug']} ({made['name']}) of {made['team']['slug']}")
        return ExitCode.OK

    return ClientCall(work, api_url)


def clients_delete(
    slug: Annotated[str, typer.Argument(metavar="SLUG", help="the client's slug")],
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """Delete an API client, and so its tokens (admins)."""

    async def work(api: Api) -> int:
        payload = (await api(DELETE_CLIENT, input={"apiClient": slug}))["deleteApiClient"]
        check_payload(json, payload)
        if not json:
            print(f"deleted API client {slug}  id {payload['deletedId']}")
        return ExitCode.OK

    return ClientCall(work, api_url)


def register(app: typer.Typer) -> None:
    """Add `tokens` and `clients` to the root `paved` app."""
    tokens = sub_app(app, "tokens", "API tokens, through the API: list, create, revoke.")
    tokens.command("list", epilog=example("paved tokens list", "paved tokens list --user ada"))(
        tokens_list
    )
    tokens.command(
        "create",
        epilog=example(
            "export PAVED_TOKEN=$(paved tokens create --scope read --scope deploy --expires 30d)",
            "paved tokens create --client ci-bot --scope deploy --name ci",
        ),
    )(tokens_create)
    tokens.command("revoke", epilog=example("paved tokens revoke QXBpVG9rZW46MTI="))(tokens_revoke)
    clients = sub_app(app, "clients", "API clients (bots, CI jobs): list, create, delete.")
    clients.command(
        "list", epilog=example("paved clients list", "paved clients list --team payments")
    )(clients_list)
    clients.command(
        "create", epilog=example("paved clients create ci-bot --name 'CI bot' --team payments")
    )(clients_create)
    clients.command("delete", epilog=example("paved clients delete ci-bot"))(clients_delete)
