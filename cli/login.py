"""`paved login` and `paved logout`: the API's URL and a token, checked with `viewer` and kept
in the user's config dir (`cli/credentials.py`) for the client commands to use.

The token is asked for with a hidden prompt, or read from stdin when stdin is no terminal
(`paved login --api-url URL < token-file`, or the URL then the token, one a line); it is never
an argument, so never in the process list nor the shell's history. `PAVED_API_URL` and
`PAVED_TOKEN` still beat the stored login."""

from __future__ import annotations

import os
import sys
from typing import Any

import typer
from pydantic import SecretStr, ValidationError

from cli.api_client import DEFAULT_API_URL, Api, ClientSettings
from cli.credentials import StoredLogin, load_login, login_path, store_login
from cli.framework import (
    ApiUrlOption,
    ClientCall,
    ExitCode,
    JsonOption,
    example,
    print_json,
    usage_error,
)
from cli.identity import VIEWER, describe_viewer


def _default_url() -> str:
    """What `paved login` offers as the URL: PAVED_API_URL, the stored one, the default."""
    stored = load_login()
    return os.environ.get("PAVED_API_URL") or (stored.api_url if stored else DEFAULT_API_URL)


def _from_stdin(api_url: str | None) -> tuple[str, str]:
    """The URL and the token piped in: the token alone (one line), or the URL then the token
    (two lines; an empty URL line is the default)."""
    lines = [line.strip() for line in sys.stdin.read().splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        raise usage_error("no token given on stdin")
    if len(lines) == 1:
        return api_url or _default_url(), lines[0]
    if len(lines) == 2 and api_url is None:
        return lines[0] or _default_url(), lines[1]
    # Never the lines themselves: one of them is a token.
    wanted = "the token" if api_url else "the token, or the API URL then the token,"
    raise usage_error(f"expected {wanted} on stdin, one a line; got {len(lines)} line(s)")


def _asked(api_url: str | None) -> tuple[str, str]:
    """The URL and the token, asked for on the terminal (the token not echoed)."""
    url = api_url or typer.prompt("API URL", default=_default_url())
    token = typer.prompt("Token", hide_input=True, default="", show_default=False)
    return str(url).strip(), str(token).strip()


def login(api_url: ApiUrlOption = None, json: JsonOption = False) -> ClientCall:
    """Check a token with the API and store it, with the API's URL, for the next commands.

    Asks for the URL and the token (the token is not echoed); when stdin is no terminal, reads
    the token (or the URL then the token, one a line) from it. Never takes the token as an
    argument. Stored in the config dir (`$XDG_CONFIG_HOME/paved/login.json`), readable by you
    only; PAVED_API_URL and PAVED_TOKEN beat it."""
    url, token = _asked(api_url) if sys.stdin.isatty() else _from_stdin(api_url)
    if not token:
        raise usage_error("no token given")
    try:
        settings = ClientSettings(api_url=url, token=SecretStr(token))
    except ValidationError as error:
        raise usage_error(error.errors()[0]["msg"], "--api-url") from None

    async def work(api: Api) -> int:
        data = await api(VIEWER)
        path = store_login(StoredLogin(settings.api_url, token))
        if json:
            print_json(data)
        else:
            viewer: dict[str, Any] | None = data.get("viewer")
            print(f"logged in to {settings.api_url} as {describe_viewer(viewer)} (kept in {path})")
        if os.environ.get("PAVED_TOKEN"):
            print("paved: note: PAVED_TOKEN is set, and is sent instead", file=sys.stderr)
        return ExitCode.OK

    return ClientCall(work, settings=settings)


def logout() -> int:
    """Forget the stored token (the URL stays, offered by the next `paved login`).

    The token itself still works until it expires or is revoked (`paved tokens revoke ID`)."""
    stored = load_login()
    if stored is None or stored.token is None:
        print("not logged in")
        return ExitCode.OK
    store_login(StoredLogin(stored.api_url, None))
    print(f"logged out of {stored.api_url} (the token is forgotten in {login_path()})")
    return ExitCode.OK


def register(app: typer.Typer) -> None:
    app.command(
        epilog=example(
            "paved login",
            "paved login --api-url https://paved.example.com/graphql < token.txt",
        )
    )(login)
    app.command(epilog=example("paved logout"))(logout)
