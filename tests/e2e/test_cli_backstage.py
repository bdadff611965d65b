"""`paved import backstage` and `paved export backstage` over the in-process app: the shared
real-world catalogs import with a result for every entity (the known-invalid ones FAILED with
their reason), and an exported catalog imports again with every entity UNCHANGED."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg
import httpx2 as httpx
import pytest
import yaml
from starlette.applications import Starlette

import cli.main
from tests.support.catalog import create_teams
from tests.support.cli import Paved
from tests.support.graphql import GraphQLClient

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "backstage"
EXAMPLES = DATA / "backstage-examples"
SHOWCASE = DATA / "real-catalogs" / "janus-idp__backstage-showcase"
ENVOY = DATA / "real-catalogs" / "tetratelabs__eg-backstage-demo"


async def _run(argv: Sequence[str], transport: httpx.AsyncBaseTransport) -> int:
    return await cli.main.run(argv, transport)


@pytest.fixture
def paved(app: Starlette, client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]) -> Paved:
    return Paved(app, capsys, run=_run)


def _entities(root: Path) -> int:
    """Non-empty YAML documents under `root`, counted independently of the importer."""
    return sum(
        sum(1 for document in yaml.safe_load_all(path.read_text()) if document is not None)
        for path in root.rglob("*.yaml")
    )


def _data(root: Path) -> Path:
    assert root.is_dir(), f"the test data is missing: {root} (see tests/data/backstage/README.md)"
    return root


async def _import(paved: Paved, *argv: str) -> tuple[int, Any, str]:
    import json

    code, out, err = await paved("import", "backstage", *argv, "--json")
    return code, json.loads(out)["importCatalog"], err


def _by_location(payload: Any) -> dict[str, Any]:
    return {r["location"]: r for r in payload["results"]}


async def test_backstage_examples_import_with_a_result_for_every_entity(paved: Paved) -> None:
    root = _data(EXAMPLES)
    code, payload, err = await _import(paved, str(root))
    results = payload["results"]
    assert len(results) == _entities(root) == 105
    assert code == 1
    failed = {r["location"]: r for r in results if r["action"] == "FAILED"}
    assert all(r["errors"] for r in failed.values())
    assert err.count("paved: FAILED") == len(failed)

    def reason(location: str) -> tuple[str, str]:
        error = failed[location]["errors"][0]
        return error["code"], error["message"]

    # SOURCE.md's known-invalid entities, each with its reason.
    assert reason("components/invalid-component.yaml#1")[0] == "VALIDATION"
    for sre in ("components/dream11-component.yaml#1", "components/myservice-component.yaml#1"):
        assert reason(sre) == (
            "NOT_FOUND", "'group:default/sre' is neither in the import nor in the catalog"
        )  # fmt: skip
    for inpixon in ("analytics", "aware", "mapping", "maps-analytics", "odp-analytics"):
        code_, message = reason(f"components/{inpixon}-component.yaml#1")
        assert (code_, "inpixon" in message) == ("NOT_FOUND", True)
    assert "internetarchive@example.com" in reason("wayback-component.yaml#1")[1]
    # The old top-level copies redefine entities of the sub-folders: both sides fail.
    for name in ("artist-lookup", "petstore", "podcast-api", "queue-proxy"):
        assert reason(f"{name}-component.yaml#1")[0] in ("CONFLICT", "NOT_FOUND")
        assert reason(f"components/{name}-component.yaml#1")[0] == "CONFLICT"
    # The guest users of two namespaces collide once the namespace is dropped.
    guests = [r for r in results if r["entityRef"].endswith("/guest") and r["kind"] == "User"]
    assert [g["errors"][0]["code"] for g in guests] == ["CONFLICT", "CONFLICT"]
    assert reason("apis/petstore-webhook.oas.yaml#1") == ("VALIDATION", "`kind` is required")

    created = Counter(r["kind"] for r in results if r["action"] == "CREATED")
    assert created == {"Group": 9, "User": 15, "Component": 6}
    skipped = Counter(r["kind"] for r in results if r["action"] == "SKIPPED")
    assert skipped == {
        "API": 23, "Location": 10, "System": 3, "Domain": 3, "Resource": 1,
        "Environment": 2, "AiResource": 4,
    }  # fmt: skip
    by_location = _by_location(payload)
    team_a = by_location["acme/team-a-group.yaml#1"]
    assert (team_a["action"], team_a["slug"]) == ("CREATED", "team-a")
    breanna = by_location["acme/team-a-group.yaml#2"]
    assert breanna["slug"] == "breanna-davison"
    assert breanna["notes"] == ["name 'breanna.davison' normalised to 'breanna-davison'"]


async def test_the_showcase_catalog_imports_through_its_locations(
    paved: Paved, gql: GraphQLClient
) -> None:
    root = _data(SHOWCASE)
    code, payload, err = await _import(paved, str(root / "catalog-entities" / "all.yaml"))
    assert (code, err) == (0, "")
    results = payload["results"]
    # Followed from all.yaml: every file of catalog-entities/ (catalog-info.yaml is not named).
    assert len(results) == _entities(root / "catalog-entities") == 17
    assert payload["summary"] == {
        "created": 3, "updated": 0, "unchanged": 0, "skipped": 14, "failed": 0, "deleted": 0,
    }  # fmt: skip
    showcase = await gql(
        '{ service(slug: "backstage-showcase") { owner { slug } system dependsOn { slug } } }'
    )
    assert showcase["service"]["owner"] == {"slug": "janus-authors"}
    assert showcase["service"]["system"] == "janus-idp"

    code, whole, _ = await _import(paved, str(root))
    assert len(whole["results"]) == _entities(root) == 19
    assert whole["summary"]["unchanged"] == 3


async def test_the_envoy_demo_imports_with_its_dangling_owner_failed(paved: Paved) -> None:
    root = _data(ENVOY)
    code, payload, err = await _import(paved, str(root))
    assert len(payload["results"]) == _entities(root) == 19
    failed = [r for r in payload["results"] if r["action"] == "FAILED"]
    assert [(r["entityRef"], r["errors"][0]["code"]) for r in failed] == [
        ("component:default/envoy-gateway-backstage-playground", "NOT_FOUND")
    ]
    assert "john@example.com" in failed[0]["errors"][0]["message"]
    assert code == 1
    assert err.startswith("paved: FAILED component:default/envoy-gateway-backstage-playground")
    users = [r for r in payload["results"] if r["kind"] == "User"]
    assert {r["action"] for r in users} == {"SKIPPED"}


async def test_an_exported_catalog_imports_again_unchanged(
    paved: Paved, gql: GraphQLClient, tmp_path: Path, pool: asyncpg.Pool
) -> None:
    await create_teams(gql, "platform", "payments", "lonely")
    moved = await gql.mutate("updateTeam", "team { slug }", team="payments", parent="platform")
    assert moved["errors"] == []
    for handle, teams in (("ada", ["payments", "platform"]), ("bob", [])):
        made = await gql.mutate(
            "createUser", "user { handle }", handle=handle, name=handle.title(),
            email=f"{handle}@example.com",
        )  # fmt: skip
        assert made["errors"] == []
        for team in teams:
            await gql.mutate("addTeamMember", "team { slug }", team=team, user=handle)
    fields = "service { slug }"
    await gql.mutate(
        "createService", fields, slug="ledger", name="The Ledger", owner="payments",
        description="Money: in & out", lifecycle="PRODUCTION", tier=1, tags=["core", "money"],
        links=[{"title": "Docs", "url": "https://docs.example.com/ledger"}],
        repositoryUrl="https://github.com/acme/ledger", system="billing",
    )  # fmt: skip
    await gql.mutate("createService", fields, slug="fx", name="FX", owner="platform")
    await gql.mutate("addServiceDependency", fields, service="ledger", dependsOn="fx")
    await gql.mutate(
        "setServiceOwners", fields, service="fx",
        owners=[{"team": "platform", "role": "PRIMARY"}, {"team": "payments", "role": "CONTRIBUTOR"}],
    )  # fmt: skip

    import json

    code, out, err = await paved("export", "backstage", str(tmp_path / "out"), "--json")
    assert (code, err) == (0, "")
    assert json.loads(out)["files"] == [
        "catalog-info.yaml",
        "lonely/catalog-info.yaml",
        "payments/catalog-info.yaml",
        "platform/catalog-info.yaml",
    ]
    ledger = [
        d for d in yaml.safe_load_all((tmp_path / "out/payments/catalog-info.yaml").read_text())
        if d["kind"] == "Component"
    ]  # fmt: skip
    assert ledger[0]["spec"] == {
        "type": "service", "lifecycle": "production", "owner": "group:payments",
        "system": "billing", "dependsOn": ["component:fx"],
    }  # fmt: skip

    events = await pool.fetchval("SELECT count(*) FROM events")
    code, payload, err = await _import(paved, str(tmp_path / "out" / "catalog-info.yaml"))
    assert (code, err) == (0, "")
    actions = Counter((r["kind"], r["action"]) for r in payload["results"])
    assert actions == {
        ("Location", "SKIPPED"): 1,
        ("Group", "UNCHANGED"): 3,
        ("User", "UNCHANGED"): 2,
        ("Component", "UNCHANGED"): 2,
    }
    assert await pool.fetchval("SELECT count(*) FROM events") == events


async def test_the_table_and_a_dry_run(paved: Paved, tmp_path: Path, pool: asyncpg.Pool) -> None:
    (tmp_path / "org.yaml").write_text(
        "kind: Group\nmetadata: {name: web}\nspec: {type: team, children: []}\n"
    )
    code, out, err = await paved("import", "backstage", str(tmp_path), "--dry-run")
    assert (code, err) == (0, "")
    assert "CREATED" in out
    assert "group:default/web" in out
    assert "dry run: 1 created, 0 updated" in out
    assert await pool.fetchval("SELECT count(*) FROM teams") == 0

    code, out, err = await paved("import", "backstage", str(tmp_path / "missing"))
    assert code == 2
    assert "no such file or folder" in err
