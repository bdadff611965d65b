"""The demo organisation: loaded into an empty catalog once and only once (its data is
checked without a database in `tests/unit/test_demo_plan.py`)."""

from __future__ import annotations

import asyncio
import itertools
import time
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from demo import organisation as demo
from demo.acme import (
    API_CLIENTS,
    CONTRIBUTORS,
    DEPENDENCIES,
    ENVIRONMENT_PROVIDERS,
    ENVIRONMENTS,
    MEMBERSHIPS,
    PROTECTIONS,
    SERVICES,
    TEAMS,
    USERS,
)
from demo.history import PIPELINE
from demo.organisation import load_demo_if_empty
from domain.catalog.records import PageRequest
from domain.catalog.services import ServiceFilter
from domain.deployments import states as deployment_states
from domain.deployments.model import DeploymentState
from providers.postgres.deployments import PostgresDeploymentStore
from providers.postgres.tables import CATALOG_TABLES

TABLES = CATALOG_TABLES


async def counts(pool: asyncpg.Pool) -> dict[str, int]:
    async with pool.acquire() as connection:
        return {
            table: int(await connection.fetchval(f"SELECT count(*) FROM {table}"))
            for table in TABLES
        }


async def catalog_state(pool: asyncpg.Pool) -> tuple[dict[str, int], int, object]:
    """Row counts, the sum of all versions and the latest change: any write moves one."""
    async with pool.acquire() as connection:
        versions = await connection.fetchval(
            "SELECT (SELECT coalesce(sum(version), 0) FROM teams)"
            " + (SELECT coalesce(sum(version), 0) FROM users)"
            " + (SELECT coalesce(sum(version), 0) FROM services)"
            " + (SELECT coalesce(sum(version), 0) FROM environments)"
        )
        latest = await connection.fetchval(
            "SELECT greatest("
            " (SELECT max(updated_at) FROM teams), (SELECT max(updated_at) FROM users),"
            " (SELECT max(updated_at) FROM services), (SELECT max(updated_at) FROM environments))"
        )
    return await counts(pool), int(versions), latest


DEPLOYMENT_TABLES = ("deployments", "deployment_events", "deployment_approvals")
HISTORY_TABLES = (*DEPLOYMENT_TABLES, "events")
NOT_DEMO_TABLES = (
    "webhooks", "webhook_deliveries", "webhook_dispatch",
    "resource_classes", "resource_class_environments", "resource_class_approver_teams",
    "resources", "resource_status_events", "resource_approvals", "templates",
    "template_environments", "template_resources", "first_deployments", "template_runs",
)  # fmt: skip
"""Tables the demo never fills (webhooks and resources are made by people, not loaded)."""


def expected_counts() -> dict[str, int]:
    """Exact for the catalog; the deployment tables are checked by `check_history_counts`."""
    return {
        "teams": len(TEAMS),
        "users": len(USERS),
        "team_members": sum(len(teams) for teams in MEMBERSHIPS.values()),
        "services": len(SERVICES),
        "service_owners": len(SERVICES) + sum(len(teams) for teams in CONTRIBUTORS.values()),
        "service_dependencies": sum(len(targets) for targets in DEPENDENCIES.values()),
        "environments": len(ENVIRONMENTS),
        "api_clients": len(API_CLIENTS),
        "api_tokens": 0,
        "environment_approver_teams": sum(len(p.approver_teams) for p in PROTECTIONS.values()),
    }


def check_history_counts(found: dict[str, int]) -> None:
    """A few months of history, loaded once: several hundred deployments, each with its
    history, and approvals in production."""
    assert 300 <= found["deployments"] <= 1500, found
    assert found["deployment_events"] >= 2 * found["deployments"]
    assert found["deployment_approvals"] >= 50
    assert found["events"] > 0
    loaded = {k: v for k, v in found.items() if k not in HISTORY_TABLES + NOT_DEMO_TABLES}
    assert loaded == expected_counts()


# Loading it.


async def test_loads_into_an_empty_catalog(pool: asyncpg.Pool) -> None:
    assert await load_demo_if_empty(pool) is True

    found = await counts(pool)
    check_history_counts(found)
    assert found["teams"] >= 8
    assert found["users"] >= 15
    assert found["services"] >= 15
    assert found["service_dependencies"] >= 20

    async with pool.acquire() as connection:
        levels = await connection.fetchval(
            "WITH RECURSIVE tree(id, level) AS ("
            " SELECT id, 1 FROM teams WHERE parent_id IS NULL"
            " UNION ALL SELECT t.id, tree.level + 1 FROM teams t JOIN tree ON t.parent_id = tree.id"
            ") SELECT max(level) FROM tree"
        )
        assert levels >= 3  # roots, their sub-teams and at least one team below those

        primaries = await connection.fetch(
            "SELECT s.slug, count(o.team_id) FILTER (WHERE o.role = 'PRIMARY') AS primaries"
            " FROM services s LEFT JOIN service_owners o ON o.service_id = s.id GROUP BY s.slug"
        )
        assert {row["slug"]: row["primaries"] for row in primaries} == {s.slug: 1 for s in SERVICES}
        primary_owners = await connection.fetch(
            "SELECT s.slug, t.slug AS team FROM service_owners o"
            " JOIN services s ON s.id = o.service_id JOIN teams t ON t.id = o.team_id"
            " WHERE o.role = 'PRIMARY'"
        )
        assert {row["slug"]: row["team"] for row in primary_owners} == {
            s.slug: s.owner for s in SERVICES
        }
        contributors = await connection.fetchval(
            "SELECT count(*) FROM service_owners WHERE role = 'CONTRIBUTOR'"
        )
        assert contributors > 0

        memberships = await connection.fetch(
            "SELECT u.handle, count(m.team_id) AS teams"
            " FROM users u LEFT JOIN team_members m ON m.user_id = u.id GROUP BY u.handle"
        )
        assert all(1 <= row["teams"] <= 2 for row in memberships)

        lifecycles = {
            row["lifecycle"]
            for row in await connection.fetch("SELECT DISTINCT lifecycle FROM services")
        }
        assert lifecycles == {"EXPERIMENTAL", "PRODUCTION", "DEPRECATED"}

        checkout = await connection.fetchrow(
            "SELECT tier, tags, links, repository_url FROM services WHERE slug = 'checkout-api'"
        )
        assert checkout is not None
        assert checkout["tier"] == 1
        assert "pci" in checkout["tags"]
        assert checkout["links"]
        assert checkout["repository_url"].startswith("https://git.acme.example/")

        environments = {
            row["slug"]: row["tier"]
            for row in await connection.fetch("SELECT slug, tier FROM environments")
        }
    assert environments["development"] == "DEVELOPMENT"
    assert environments["staging"] == "STAGING"
    assert environments["production"] == "PRODUCTION"


async def test_second_call_changes_nothing(pool: asyncpg.Pool) -> None:
    assert await load_demo_if_empty(pool) is True
    before = await catalog_state(pool)

    assert await load_demo_if_empty(pool) is False

    assert await catalog_state(pool) == before


async def test_does_not_load_into_a_catalog_with_teams(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as connection:
        await connection.execute("INSERT INTO teams (slug, name) VALUES ('mine', 'Mine')")

    assert await load_demo_if_empty(pool) is False

    assert await counts(pool) == {table: int(table == "teams") for table in TABLES}


async def test_a_failed_load_leaves_nothing_and_the_next_one_loads(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(_: asyncpg.Pool) -> int:
        raise ConnectionResetError("the process died here")

    # The catalog, API clients, environments' providers are written; the history fails.
    monkeypatch.setattr(demo, "load_deployment_history", broken)
    with pytest.raises(ConnectionResetError):
        await load_demo_if_empty(pool)
    assert await counts(pool) == dict.fromkeys(TABLES, 0)

    monkeypatch.undo()
    assert await load_demo_if_empty(pool) is True
    check_history_counts(await counts(pool))


async def test_concurrent_calls_load_it_once(pool: asyncpg.Pool) -> None:
    results = await asyncio.gather(*(load_demo_if_empty(pool) for _ in range(3)))

    assert sorted(results) == [False, False, True]
    check_history_counts(await counts(pool))
    async with pool.acquire() as connection:
        assert not await connection.fetchval(  # one history, not two or three
            "SELECT EXISTS (SELECT 1 FROM deployments GROUP BY service_id, environment_id, number"
            " HAVING count(*) > 1)"
        )


# The deployment history.


async def test_environments_run_on_the_simulated_provider_and_production_is_protected(
    pool: asyncpg.Pool,
) -> None:
    assert await load_demo_if_empty(pool) is True
    async with pool.acquire() as connection:
        rows = await connection.fetch(
            "SELECT e.slug, e.provider_kind, e.provider_settings, e.required_approvals,"
            " e.prevent_self_approval, e.frozen, ARRAY(SELECT t.slug FROM"
            " environment_approver_teams a JOIN teams t ON t.id = a.team_id"
            " WHERE a.environment_id = e.id ORDER BY t.slug) AS approvers FROM environments e"
        )
    found = {row["slug"]: row for row in rows}
    assert set(found) == {e.slug for e in ENVIRONMENTS} >= set(PIPELINE)
    for slug, row in found.items():
        assert row["provider_kind"] == "simulated"
        assert row["provider_settings"] == dict(ENVIRONMENT_PROVIDERS[slug][1])
        assert not row["frozen"]
    production = found["production"]
    assert production["required_approvals"] == 1
    assert production["prevent_self_approval"] is True
    assert production["approvers"] == ["platform", "sre"]
    assert all(found[slug]["required_approvals"] == 0 for slug in ("development", "qa", "staging"))


def check_pairs(deployments: dict[int, asyncpg.Record]) -> None:
    pairs: dict[tuple[int, int], list[asyncpg.Record]] = {}
    for row in deployments.values():
        pairs.setdefault((row["service_id"], row["environment_id"]), []).append(row)
    assert len({service for service, _ in pairs}) == len(SERVICES)
    for history in pairs.values():
        history.sort(key=lambda row: row["number"])
        # Numbers 1..n in creation order, and each one's `previous` is what was current then.
        assert [row["number"] for row in history] == list(range(1, len(history) + 1))
        assert all(a["created_at"] < b["created_at"] for a, b in itertools.pairwise(history))
        states = [DeploymentState(row["state"]) for row in history]
        succeeded = [
            row for row, s in zip(history, states, strict=True) if s in deployment_states.SUCCESSFUL
        ]
        assert states.count(DeploymentState.SUCCEEDED) == (1 if succeeded else 0)
        if succeeded:  # the current one is the last that succeeded
            assert succeeded[-1]["state"] == "SUCCEEDED"
        assert sum(s in deployment_states.UNFINISHED for s in states) <= 1
        # One at a time: each is created after the one before it finished.
        for before, after in itertools.pairwise(history):
            assert before["finished_at"] is not None
            assert before["finished_at"] < after["created_at"]


def check_deployment(
    row: asyncpg.Record,
    deployments: dict[int, asyncpg.Record],
    trail: list[asyncpg.Record],
    decisions: list[asyncpg.Record],
    approver_ids: set[int],
    client_ids: set[int],
    now: datetime,
) -> None:
    state = DeploymentState(row["state"])
    assert row["created_at"] <= now
    if row["started_at"] is not None:
        assert row["created_at"] <= row["started_at"]
    if row["finished_at"] is not None:
        assert row["started_at"] is None or row["started_at"] <= row["finished_at"]
        assert row["finished_at"] <= now
    assert (row["finished_at"] is None) == (state in deployment_states.UNFINISHED)
    # History: every state entered, along the state machine, in time order, ending here.
    assert DeploymentState(trail[-1]["state"]) is state
    assert trail[0]["at"] == row["created_at"]
    for a, b in itertools.pairwise(trail):
        assert deployment_states.allowed(
            DeploymentState(a["state"]), DeploymentState(b["state"]), system=True
        )
    check_links(row, deployments, client_ids)
    check_approvals(row, state, trail, decisions, approver_ids)


def check_links(
    row: asyncpg.Record, deployments: dict[int, asyncpg.Record], client_ids: set[int]
) -> None:
    """`previous`, `promotedFrom`, `rollbackOf`/`rollbackTo` and who asked, by kind."""
    if row["previous_id"] is not None:
        previous = deployments[row["previous_id"]]
        assert (previous["service_id"], previous["environment_id"]) == (
            row["service_id"], row["environment_id"],
        )  # fmt: skip
        assert previous["number"] < row["number"]
    if row["kind"] == "PROMOTION":
        source = deployments[row["promoted_from_id"]]
        assert source["service_id"] == row["service_id"]
        assert PIPELINE.index(source["environment"]) == PIPELINE.index(row["environment"]) - 1
        assert source["finished_at"] < row["created_at"]
        assert (source["version"], source["commit_sha"]) == (row["version"], row["commit_sha"])
        assert DeploymentState(source["state"]) in deployment_states.SUCCESSFUL
    if row["kind"] == "ROLLBACK":
        replaced = deployments[row["rollback_of_id"]]
        assert replaced["id"] == row["previous_id"]
        assert replaced["state"] == "ROLLED_BACK"
        target = deployments[row["rollback_to_id"]]
        assert target["number"] < replaced["number"]
        assert (target["version"], target["commit_sha"]) == (row["version"], row["commit_sha"])
        assert DeploymentState(target["state"]) in deployment_states.SUCCESSFUL
    else:
        assert row["rollback_to_id"] is None
    if row["kind"] == "RECORDED":
        assert row["requested_by_kind"] == "client"
        assert row["requested_by_id"] in client_ids
        assert row["committed_at"] is not None
        assert row["committed_at"] < row["created_at"]
        assert row["external_id"] is not None
        assert row["environment"] == "development"
    else:
        assert row["requested_by_kind"] == "user"
        assert row["committed_at"] is None


def check_approvals(
    row: asyncpg.Record,
    state: DeploymentState,
    trail: list[asyncpg.Record],
    decisions: list[asyncpg.Record],
    approver_ids: set[int],
) -> None:
    # Production: approved (or rejected) by a platform team member, never the requester.
    if row["environment"] != "production":
        assert decisions == []
        return
    assert row["kind"] != "RECORDED"
    assert trail[0]["state"] == "WAITING_APPROVAL"
    if state is DeploymentState.WAITING_APPROVAL:
        assert decisions == []
        return
    assert len(decisions) == 1
    decision = decisions[0]
    assert decision["actor_id"] in approver_ids
    assert decision["actor_id"] != row["requested_by_id"]
    expected = "REJECTED" if trail[1]["state"] == "CANCELED" else "APPROVED"
    assert decision["decision"] == expected
    assert decision["at"] == trail[1]["at"]


async def test_history_keeps_the_store_invariants(pool: asyncpg.Pool) -> None:
    assert await load_demo_if_empty(pool) is True
    async with pool.acquire() as connection:
        now: datetime = await connection.fetchval("SELECT now()")
        deployments = {
            row["id"]: row
            for row in await connection.fetch(
                "SELECT d.*, e.slug AS environment FROM deployments d"
                " JOIN environments e ON e.id = d.environment_id"
            )
        }
        events: dict[int, list[asyncpg.Record]] = {}
        for row in await connection.fetch("SELECT * FROM deployment_events ORDER BY at, id"):
            events.setdefault(row["deployment_id"], []).append(row)
        approvals: dict[int, list[asyncpg.Record]] = {}
        for row in await connection.fetch("SELECT * FROM deployment_approvals"):
            approvals.setdefault(row["deployment_id"], []).append(row)
        approver_ids = {
            row["user_id"]
            for row in await connection.fetch(
                "SELECT m.user_id FROM team_members m JOIN environment_approver_teams a"
                " ON a.team_id = m.team_id JOIN environments e ON e.id = a.environment_id"
                " WHERE e.slug = 'production'"
            )
        }
        clients = {row["id"] for row in await connection.fetch("SELECT id FROM api_clients")}

    check_pairs(deployments)
    kinds: dict[str, int] = {}
    for row in deployments.values():
        kinds[row["kind"]] = kinds.get(row["kind"], 0) + 1
        check_deployment(
            row, deployments, events[row["id"]], approvals.get(row["id"], []), approver_ids,
            clients, now,
        )  # fmt: skip

    assert kinds.get("RECORDED", 0) >= 10
    assert kinds.get("ROLLBACK", 0) >= 2
    assert kinds["PROMOTION"] > kinds["DEPLOY"]
    by_state: dict[tuple[str, str], int] = {}
    for row in deployments.values():
        key = (row["environment"], row["state"])
        by_state[key] = by_state.get(key, 0) + 1
    assert by_state[("production", "ROLLED_BACK")] >= 2
    assert by_state[("production", "WAITING_APPROVAL")] >= 1
    assert by_state.get(("production", "CANCELED"), 0) >= 1
    assert all(by_state.get((environment, "FAILED"), 0) >= 1 for environment in PIPELINE)
    # Only production approvals may be pending: nothing for the runner to pick up at start.
    assert {key for key in by_state if key[1] in {"QUEUED", "IN_PROGRESS"}} == set()


async def test_the_matrix_and_the_metrics_are_interesting(pool: asyncpg.Pool) -> None:
    assert await load_demo_if_empty(pool) is True
    store = PostgresDeploymentStore(pool)
    matrix = await store.release_matrix(PageRequest(first=100), ServiceFilter())
    rows = [edge.node for edge in matrix.edges]
    assert len(rows) == len(SERVICES)
    versions = {
        row.service.slug: {
            cell.environment.slug: cell.current.version if cell.current else None
            for cell in row.cells
        }
        for row in rows
    }
    assert all(cells["development"] is not None for cells in versions.values())
    drifting = [slug for slug, cells in versions.items() if len(set(cells.values())) > 1]
    assert len(drifting) >= 3, versions  # some releases are still on their way
    assert any(cell.pending for row in rows for cell in row.cells)

    since = datetime.now(UTC) - timedelta(days=30)
    production = await store.metrics("production", None, None, since, None)
    development = await store.metrics("development", None, None, since, None)
    for found in (production, development):
        assert found.deployments > 20
        assert found.succeeded + found.failed <= found.deployments
        assert 0.5 < found.deployments_per_day < 10
        assert found.change_failure_rate is not None
        assert 0 < found.change_failure_rate < 0.3
    assert development.deployments > production.deployments
    assert development.median_lead_time_seconds is not None
    assert production.median_lead_time_seconds is not None
    # Production waits for an approval: its lead time is longer.
    assert 60 < development.median_lead_time_seconds < production.median_lead_time_seconds
    assert production.median_lead_time_seconds < 3 * 86_400
    quarter = await store.metrics("production", None, None, since - timedelta(days=60), None)
    assert quarter.rolled_back >= 2
    assert quarter.mean_time_to_restore_seconds is not None
    assert 600 < quarter.mean_time_to_restore_seconds < 14 * 86_400
    payments = await store.metrics("production", None, "payments", since, None)
    assert 0 < payments.deployments < production.deployments


async def test_history_loads_fast(pool: asyncpg.Pool) -> None:
    started = time.perf_counter()
    assert await load_demo_if_empty(pool) is True
    assert time.perf_counter() - started < 2.0  # about 0.3 s on a laptop; history ~0.1 s
