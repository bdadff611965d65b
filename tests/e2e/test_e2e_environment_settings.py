"""createEnvironment / updateEnvironment with a provider and a protection: the environment, its
provider and its protection are one change, in one transaction with its audit record; a part
refused at write time (an approver team deleted after the input was checked) leaves nothing
written and no ACCEPTED record."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx2 as httpx
import pytest
from starlette.applications import Starlette

from domain.access.model import LOCAL_ADMIN
from domain.catalog.records import TeamRecord
from resolvers import environment_mutations
from resolvers.context import Context, Ports
from tests.support.catalog import create_teams
from tests.support.graphql import GraphQLClient

HOOKS = {"url": "https://hooks.example/deploy", "secretEnv": "PAVED_SECRET_HOOK"}
ENVIRONMENT = """
environment(slug: $slug) {
  slug name version provider { kind }
  protection { requiredApprovals preventSelfApproval approverTeams { slug } }
}
"""


async def environment(gql: GraphQLClient, slug: str) -> Any:
    return (await gql(f"query($slug: String!) {{ {ENVIRONMENT} }}", slug=slug))["environment"]


async def audited(pool: asyncpg.Pool, request_id: str) -> list[tuple[str, str, list[str]]]:
    rows = await pool.fetch(
        "SELECT operation, outcome, error_codes FROM audit_events WHERE request_id = $1",
        request_id,
    )
    return [(row["operation"], row["outcome"], list(row["error_codes"])) for row in rows]


async def mutate(
    client: httpx.AsyncClient, name: str, data: dict[str, Any], request_id: str
) -> dict[str, Any]:
    response = await client.post(
        "/graphql",
        json={
            "query": f"mutation($i: {name[0].upper()}{name[1:]}Input!) "
            f"{{ {name}(input: $i) {{ environment {{ slug version }} errors {{ code path }} }} }}",
            "variables": {"i": data},
        },
        headers={"X-Request-Id": request_id},
    )
    assert response.status_code == 200, response.text
    payload: dict[str, Any] = response.json()["data"][name]
    return payload


async def test_create_with_provider_and_protection_is_one_audited_change(
    gql: GraphQLClient, client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    await create_teams(gql, "sre", "platform")
    request_id = uuid.uuid4().hex
    created = await mutate(
        client,
        "createEnvironment",
        {
            "slug": "prod", "name": "Prod", "tier": "PRODUCTION",
            "provider": {"kind": "webhook", "settings": HOOKS},
            "protection": {
                "requiredApprovals": 2, "approverTeams": ["sre", "platform"],
                "preventSelfApproval": False,
            },
        },
        request_id,
    )  # fmt: skip
    assert created == {"environment": {"slug": "prod", "version": 1}, "errors": []}
    assert await audited(pool, request_id) == [("createEnvironment", "ACCEPTED", [])]
    assert await environment(gql, "prod") == {
        "slug": "prod",
        "name": "Prod",
        "version": 1,
        "provider": {"kind": "webhook"},
        "protection": {
            "requiredApprovals": 2,
            "preventSelfApproval": False,
            "approverTeams": [{"slug": "sre"}, {"slug": "platform"}],
        },
    }
    settings = await pool.fetchval("SELECT provider_settings FROM environments WHERE slug = 'prod'")
    assert settings == HOOKS

    request_id = uuid.uuid4().hex
    updated = await mutate(
        client,
        "updateEnvironment",
        {
            "environment": "prod", "expectedVersion": 1, "name": "Production",
            "provider": {"kind": "simulated", "settings": {"durationSeconds": 1}},
            "protection": {"requiredApprovals": 1, "approverTeams": ["sre"]},
        },
        request_id,
    )  # fmt: skip
    assert updated == {"environment": {"slug": "prod", "version": 2}, "errors": []}
    assert await audited(pool, request_id) == [("updateEnvironment", "ACCEPTED", [])]
    found = await environment(gql, "prod")
    assert (found["name"], found["version"], found["provider"]) == (
        "Production", 2, {"kind": "simulated"},
    )  # fmt: skip
    assert found["protection"] == {
        "requiredApprovals": 1,
        "preventSelfApproval": True,
        "approverTeams": [{"slug": "sre"}],
    }


def racing_context(app: Starlette, request_id: str, monkeypatch: pytest.MonkeyPatch) -> Context:
    """A request whose approver teams are deleted by another request right after this one
    checked that they exist (and before it writes)."""
    ports: Ports = app.state.container.ports
    context = Context.for_request(ports, LOCAL_ADMIN, request_id)
    loader = context.loaders.team_by_slug
    check = loader.load

    async def check_then_lose(slug: str) -> TeamRecord | None:
        found = await check(slug)
        if found is not None:
            await ports.writer.delete_team(slug, None)
        return found

    monkeypatch.setattr(loader, "load", check_then_lose)
    return context


async def test_create_refused_at_write_time_writes_nothing(
    gql: GraphQLClient, pool: asyncpg.Pool, app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    await create_teams(gql, "sre")
    request_id = uuid.uuid4().hex
    context = racing_context(app, request_id, monkeypatch)
    outcome = await environment_mutations.create_environment(
        context,
        {
            "slug": "prod", "name": "Prod", "tier": "PRODUCTION",
            "provider": {"kind": "webhook", "settings": HOOKS},
            "protection": {"requiredApprovals": 1, "approverTeams": ["sre"]},
        },
    )  # fmt: skip
    assert outcome.value is None
    assert [(e.code.value, e.path) for e in outcome.errors] == [
        ("NOT_FOUND", ("input", "protection", "approverTeams"))
    ]
    assert await pool.fetchval("SELECT count(*) FROM teams WHERE slug = 'sre'") == 0
    assert await pool.fetchval("SELECT count(*) FROM environments") == 0
    assert await audited(pool, request_id) == [("createEnvironment", "INVALID", ["NOT_FOUND"])]


async def test_update_refused_at_write_time_changes_nothing(
    gql: GraphQLClient, pool: asyncpg.Pool, app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    await create_teams(gql, "sre")
    created = await gql.mutate(
        "createEnvironment", "environment { slug }", slug="prod", name="Prod", tier="PRODUCTION",
        provider={"kind": "webhook", "settings": HOOKS},
    )  # fmt: skip
    assert created["errors"] == []
    before = await environment(gql, "prod")
    request_id = uuid.uuid4().hex
    context = racing_context(app, request_id, monkeypatch)
    outcome = await environment_mutations.update_environment(
        context,
        {
            "environment": "prod", "name": "Production",
            "provider": {"kind": "simulated", "settings": {}},
            "protection": {"requiredApprovals": 1, "approverTeams": ["sre"]},
        },
    )  # fmt: skip
    assert [e.code.value for e in outcome.errors] == ["NOT_FOUND"]
    assert await environment(gql, "prod") == before
    assert before["provider"] == {"kind": "webhook"}
    assert before["protection"]["requiredApprovals"] == 0
    assert await audited(pool, request_id) == [("updateEnvironment", "INVALID", ["NOT_FOUND"])]
