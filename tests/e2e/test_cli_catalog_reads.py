"""The reading commands of `paved` (services, teams, users, envs, audit; `paved query`) against
the in-process app: tables, `--json` exactly the API's data, pages followed, NOT_FOUND and
usage errors."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from cli import catalog_common
from cli.audit_log import AUDIT_EVENTS
from cli.environments import ENVIRONMENT, ENVIRONMENTS
from cli.services import SERVICE, SERVICE_OWNERS, SERVICES
from cli.teams import TEAM, TEAMS
from cli.users import USER, USERS
from domain.access.model import Scope
from tests.support.access import seed, token
from tests.support.cli import Paved
from tests.support.cli_catalog import catalog_paved, no_client_settings
from tests.support.deployments import environments
from tests.support.graphql import GraphQLClient

__all__ = ["catalog_paved", "no_client_settings"]

FIRST_PAGE = {"first": catalog_common.DEFAULT_LIMIT, "after": None}


async def _catalog(gql: GraphQLClient, pool: asyncpg.Pool, paved: Paved) -> None:
    """seed's teams, people and services; three environments; more services, one tagged."""
    await seed(gql, pool)
    await environments(gql)
    for slug, owner, extra in (
        ("ledger", "pay", ("--tag", "pci", "--lifecycle", "production", "--tier", "1")),
        ("books", "pay", ("--tag", "pci", "--tag", "go", "--system", "money")),
        ("site", "web", ()),
    ):
        created = await paved("services", "create", slug, "--name", slug, "--owner", owner, *extra)
        assert created[0] == 0, created
    assert (await paved("services", "depend", "site", "--depends-on", "books"))[0] == 0


async def test_services_list_show_and_owners(
    catalog_paved: Paved, gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    paved = catalog_paved
    await _catalog(gql, pool, paved)

    code, out, err = await paved("services", "list")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == ["SLUG", "NAME", "OWNER", "LIFECYCLE", "TIER", "TAGS"]
    assert [line.split()[0] for line in lines[1:]] == [
        "books",
        "ledger",
        "pay-api",
        "site",
        "web-api",
    ]
    assert await paved.json("services", "list") == await gql(
        SERVICES, filter={}, orderBy=None, **FIRST_PAGE
    )

    filtered = await paved.json(
        "services", "list", "--owner", "pay", "--tag", "pci", "--order-by", "tier",
        "--direction", "desc",
    )  # fmt: skip
    assert filtered == await gql(
        SERVICES,
        filter={"owner": "pay", "tags": ["pci"]},
        orderBy={"field": "TIER", "direction": "DESC"},
        **FIRST_PAGE,
    )
    assert [s["slug"] for s in filtered["services"]["nodes"]] == ["books", "ledger"]
    production = await paved.json("services", "list", "--lifecycle", "PRODUCTION", "--tier", "1")
    assert [s["slug"] for s in production["services"]["nodes"]] == ["ledger"]
    money = await paved.json("services", "list", "--system", "money", "--search", "boo")
    assert [s["slug"] for s in money["services"]["nodes"]] == ["books"]

    code, out, err = await paved("services", "show", "site")
    assert (code, err) == (0, "")
    fields = dict(line.split(maxsplit=1) for line in out.splitlines() if " " in line.strip())
    assert (fields["slug"].strip(), fields["owner"].strip()) == ("site", "web")
    assert "books" in out
    assert await paved.json("services", "show", "site") == await gql(SERVICE, slug="site")

    code, out, err = await paved("services", "show", "nope")
    assert (code, out, err) == (1, "", "paved: NOT_FOUND: no service 'nope'\n")
    code, out, err = await paved("services", "show", "nope", "--json")
    assert (code, json.loads(out), err) == (
        1,
        {"service": None},
        "paved: NOT_FOUND: no service 'nope'\n",
    )

    code, out, err = await paved("services", "owners", "ledger")
    assert (code, err) == (0, "")
    assert out.splitlines()[1].split() == ["pay", "pay", "PRIMARY"]
    assert await paved.json("services", "owners", "ledger") == await gql(
        SERVICE_OWNERS, slug="ledger"
    )

    for usage in (
        ("services", "list", "--limit", "0"),
        ("services", "list", "--limit", "1", "--all"),
        ("services", "list", "--lifecycle", "retired"),
        ("services", "show"),
        ("services", "frobnicate"),
    ):
        code, out, err = await paved(*usage)
        assert (code, out) == (2, ""), usage
        assert err, usage


async def test_listings_follow_pages(
    catalog_paved: Paved, gql: GraphQLClient, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--limit stops after so many rows, --all follows every page; pageInfo is the last
    page's."""
    paved = catalog_paved
    await _catalog(gql, pool, paved)
    monkeypatch.setattr(catalog_common, "PAGE_SIZE", 2)

    everything = await paved.json("services", "list", "--all")
    connection = everything["services"]
    assert [s["slug"] for s in connection["nodes"]] == [
        "books",
        "ledger",
        "pay-api",
        "site",
        "web-api",
    ]
    assert connection["pageInfo"] == {
        "hasNextPage": False,
        "endCursor": connection["pageInfo"]["endCursor"],
    }
    assert connection["totalCount"] == 5

    three = (await paved.json("services", "list", "--limit", "3"))["services"]
    assert [s["slug"] for s in three["nodes"]] == ["books", "ledger", "pay-api"]
    assert three["pageInfo"]["hasNextPage"] is True
    rest = await gql(
        SERVICES, filter={}, orderBy=None, first=10, after=three["pageInfo"]["endCursor"]
    )
    assert [s["slug"] for s in rest["services"]["nodes"]] == ["site", "web-api"]

    for noun, key, expected in (
        ("teams", "slug", ["pay", "web"]),
        ("users", "handle", ["ana", "bob", "root"]),
        ("envs", "slug", None),
    ):
        listed = await paved.json(noun, "list", "--all")
        nodes = next(iter(listed.values()))["nodes"]
        if expected is not None:
            assert [node[key] for node in nodes] == expected
        else:
            assert sorted(node[key] for node in nodes) == ["prod", "slow", "staging"]
        assert (
            len(next(iter((await paved.json(noun, "list", "--limit", "1")).values()))["nodes"]) == 1
        )


async def test_teams_users_and_envs_list_and_show(
    catalog_paved: Paved, gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    paved = catalog_paved
    await _catalog(gql, pool, paved)
    assert (await paved("teams", "create", "ops", "--name", "Ops", "--parent", "pay"))[0] == 0

    cases: list[tuple[tuple[str, ...], str, dict[str, Any]]] = [
        (("teams", "list"), TEAMS, {"search": None, **FIRST_PAGE}),
        (("teams", "list", "--search", "op"), TEAMS, {"search": "op", **FIRST_PAGE}),
        (("teams", "show", "pay"), TEAM, {"slug": "pay"}),
        (("users", "list"), USERS, {"search": None, **FIRST_PAGE}),
        (("users", "list", "--search", "an"), USERS, {"search": "an", **FIRST_PAGE}),
        (("users", "show", "ana"), USER, {"handle": "ana"}),
        (("envs", "list"), ENVIRONMENTS, FIRST_PAGE),
        (("envs", "show", "prod"), ENVIRONMENT, {"slug": "prod"}),
    ]
    for argv, document, variables in cases:
        assert await paved.json(*argv) == await gql(document, **variables), argv
        code, out, err = await paved(*argv)
        assert (code, err) == (0, ""), argv
        assert out.strip(), argv

    code, out, _ = await paved("teams", "show", "pay")
    assert "children     ops" in out
    assert "members      1: ana" in out
    assert "services     3: books, ledger, pay-api" in out
    code, out, _ = await paved("users", "list", "--search", "an")
    assert [line.split()[0] for line in out.splitlines()] == ["HANDLE", "ana"]
    code, out, _ = await paved("envs", "show", "prod")
    assert "tier            PRODUCTION" in out

    for argv, line in (
        (("teams", "show", "nope"), "paved: NOT_FOUND: no team 'nope'\n"),
        (("users", "show", "nope"), "paved: NOT_FOUND: no user 'nope'\n"),
        (("envs", "show", "nope"), "paved: NOT_FOUND: no environment 'nope'\n"),
    ):
        assert await paved(*argv) == (1, "", line)
    for usage in (
        ("teams", "list", "--limit", "x"),
        ("users", "show"),
        ("envs", "list", "--all", "--limit", "2"),
        ("envs", "create", "x", "--name", "X", "--tier", "testing", "--provider-settings", "{}"),
        ("envs", "create", "x", "--name", "X", "--tier", "testing", "--provider", "simulated",
         "--provider-settings", "{nope"),
    ):  # fmt: skip
        code, out, err = await paved(*usage)
        assert (code, out) == (2, ""), usage
        assert err, usage


async def test_audit_list(
    catalog_paved: Paved,
    gql: GraphQLClient,
    pool: asyncpg.Pool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    paved = catalog_paved
    # The audit log outlives the tests' emptied catalogs: this test's records are the latest.
    started = (await pool.fetchval("SELECT now()")).isoformat()
    store = await seed(gql, pool)
    assert (await paved("teams", "create", "pay", "--name", "Again"))[0] == 1

    assert await paved.json("audit", "list") == await gql(AUDIT_EVENTS, filter={}, **FIRST_PAGE)
    refused = await paved.json(
        "audit", "list", "--operation", "createTeam", "--outcome", "invalid", "--since", started
    )
    assert [e["targets"] for e in refused["auditEvents"]["nodes"]] == [["Team:pay"]]
    assert [e["errorCodes"] for e in refused["auditEvents"]["nodes"]] == [["CONFLICT"]]

    monkeypatch.setenv("COLUMNS", "200")
    code, out, err = await paved("audit", "list", "--limit", "2")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == ["AT", "ACTOR", "VIA", "OPERATION", "OUTCOME", "TARGETS", "ERRORS"]
    assert "createTeam" in lines[1]
    assert "CONFLICT" in lines[1]
    assert len(lines) == 3

    for usage in (("--outcome", "maybe"), ("--since", "yesterday"), ("--until", "2026-01-01")):
        code, out, err = await paved("audit", "list", *usage)
        assert (code, out) == (2, ""), usage
        assert err, usage

    monkeypatch.setenv("PAVED_TOKEN", await token(store, Scope.READ, user="ana"))
    code, out, err = await paved("audit", "list")
    assert (code, out) == (1, "")
    assert err.startswith("paved: FORBIDDEN: "), err


async def test_query_sends_any_document(
    catalog_paved: Paved,
    gql: GraphQLClient,
    pool: asyncpg.Pool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    paved = catalog_paved
    await seed(gql, pool)
    document = (
        "query($slug: String!, $first: Int, $filter: ServiceFilter, $query: String) "
        "{ service(slug: $slug) { name tags } services(first: $first, filter: $filter) "
        "{ nodes { slug } } teams(search: $query) { nodes { slug } } }"
    )
    source = tmp_path / "q.graphql"
    source.write_text(document)
    answered = await paved.json(
        "query", str(source), "--var", "slug=pay-api", "--var", "first=1",
        "--var", 'filter={"owner": "web"}', "--var", "query=pa",
    )  # fmt: skip
    assert answered == await gql(
        document, slug="pay-api", first=1, filter={"owner": "web"}, query="pa"
    )
    assert answered["services"]["nodes"] == [{"slug": "web-api"}]

    mutation = (
        'mutation($tags: [String!]) { updateService(input: {service: "pay-api", tags: $tags})'
        " { service { tags } errors { code } } }"
    )
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(mutation.encode())))
    code, out, err = await paved("query", "-", "--var", 'tags=["a", "7"]')
    assert (code, err) == (0, "")
    assert json.loads(out) == {"updateService": {"service": {"tags": ["a", "7"]}, "errors": []}}

    text = tmp_path / "text.graphql"
    text.write_text("query($slug: String!) { service(slug: $slug) { slug } }")
    quoted = await paved.json("query", str(text), "--var", 'slug="pay-api"')
    assert quoted == {"service": {"slug": "pay-api"}}

    source.write_text("{ service(slug: 1) { nope } }")
    code, out, err = await paved("query", str(source))
    assert (code, out) == (1, "")
    assert err.startswith("paved: GRAPHQL_VALIDATION_FAILED: ") or err.startswith("paved: "), err
    assert len(err.splitlines()) >= 1

    for usage in (
        ("query", str(tmp_path / "missing.graphql")),
        ("query", str(text), "--var", "slug"),
        ("query",),
    ):
        code, out, err = await paved(*usage)
        assert (code, out) == (2, ""), usage
        assert err, usage
