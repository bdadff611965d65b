"""The demo's self-service infrastructure as a client sees it at the first start (`make run`):
resources in their final states, the template, and the live health of the resource whose
provider cannot be reached."""

from __future__ import annotations

import asyncpg
import pytest

from demo.organisation import load_demo_if_empty
from demo.self_service import CROSSPLANE_FAILURE, CROSSPLANE_TOKEN_ENV, RUNS, TEMPLATE
from tests.support.graphql import GraphQLClient

OVERVIEW = """
{
  resources(first: 100) { totalCount nodes { name state service { slug } environment { slug } } }
  templates { nodes { slug firstVersion resources { name } } }
  resourceClasses { nodes { slug provider { kind } } }
}
"""
CROSSPLANE = """
{
  resources(filter: { class: "redis" }) {
    nodes { id name state statusMessage history { state } live { healthy } }
  }
}
"""


async def test_the_demo_resources_through_the_api(gql: GraphQLClient, pool: asyncpg.Pool) -> None:
    assert await load_demo_if_empty(pool) is True

    found = await gql(OVERVIEW)

    nodes = found["resources"]["nodes"]
    per_run = len(TEMPLATE.environments) * len(TEMPLATE.resources)
    assert found["resources"]["totalCount"] == len(nodes) == len(RUNS) * per_run + 1
    services = {node["service"]["slug"] for node in nodes}
    assert services == {run.slug for run in RUNS} | {"cart-service"}
    by_state: dict[str, int] = {}
    for node in nodes:
        by_state[node["state"]] = by_state.get(node["state"], 0) + 1
    assert set(by_state) == {"READY", "FAILED", "DELETED", "WAITING_APPROVAL"}
    assert by_state["READY"] > by_state["FAILED"] + by_state["WAITING_APPROVAL"]
    waiting = {n["environment"]["slug"] for n in nodes if n["state"] == "WAITING_APPROVAL"}
    assert waiting == {"production"}
    assert found["templates"]["nodes"] == [
        {
            "slug": "python-http-service",
            "firstVersion": "0.1.0",
            "resources": [{"name": "database"}, {"name": "assets"}],
        }
    ]
    kinds = {node["slug"]: node["provider"]["kind"] for node in found["resourceClasses"]["nodes"]}
    assert kinds == {"postgres": "simulated", "bucket": "simulated", "redis": "crossplane"}


async def test_the_crossplane_resource_shows_its_provider_error(
    gql: GraphQLClient, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(CROSSPLANE_TOKEN_ENV, raising=False)
    assert await load_demo_if_empty(pool) is True

    answer = await gql.raw(CROSSPLANE)

    (node,) = answer["data"]["resources"]["nodes"]
    assert node["name"] == "session-cache"
    assert node["state"] == "FAILED"
    assert node["statusMessage"] == CROSSPLANE_FAILURE
    assert [h["state"] for h in node["history"]] == ["WAITING_APPROVAL", "REQUESTED", "FAILED"]
    assert node["live"] is None
    (error,) = answer["errors"]
    assert error["extensions"]["code"] == "PROVIDER_ERROR"
    assert error["path"] == ["resources", "nodes", 0, "live"]
    assert CROSSPLANE_FAILURE in error["message"]
