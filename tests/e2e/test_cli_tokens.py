"""`paved tokens list | create | revoke` and `paved clients list | create | delete`: clients of
the API, its rules theirs (a user manages their own tokens, admins everyone's and the API
clients)."""

from __future__ import annotations

import json

import asyncpg
import httpx2 as httpx
import pytest
from starlette.applications import Starlette

from domain.access.model import Scope
from domain.access.tokens import looks_like_token
from tests.support.access import seed, token
from tests.support.cli import Paved
from tests.support.graphql import GraphQLClient


@pytest.fixture(autouse=True)
def no_client_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.delenv("PAVED_API_URL", raising=False)
    monkeypatch.delenv("PAVED_TOKEN", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))


@pytest.fixture
def paved(app: Starlette, client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]) -> Paved:
    return Paved(app, capsys)


async def test_a_user_makes_lists_and_revokes_their_own_tokens(
    paved: Paved, gql: GraphQLClient, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await seed(gql, pool)
    ana = await token(store, Scope.READ, Scope.WRITE, user="ana")
    monkeypatch.setenv("PAVED_TOKEN", ana)

    code, out, err = await paved("tokens", "create", "--scope", "read", "--name", "laptop",
                                 "--expires", "30d")  # fmt: skip
    assert (code, err) == (0, "")
    made = out.removesuffix("\n")
    assert looks_like_token(made)
    assert out == f"{made}\n"

    code, out, err = await paved("tokens", "list")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == [
        "ID", "NAME", "PREFIX", "SCOPES", "EXPIRES", "LAST", "USED", "REVOKED", "CREATED"
    ]  # fmt: skip
    rows = {line.split()[1]: line.split() for line in lines[1:]}
    assert set(rows) == {"t", "laptop"}
    assert rows["laptop"][3] == "read"
    assert rows["t"][3] == "read,write"
    assert made not in out
    assert ana not in out

    listed = await paved.json("tokens", "list")
    assert listed["viewer"]["handle"] == "ana"
    [laptop] = [t for t in listed["viewer"]["tokens"] if t["name"] == "laptop"]
    assert laptop["scopes"] == ["READ"]
    assert laptop["revokedAt"] is None

    code, out, err = await paved("tokens", "revoke", laptop["id"])
    assert (code, err) == (0, "")
    assert out == f"revoked token laptop ({laptop['prefix']}...)  id {laptop['id']}\n"
    monkeypatch.setenv("PAVED_TOKEN", made)
    code, out, err = await paved("whoami")
    assert (code, out) == (4, "")
    assert "answered HTTP 401" in err


async def test_the_api_decides_who_may_see_and_make_what(
    paved: Paved, gql: GraphQLClient, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await seed(gql, pool)
    monkeypatch.setenv("PAVED_TOKEN", await token(store, Scope.READ, Scope.WRITE, user="ana"))
    for argv in (
        ("tokens", "list", "--user", "bob"),
        ("tokens", "create", "--user", "bob", "--scope", "read"),
        ("clients", "list"),
        ("clients", "create", "x-bot", "--name", "X", "--team", "pay"),
    ):
        code, out, err = await paved(*argv)
        assert (code, out) == (1, ""), argv
        assert err.startswith("paved: FORBIDDEN: "), (argv, err)
        assert len(err.splitlines()) == 1
    code, out, err = await paved("tokens", "create", "--scope", "admin")
    assert (code, out) == (1, "")
    assert err == "paved: VALIDATION: scopes not available to this token: admin (input.scopes)\n"

    # Without a token (development mode) the caller is the local admin, no user.
    monkeypatch.delenv("PAVED_TOKEN")
    code, out, err = await paved("tokens", "list")
    assert (code, out) == (1, "")
    assert err.startswith("paved: you are local admin (LocalAdmin), no user: name one with --user")
    code, out, err = await paved("tokens", "list", "--user", "nobody")
    assert (code, out, err) == (1, "", "paved: NOT_FOUND: no user 'nobody'\n")


async def test_an_admin_manages_api_clients_and_their_tokens(
    paved: Paved, gql: GraphQLClient, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await seed(gql, pool)
    monkeypatch.setenv("PAVED_TOKEN", await token(store, Scope.READ, Scope.ADMIN, user="root"))
    assert await paved("clients", "list") == (0, "no API clients\n", "")
    for slug, team in (("ci-bot", "pay"), ("deployer", "web"), ("a-bot", "pay")):
        code, out, err = await paved("clients", "create", slug, "--name", slug.upper(),
                                     "--team", team)  # fmt: skip
        assert (code, out, err) == (
            0,
            f"created API client {slug} ({slug.upper()}) of {team}\n",
            "",
        )
    code, out, err = await paved("clients", "create", "ci-bot", "--name", "again", "--team", "nope")
    assert (code, out) == (1, "")
    assert all(line.startswith("paved: ") and "(input." in line for line in err.splitlines())

    code, out, err = await paved("clients", "list")
    assert (code, err) == (0, "")
    assert [line.split()[:3] for line in out.splitlines()] == [
        ["SLUG", "NAME", "TEAM"],
        ["a-bot", "A-BOT", "pay"],
        ["ci-bot", "CI-BOT", "pay"],
        ["deployer", "DEPLOYER", "web"],
    ]
    only_pay = await paved.json("clients", "list", "--team", "pay")
    assert [c["slug"] for c in only_pay["team"]["apiClients"]] == ["a-bot", "ci-bot"]
    everything = await paved.json("clients", "list")
    assert everything["teams"]["totalCount"] == 2
    assert [t["slug"] for t in everything["teams"]["nodes"]] == ["pay", "web"]

    code, out, err = await paved(
        "tokens", "create", "--client", "ci-bot", "--scope", "read", "--scope", "deploy"
    )
    assert (code, err) == (0, "")
    monkeypatch.setenv("PAVED_TOKEN", out.strip())
    assert await paved("whoami") == (0, "ApiClient ci-bot\n", "")
    monkeypatch.setenv("PAVED_TOKEN", await token(store, Scope.READ, Scope.ADMIN, user="root"))

    payload = await paved.json("clients", "delete", "ci-bot")
    assert payload["errors"] == []
    code, out, err = await paved("clients", "delete", "ci-bot")
    assert (code, out) == (1, "")
    assert err.startswith("paved: NOT_FOUND: ")
    assert [c["slug"] for c in (await paved.json("clients", "list", "--team", "pay"))["team"][
        "apiClients"
    ]] == ["a-bot"]  # fmt: skip


async def test_json_is_exactly_the_api_data(
    paved: Paved, gql: GraphQLClient, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await seed(gql, pool)
    monkeypatch.setenv("PAVED_TOKEN", await token(store, Scope.READ, Scope.ADMIN, user="root"))
    code, out, _ = await paved("clients", "create", "bot", "--name", "Bot", "--team", "web",
                               "--json")  # fmt: skip
    assert code == 0
    assert json.loads(out) == {
        "apiClient": {
            "id": json.loads(out)["apiClient"]["id"],
            "slug": "bot",
            "name": "Bot",
            "team": {"slug": "web"},
        },
        "errors": [],
    }
