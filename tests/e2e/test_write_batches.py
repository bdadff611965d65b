"""New teams and services created at once through the API, committed in batches: each
mutation gets the answer it would get alone (its own entity, CONFLICT for a slug taken,
NOT_FOUND for a missing owner), and each accepted one has exactly one audit record and one
event."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import asyncpg
import httpx2 as httpx
from starlette.applications import Starlette

CREATE_TEAM = (
    "mutation($slug: String!) { createTeam(input: {slug: $slug, name: $slug}) "
    "{ team { slug name } errors { code path } } }"
)
CREATE_SERVICE = (
    "mutation($slug: String!, $owner: String!) { createService(input: {slug: $slug, "
    "name: $slug, owner: $owner}) { service { slug owner { slug } } errors { code path } } }"
)


async def _post(client: httpx.AsyncClient, query: str, **variables: str) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    payload: dict[str, Any] = next(iter(response.json()["data"].values()))
    return payload


async def test_mutations_committed_together_answer_as_each_would_alone(
    app_client: httpx.AsyncClient, pool: asyncpg.Pool, app: Starlette
) -> None:
    batches = app.state.container.write_batches
    batched = batches.batches
    # The audit log is append-only and the outbox outlives a test: only what this one wrote.
    audited_before = await pool.fetchval("SELECT coalesce(max(id), 0) FROM audit_events")
    events_before = await pool.fetchval("SELECT coalesce(max(id), 0) FROM events")
    teams = [f"team-{i:02d}" for i in range(30)]
    wave = [_post(app_client, CREATE_TEAM, slug=slug) for slug in teams]
    wave += [_post(app_client, CREATE_TEAM, slug=slug) for slug in teams[:5]]  # taken
    answers = await asyncio.gather(*wave)
    created = [answer["team"]["slug"] for answer in answers if answer["team"] is not None]
    refused = [answer["errors"] for answer in answers if answer["team"] is None]
    assert sorted(created) == teams
    assert refused == [[{"code": "CONFLICT", "path": ["input", "slug"]}]] * 5

    services = [f"svc-{i:02d}" for i in range(30)]
    wave = [
        _post(app_client, CREATE_SERVICE, slug=s, owner=teams[i]) for i, s in enumerate(services)
    ]
    wave += [_post(app_client, CREATE_SERVICE, slug="orphan", owner="nobody")]
    wave += [_post(app_client, CREATE_SERVICE, slug=services[0], owner=teams[1])]  # taken
    answers = await asyncio.gather(*wave)
    owned = {a["service"]["slug"]: a["service"]["owner"]["slug"] for a in answers if a["service"]}
    assert owned == dict(zip(services, teams, strict=False))
    assert [a["errors"] for a in answers[30:]] == [
        [{"code": "NOT_FOUND", "path": ["input", "owner"]}],
        [{"code": "CONFLICT", "path": ["input", "slug"]}],
    ]
    assert batches.batches > batched  # some were committed together

    audited = Counter(
        (row["operation"], row["outcome"])
        for row in await pool.fetch(
            "SELECT operation, outcome FROM audit_events WHERE id > $1", audited_before
        )
    )
    assert audited == {
        ("createTeam", "ACCEPTED"): 30,
        ("createTeam", "INVALID"): 5,
        ("createService", "ACCEPTED"): 30,
        ("createService", "INVALID"): 2,
    }
    events = await pool.fetch(
        "SELECT e.type, coalesce(s.slug, t.slug) AS slug, o.slug AS team FROM events e "
        "LEFT JOIN services s ON s.id = e.service_id AND e.type = 'SERVICE_CREATED' "
        "LEFT JOIN teams t ON t.id = e.subject_id AND e.type = 'TEAM_CREATED' "
        "LEFT JOIN teams o ON o.id = e.team_id WHERE e.id > $1 ORDER BY e.tx, e.id",
        events_before,
    )
    assert sorted(row["slug"] for row in events if row["type"] == "TEAM_CREATED") == teams
    assert {row["slug"]: row["team"] for row in events if row["type"] == "SERVICE_CREATED"} == (
        dict(zip(services, teams, strict=False))
    )
    assert len(events) == 60
