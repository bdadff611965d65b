"""Every catalog mutation command of `paved` (services, teams, users, envs) against the
in-process app, in the test's event loop: it succeeds (a table), `--json` prints exactly the
payload the API answered, a `UserError` is one `paved: CODE: message (path)` line and exit 1,
a usage error exits 2, and a read-only token is refused with nothing written."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from starlette.applications import Starlette

from cli.environments import ENVIRONMENT_FIELDS
from cli.services import SERVICE_FIELDS
from cli.teams import TEAM_FIELDS
from cli.users import USER_FIELDS
from tests.support.access import seed
from tests.support.cli import Paved
from tests.support.cli_catalog import (
    Case,
    Check,
    Context,
    catalog_paved,
    check_case,
    deleted,
    entity,
    no_client_settings,
)
from tests.support.deployments import environments
from tests.support.graphql import GraphQLClient

__all__ = ["catalog_paved", "no_client_settings"]


def membership(team: str, user: str) -> Check:
    async def check(gql: GraphQLClient, payload: dict[str, Any], _: dict[str, str]) -> None:
        data = await gql(
            "query($u: String!) { user(handle: $u) { handle teams { slug } } }", u=user
        )
        assert payload == {"team": {"slug": team}, "user": data["user"], "errors": []}

    return check


OWNERS = "slug version owners { team { slug name } role }"
DEPENDENCIES = "slug version dependsOn { slug }"


CASES: dict[str, Case] = {
    "services create": Case(
        ok=(
            "services",
            "create",
            "ledger",
            "--name",
            "Ledger",
            "--owner",
            "pay",
            "--tier",
            "2",
            "--tag",
            "pci",
            "--tag",
            "go",
            "--link",
            "docs=https://docs.example/ledger",
            "--lifecycle",
            "production",
            "--system",
            "money",
            "--description",
            "the books",
            "--repository-url",
            "https://git.example/ledger",
        ),
        shown="docs https://docs.example/ledger",
        as_json=("services", "create", "books", "--name", "Books", "--owner", "web"),
        check=entity("service", "slug", "books", SERVICE_FIELDS),
        refused=("services", "create", "x", "--name", "X", "--owner", "nobody"),
        line="paved: NOT_FOUND: no team 'nobody' (input.owner)",
        usage=("services", "create", "x", "--owner", "pay"),
    ),
    "services update": Case(
        ok=("services", "update", "pay-api", "--name", "Payments", "--tag", "a"),
        shown="Payments",
        as_json=("services", "update", "web-api", "--lifecycle", "deprecated", "--tier", "1"),
        check=entity("service", "slug", "web-api", SERVICE_FIELDS),
        refused=("services", "update", "pay-api", "--tier", "9"),
        line="paved: VALIDATION: `tier` Input should be less than or equal to 4 (input.tier)",
        usage=("services", "update", "pay-api"),
    ),
    "services delete": Case(
        ok=("services", "delete", "pay-api"),
        shown="deleted service pay-api",
        as_json=("services", "delete", "web-api", "--expected-version", "1"),
        check=deleted("web-api"),
        refused=("services", "delete", "nope"),
        line="paved: NOT_FOUND: no service 'nope' (input.service)",
        usage=("services", "delete"),
    ),
    "services owners": Case(
        ok=("services", "owners", "pay-api", "--primary", "web", "--contributor", "pay"),
        shown="CONTRIBUTOR",
        as_json=("services", "owners", "web-api", "--primary", "pay"),
        check=entity("service", "slug", "web-api", OWNERS),
        refused=("services", "owners", "pay-api", "--primary", "nobody"),
        line="paved: NOT_FOUND: no team 'nobody' (input.owners.0.team)",
        usage=("services", "owners", "pay-api", "--contributor", "web"),
    ),
    "services depend": Case(
        ok=("services", "depend", "web-api", "--depends-on", "pay-api"),
        shown="web-api depends on: pay-api",
        as_json=("services", "depend", "pay-api", "--depends-on", "books"),
        check=entity("service", "slug", "pay-api", DEPENDENCIES),
        refused=("services", "depend", "pay-api", "--depends-on", "nope"),
        line="paved: NOT_FOUND: no service 'nope' (input.dependsOn)",
        usage=("services", "depend", "pay-api"),
        setup=(("services", "create", "books", "--name", "Books", "--owner", "web"),),
    ),
    "services undepend": Case(
        ok=("services", "undepend", "web-api", "--depends-on", "pay-api"),
        shown="web-api depends on: -",
        as_json=("services", "undepend", "books", "--depends-on", "pay-api"),
        check=entity("service", "slug", "books", DEPENDENCIES),
        refused=("services", "undepend", "nope", "--depends-on", "pay-api"),
        line="paved: NOT_FOUND: no service 'nope' (input.service)",
        usage=("services", "undepend", "--depends-on", "pay-api"),
        setup=(
            ("services", "create", "books", "--name", "Books", "--owner", "web"),
            ("services", "depend", "web-api", "--depends-on", "pay-api"),
            ("services", "depend", "books", "--depends-on", "pay-api"),
        ),
    ),
    "teams create": Case(
        ok=("teams", "create", "ops", "--name", "Ops", "--parent", "pay", "--description", "d"),
        shown="Ops",
        as_json=("teams", "create", "sre", "--name", "SRE"),
        check=entity("team", "slug", "sre", TEAM_FIELDS),
        refused=("teams", "create", "pay", "--name", "Again"),
        line="paved: CONFLICT: a team with slug 'pay' already exists (input.slug)",
        usage=("teams", "create", "ops"),
    ),
    "teams update": Case(
        ok=("teams", "update", "pay", "--name", "Payments"),
        shown="Payments",
        as_json=("teams", "update", "web", "--description", "the web", "--parent", "pay"),
        check=entity("team", "slug", "web", TEAM_FIELDS),
        refused=("teams", "update", "nope", "--name", "N"),
        line="paved: NOT_FOUND: no team 'nope' (input.team)",
        usage=("teams", "update", "pay", "--expected-version", "x"),
    ),
    "teams delete": Case(
        ok=("teams", "delete", "empty"),
        shown="deleted team empty",
        as_json=("teams", "delete", "spare"),
        check=deleted("spare"),
        refused=("teams", "delete", "pay"),
        line="paved: PRECONDITION_FAILED: team 'pay' still owns services 'pay-api'; give them "
        "other owners first (input.team)",
        usage=("teams", "delete", "pay", "extra"),
        setup=(
            ("teams", "create", "empty", "--name", "Empty"),
            ("teams", "create", "spare", "--name", "Spare"),
        ),
    ),
    "teams add-member": Case(
        ok=("teams", "add-member", "web", "--user", "ana"),
        shown="ana is in: pay, web",
        as_json=("teams", "add-member", "pay", "--user", "bob"),
        check=membership("pay", "bob"),
        refused=("teams", "add-member", "pay", "--user", "nobody"),
        line="paved: NOT_FOUND: no user 'nobody' (input.user)",
        usage=("teams", "add-member", "pay"),
    ),
    "teams remove-member": Case(
        ok=("teams", "remove-member", "pay", "--user", "ana"),
        shown="ana is in: -",
        as_json=("teams", "remove-member", "web", "--user", "bob"),
        check=membership("web", "bob"),
        refused=("teams", "remove-member", "nope", "--user", "ana"),
        line="paved: NOT_FOUND: no team 'nope' (input.team)",
        usage=("teams", "remove-member", "--user", "ana"),
    ),
    "users create": Case(
        ok=("users", "create", "cy", "--name", "Cy", "--email", "cy@example.com"),
        shown="cy@example.com",
        as_json=("users", "create", "di", "--name", "Di", "--email", "di@example.com"),
        check=entity("user", "handle", "di", USER_FIELDS),
        refused=("users", "create", "ana", "--name", "A", "--email", "a@example.com"),
        line="paved: CONFLICT: a user with handle 'ana' already exists (input.handle)",
        usage=("users", "create", "cy", "--name", "Cy"),
    ),
    "users update": Case(
        ok=("users", "update", "ana", "--name", "Ana Lima"),
        shown="Ana Lima",
        as_json=("users", "update", "bob", "--email", "bob2@example.com"),
        check=entity("user", "handle", "bob", USER_FIELDS),
        refused=("users", "update", "ana", "--email", "bad"),
        line="paved: VALIDATION: `email` String should match pattern "
        "'^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$' (input.email)",
        usage=("users", "update", "ana"),
    ),
    "envs create": Case(
        ok=(
            "envs",
            "create",
            "qa",
            "--name",
            "QA",
            "--tier",
            "testing",
            "--provider",
            "simulated",
            "--provider-settings",
            '{"durationSeconds": 0}',
            "--required-approvals",
            "1",
            "--approver-team",
            "pay",
        ),
        shown="approver teams  pay",
        as_json=("envs", "create", "dev", "--name", "Dev", "--tier", "DEVELOPMENT"),
        check=entity("environment", "slug", "dev", ENVIRONMENT_FIELDS),
        refused=("envs", "create", "prod", "--name", "P", "--tier", "production"),
        line="paved: CONFLICT: an environment with slug 'prod' already exists (input.slug)",
        usage=("envs", "create", "x", "--name", "X", "--tier", "nope"),
    ),
    "envs update": Case(
        ok=("envs", "update", "staging", "--name", "Stage"),
        shown="Stage",
        as_json=(
            "envs",
            "update",
            "prod",
            "--required-approvals",
            "1",
            "--approver-team",
            "pay",
            "--allow-self-approval",
        ),
        check=entity("environment", "slug", "prod", ENVIRONMENT_FIELDS),
        refused=("envs", "update", "nope", "--name", "N"),
        line="paved: NOT_FOUND: no environment 'nope' (input.environment)",
        usage=("envs", "update", "staging", "--approver-team", "pay"),
    ),
    "envs delete": Case(
        ok=("envs", "delete", "slow"),
        shown="deleted environment slow",
        as_json=("envs", "delete", "staging"),
        check=deleted("staging"),
        refused=("envs", "delete", "prod", "--expected-version", "7"),
        line="paved: CONFLICT: environment 'prod' is at version 1, not 7 (input.expectedVersion)",
        usage=("envs", "delete", "--expected-version", "1"),
    ),
    "envs freeze": Case(
        ok=("envs", "freeze", "prod", "--reason", "end of quarter"),
        shown="yes: end of quarter",
        as_json=("envs", "freeze", "staging"),
        check=entity("environment", "slug", "staging", ENVIRONMENT_FIELDS),
        refused=("envs", "freeze", "nope"),
        line="paved: NOT_FOUND: no environment 'nope' (input.environment)",
        usage=("envs", "freeze", "prod", "--reason"),
    ),
    "envs unfreeze": Case(
        ok=("envs", "unfreeze", "prod"),
        shown="frozen          no",
        as_json=("envs", "unfreeze", "staging"),
        check=entity("environment", "slug", "staging", ENVIRONMENT_FIELDS),
        refused=("envs", "unfreeze", "nope"),
        line="paved: NOT_FOUND: no environment 'nope' (input.environment)",
        usage=("envs", "unfreeze", "--json"),
        setup=(("envs", "freeze", "prod"), ("envs", "freeze", "staging")),
    ),
}


@pytest.mark.parametrize("command", list(CASES))
async def test_mutation_command(
    command: str,
    catalog_paved: Paved,
    gql: GraphQLClient,
    pool: asyncpg.Pool,
    app: Starlette,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = await seed(gql, pool)
    await environments(gql)
    await check_case(CASES[command], Context(catalog_paved, gql, store, pool, app), monkeypatch)


async def test_a_refusal_with_json_prints_the_payload_too(
    catalog_paved: Paved, gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    await seed(gql, pool)
    code, out, err = await catalog_paved("teams", "create", "pay", "--name", "P", "--json")
    assert code == 1
    import json

    assert json.loads(out) == {
        "team": None,
        "errors": [
            {
                "code": "CONFLICT",
                "message": "a team with slug 'pay' already exists",
                "path": ["input", "slug"],
            }
        ],
    }
    assert err == "paved: CONFLICT: a team with slug 'pay' already exists (input.slug)\n"


async def test_updates_clear_fields(
    catalog_paved: Paved, gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    paved = catalog_paved
    await seed(gql, pool)
    await environments(gql)
    assert (await paved("teams", "create", "ops", "--name", "Ops", "--parent", "pay"))[0] == 0
    created = await paved.json(
        "services", "create", "ledger", "--name", "Ledger", "--owner", "pay", "--tier", "2",
        "--tag", "pci", "--link", "docs=https://docs.example", "--system", "money",
        "--description", "the books", "--repository-url", "https://git.example/ledger",
    )  # fmt: skip
    assert created["service"]["tags"] == ["pci"]

    cleared = await paved.json(
        "services", "update", "ledger", "--clear", "tier", "--clear", "tags", "--clear", "links",
        "--clear", "system", "--clear", "description", "--clear", "repository-url",
    )  # fmt: skip
    service = cleared["service"]
    assert (service["tier"], service["tags"], service["links"], service["system"]) == (
        None, [], [], None,
    )  # fmt: skip
    assert (service["description"], service["repositoryUrl"]) == (None, None)
    team = (await paved.json("teams", "update", "ops", "--clear", "parent"))["team"]
    assert team["parent"] is None
    assert (await paved.json("envs", "update", "prod", "--description", "live"))["environment"][
        "description"
    ] == "live"
    environment = await paved.json("envs", "update", "prod", "--clear", "description")
    assert environment["environment"]["description"] is None

    for usage in (
        ("services", "update", "ledger", "--clear", "owner"),
        ("services", "update", "ledger", "--clear", "tags", "--tag", "x"),
        ("teams", "update", "ops", "--clear", "name"),
    ):
        code, out, err = await paved(*usage)
        assert (code, out) == (2, ""), usage
        assert "--clear" in err, err
