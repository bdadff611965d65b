"""`paved` as a process (its own event loop, `cli.main.main`) against an app served on a
socket: the catalog's commands, and the routing of the nouns both parsers know (`audit list`
on Typer beside argparse's `audit verify`, `resources approve` beside `resources list`)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from domain.access.model import Scope
from providers.postgres.access_store import PostgresAccessStore
from tests.support.access import token
from tests.support.processes import clean_environment, run_paved
from tests.support.served import Served, served_app, served_settings

ROOT = Path(__file__).resolve().parents[2]
"""The worktree: the processes run its code."""


@pytest.fixture
async def served(migrated_url: str, pool: asyncpg.Pool) -> AsyncIterator[Served]:
    async with served_app(served_settings(migrated_url)) as served:
        yield served


async def test_the_catalog_commands_as_a_process(served: Served, pool: asyncpg.Pool) -> None:
    async def paved(*argv: str, secret: str | None = None) -> tuple[int, str, str]:
        environment = clean_environment(PAVED_API_URL=served.url, PYTHONPATH=str(ROOT))
        if secret is not None:
            environment["PAVED_TOKEN"] = secret
        return await run_paved(ROOT, environment, *argv)

    # The audit log outlives the tests' emptied catalogs: this test's records are the latest.
    started = (await pool.fetchval("SELECT now()")).isoformat()
    assert (await paved("teams", "create", "pay", "--name", "Payments"))[0] == 0
    code, out, err = await paved(
        "services", "create", "ledger", "--name", "Ledger", "--owner", "pay", "--json"
    )
    assert (code, err) == (0, ""), err
    assert json.loads(out)["service"]["owners"] == [{"team": {"slug": "pay"}, "role": "PRIMARY"}]

    code, out, err = await paved("services", "list")
    assert (code, err) == (0, "")
    assert out.splitlines()[1].split()[:3] == ["ledger", "Ledger", "pay"]

    code, out, err = await paved("services", "create", "ledger", "--name", "L", "--owner", "pay")
    assert (code, out) == (1, "")
    assert err == "paved: CONFLICT: a service with slug 'ledger' already exists (input.slug)\n"

    code, out, err = await paved("services", "create", "x", "--owner", "pay")
    assert (code, out) == (2, "")
    assert "--name" in err

    code, out, err = await paved(
        "audit", "list", "--operation", "createService", "--since", started, "--json"
    )
    assert (code, err) == (0, "")
    outcomes = [e["outcome"] for e in json.loads(out)["auditEvents"]["nodes"]]
    assert outcomes == ["INVALID", "ACCEPTED"]

    store = PostgresAccessStore(pool)
    await store.create_user("ana", "Ana", "ana@example.com", admin=False)
    secret = await token(store, Scope.READ, user="ana")
    code, out, err = await paved("teams", "update", "pay", "--name", "P", secret=secret)
    assert (code, out) == (1, "")
    assert err.startswith("paved: FORBIDDEN: ")
    assert secret not in out + err

    code, out, err = await paved("resources", "approve", "UmVzb3VyY2U6OTk5OTk=")
    assert (code, out, err) == (1, "", "paved: NOT_FOUND: no such resource (input.resource)\n")
    code, out, err = await paved("resources", "list", "--json")
    assert (code, err) == (0, "")
    assert json.loads(out)["resources"]["nodes"] == []
