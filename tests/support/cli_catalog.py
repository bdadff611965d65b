"""The tests of `paved`'s noun commands: fixtures running the whole command (`cli.main.run`) in
the test's event loop, over the in-process app, without the developer's URL or token; and the
five checks every mutation command gets (`Case`, `check_case`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx2 as httpx
import pytest
from starlette.applications import Starlette

from cli import main
from domain.access.model import Scope
from providers.postgres.access_store import PostgresAccessStore
from tests.support.access import token
from tests.support.cli import Paved
from tests.support.graphql import GraphQLClient


@pytest.fixture(autouse=True)
def no_client_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the developer's shell says, the commands start without a URL or token."""
    monkeypatch.delenv("PAVED_API_URL", raising=False)
    monkeypatch.delenv("PAVED_TOKEN", raising=False)


@pytest.fixture
def catalog_paved(
    app: Starlette, client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> Paved:
    """`paved ...`, any command; `client` empties the catalog and checks both read paths."""
    return Paved(app, capsys, main.run)


Check = Callable[[GraphQLClient, dict[str, Any], dict[str, str]], Awaitable[None]]
"""Checks that the payload a `--json` run printed is the API's data, given the ids of the
catalog's entities (by slug, taken before the run) and the setup's placeholders."""

Setup = Callable[["Context"], Awaitable[dict[str, str]]]
"""Prepares a case; answers placeholders (`<name>` arguments) to replace in its commands."""


@dataclass(frozen=True)
class Context:
    paved: Paved
    gql: GraphQLClient
    store: PostgresAccessStore
    pool: asyncpg.Pool
    app: Starlette


@dataclass(frozen=True)
class Case:
    """One mutation command, checked five ways (`check_case`)."""

    ok: tuple[str, ...]
    """Succeeds on the catalog (table output showing `shown`)."""
    shown: str
    as_json: tuple[str, ...]
    """Succeeds after `ok`, run with --json; `check` compares what it printed."""
    check: Check
    refused: tuple[str, ...]
    line: str
    """The one stderr line of `refused`."""
    usage: tuple[str, ...]
    setup: tuple[tuple[str, ...], ...] = field(default=())
    """Commands run first (they must succeed)."""
    prepare: Setup | None = None
    actor: Callable[[PostgresAccessStore], Awaitable[str]] | None = None
    """The token the commands run with (None: the anonymous local admin)."""
    read_only: Callable[[PostgresAccessStore], Awaitable[str]] | None = None
    """A token that may read but not make this change (default: root's, scope read)."""
    denied: str = "FORBIDDEN"
    """The code the read-only token is refused with (NOT_FOUND where it may not even see the
    entity)."""


def entity(kind: str, key: str, slug: str, fields: str) -> Check:
    """The payload's `kind` is what the API answers for it now."""

    async def check(gql: GraphQLClient, payload: dict[str, Any], _: dict[str, str]) -> None:
        data = await gql(f"query($k: String!) {{ {kind}({key}: $k) {{ {fields} }} }}", k=slug)
        assert payload == {kind: data[kind], "errors": []}

    return check


def node(kind: str, placeholder: str, type_: str, fields: str) -> Check:
    """The payload's `kind` is what `node(id:)` answers now for the id `placeholder` stands
    for (or, with a placeholder that stands for nothing, the payload's own id)."""

    async def check(gql: GraphQLClient, payload: dict[str, Any], ids: dict[str, str]) -> None:
        id_ = ids.get(placeholder) or payload[kind]["id"]
        data = await gql(
            f"query($id: ID!) {{ node(id: $id) {{ ... on {type_} {{ {fields} }} }} }}", id=id_
        )
        rest = {key: value for key, value in payload.items() if key not in (kind, "errors")}
        assert payload == {kind: data["node"], "errors": [], **rest}

    return check


def listed(kind: str, connection: str, slug: str, fields: str) -> Check:
    """The payload's `kind` is the entity of that slug in the listing `connection`."""

    async def check(gql: GraphQLClient, payload: dict[str, Any], _: dict[str, str]) -> None:
        data = await gql(f"{{ {connection}(first: 100) {{ nodes {{ {fields} }} }} }}")
        [found] = [n for n in data[connection]["nodes"] if n["slug"] == slug]
        assert payload == {kind: found, "errors": []}

    return check


def deleted(key: str) -> Check:
    async def check(_: GraphQLClient, payload: dict[str, Any], ids: dict[str, str]) -> None:
        assert payload == {"deletedId": ids[key], "errors": []}

    return check


IDS = """{
  services(first: 100) { nodes { id slug } } teams(first: 100) { nodes { id slug } }
  environments(first: 100) { nodes { id slug } } resourceClasses(first: 100) { nodes { id slug } }
  templates(first: 100) { nodes { id slug } }
}"""


async def ids_by_slug(gql: GraphQLClient) -> dict[str, str]:
    """The global ids of the catalog's entities, by slug (a slug used twice is ambiguous)."""
    data = await gql(IDS)
    return {node["slug"]: node["id"] for listing in data.values() for node in listing["nodes"]}


def _placed(argv: tuple[str, ...], placeholders: dict[str, str]) -> tuple[str, ...]:
    return tuple(placeholders.get(arg, arg) for arg in argv)


async def read_only_root(store: PostgresAccessStore) -> str:
    return await token(store, Scope.READ, user="root")


async def check_case(case: Case, context: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    """The case's commands: refused with a read-only token (nothing written), then run as its
    actor: `ok` prints a table, `as_json` the API's data, `refused` one line (exit 1),
    `usage` exits 2."""
    paved, gql, pool = context.paved, context.gql, context.pool
    for argv in case.setup:
        assert (await paved(*argv))[0] == 0, argv
    placeholders = await case.prepare(context) if case.prepare else {}

    def placed(argv: tuple[str, ...]) -> tuple[str, ...]:
        return _placed(argv, placeholders)

    events = await pool.fetchval("SELECT count(*) FROM events")
    reader = case.read_only or read_only_root
    monkeypatch.setenv("PAVED_TOKEN", await reader(context.store))
    code, out, err = await paved(*placed(case.ok))
    assert (code, out) == (1, ""), (out, err)
    assert err.startswith(f"paved: {case.denied}: "), err
    assert len(err.splitlines()) == 1, err
    assert await pool.fetchval("SELECT count(*) FROM events") == events
    if case.actor is None:
        monkeypatch.delenv("PAVED_TOKEN")
    else:
        monkeypatch.setenv("PAVED_TOKEN", await case.actor(context.store))

    code, out, err = await paved(*placed(case.ok))
    assert (code, err) == (0, ""), (out, err)
    assert case.shown in out, out

    ids = {**await ids_by_slug(gql), **placeholders}
    await case.check(gql, await paved.json(*placed(case.as_json)), ids)

    code, out, err = await paved(*placed(case.refused))
    assert (code, out, err) == (1, "", case.line + "\n"), err

    code, out, err = await paved(*placed(case.usage))
    assert (code, out) == (2, ""), (out, err)
    assert err, "a usage error says what is wrong"
