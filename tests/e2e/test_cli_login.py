"""`paved login`, `logout` and `whoami` against the app in-process: the token read from stdin
(never an argument), checked with `viewer`, kept in the config dir readable by its owner only;
PAVED_API_URL and PAVED_TOKEN beat it, and it is sent to its own URL only."""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path

import asyncpg
import httpx2 as httpx
import pytest
from starlette.applications import Starlette

from cli.api_client import ClientSettings
from cli.credentials import login_path
from domain.access.model import Scope
from tests.support.access import seed, token
from tests.support.cli import Paved
from tests.support.graphql import GraphQLClient

URL = "http://127.0.0.1:8000/graphql"


@pytest.fixture(autouse=True)
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config dir of the test's own; no URL nor token from the developer's shell."""
    monkeypatch.delenv("PAVED_API_URL", raising=False)
    monkeypatch.delenv("PAVED_TOKEN", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "config"


@pytest.fixture
def paved(app: Starlette, client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]) -> Paved:
    return Paved(app, capsys)


def _exists(path: Path) -> bool:
    return path.exists()


def stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    """What the command reads: `text`, from no terminal."""
    monkeypatch.setattr("sys.stdin", io.StringIO(text))


async def test_login_checks_and_keeps_the_token_for_the_next_commands(
    paved: Paved,
    gql: GraphQLClient,
    pool: asyncpg.Pool,
    config_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = await seed(gql, pool)
    ana = await token(store, Scope.READ, user="ana")
    assert await paved("whoami") == (0, "LocalAdmin local admin\n", "")

    stdin(monkeypatch, f"{ana}\n")
    code, out, err = await paved("login")
    path = config_dir / "paved" / "login.json"
    assert (code, err) == (0, "")
    assert out == f"logged in to {URL} as User ana (kept in {path})\n"
    assert login_path() == path
    assert json.loads(path.read_text()) == {"api_url": URL, "token": ana}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert await paved("whoami") == (0, "User ana\n", "")
    assert (await paved.json("whoami"))["viewer"] == {
        "__typename": "User",
        "name": "ana",
        "handle": "ana",
    }

    # PAVED_TOKEN beats the stored token; the stored one is back once it is gone.
    monkeypatch.setenv("PAVED_TOKEN", await token(store, Scope.READ, user="bob"))
    assert await paved("whoami") == (0, "User bob\n", "")
    monkeypatch.delenv("PAVED_TOKEN")
    assert await paved("whoami") == (0, "User ana\n", "")

    # Logging out forgets the token and keeps the URL.
    assert await paved("logout") == (
        0,
        f"logged out of {URL} (the token is forgotten in {path})\n",
        "",
    )
    assert json.loads(path.read_text()) == {"api_url": URL}
    assert await paved("whoami") == (0, "LocalAdmin local admin\n", "")
    assert await paved("logout") == (0, "not logged in\n", "")


async def test_the_url_then_the_token_and_the_stored_url_is_the_default(
    paved: Paved,
    gql: GraphQLClient,
    pool: asyncpg.Pool,
    config_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = await seed(gql, pool)
    other = "http://localhost:9000/graphql"
    stdin(monkeypatch, f"{other}\n{await token(store, Scope.READ, user='ana')}\n")
    code, out, err = await paved("login", "--json")
    assert (code, err) == (0, ""), err
    assert json.loads(out)["viewer"]["handle"] == "ana"
    assert ClientSettings().api_url == other

    # A token alone: the URL stays the one stored.
    bob = await token(store, Scope.READ, user="bob")
    stdin(monkeypatch, f"{bob}\n")
    assert (await paved("login"))[0] == 0
    stored = ClientSettings()
    assert (stored.api_url, stored.token and stored.token.get_secret_value()) == (other, bob)


async def test_the_stored_token_goes_to_its_own_url_only(
    paved: Paved, gql: GraphQLClient, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await seed(gql, pool)
    stdin(monkeypatch, f"{await token(store, Scope.READ, user='ana')}\n")
    assert (await paved("login"))[0] == 0
    elsewhere = "http://elsewhere.example:8000/graphql"
    given = ClientSettings(api_url=elsewhere)
    assert (given.api_url, given.token) == (elsewhere, None)
    monkeypatch.setenv("PAVED_API_URL", elsewhere)
    from_environment = ClientSettings()
    assert (from_environment.api_url, from_environment.token) == (elsewhere, None)
    monkeypatch.setenv("PAVED_API_URL", URL)
    assert ClientSettings().token is not None


async def test_a_refused_token_is_exit_4_and_nothing_is_kept(
    paved: Paved, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "paved_" + "x" * 43 + "abcdef"
    stdin(monkeypatch, f"{secret}\n")
    code, out, err = await paved("login")
    assert (code, out) == (4, "")
    assert err.startswith(f"paved: the API at {URL} answered HTTP 401")
    assert len(err.splitlines()) == 1
    assert secret not in err
    assert not (config_dir / "paved" / "login.json").exists()


@pytest.mark.parametrize(
    ("argv", "text", "message"),
    [
        (("login",), "", "paved: Invalid value: no token given"),
        (("login",), "a\nb\nc\n", "paved: Invalid value: expected the token, or the API URL"),
        (
            ("login", "--api-url", URL),
            "http://x/graphql\nsecret\n",
            "paved: Invalid value: expected the token on stdin",
        ),
        (
            ("login",),
            "ftp://x\nsecret-token\n",
            "paved: Invalid value for '--api-url': Value error, must be an http:// or https://",
        ),
    ],
)
async def test_what_login_refuses_before_asking_the_api(
    paved: Paved,
    config_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    argv: tuple[str, ...],
    text: str,
    message: str,
) -> None:
    stdin(monkeypatch, text)
    code, out, err = await paved(*argv)
    assert (code, out) == (2, "")
    assert err.startswith(message), err
    assert len(err.splitlines()) == 1
    assert "secret" not in err
    assert not _exists(config_dir)


def test_no_command_takes_a_token_as_an_argument() -> None:
    """A token on the command line would sit in the process list and the shell's history.
    (`--secret-ref NAME=STORE:KEY` names where a credential lives, never its value.)"""
    from tests.e2e.test_cli_help import every_command

    references = {"--secret-ref", "secret_ref"}
    for path, command in every_command():
        for param in command.params:
            names = [*getattr(param, "opts", []), *getattr(param, "secondary_opts", [])]
            names.append(param.name or "")
            assert not any(
                word in name.lower()
                for name in names
                if name not in references
                for word in ("token", "secret", "password")
            ), (path, names)
