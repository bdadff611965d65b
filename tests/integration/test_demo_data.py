"""The demo organisation: loaded into an empty catalog once and only once (its data is
checked without a database in `tests/unit/test_demo_plan.py` and
`tests/unit/test_demo_self_service.py`)."""

from __future__ import annotations

import asyncio
import itertools
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
from demo.history import FIRST_RELEASE_DESCRIPTION, PIPELINE
from demo.organisation import load_demo_if_empty
from demo.self_service import (
    CLASSES,
    CROSSPLANE_FAILURE,
    RUNS,
    TEMPLATE,
    Action,
    plan_self_service,
)
from domain.catalog.records import PageRequest
from domain.catalog.services import ServiceFilter
from domain.deployments import states as deployment_states
from domain.deployments.model import DeploymentState
from domain.resources.ports import ResourceFilter
from providers.postgres.deployments import PostgresDeploymentStore
from providers.postgres.resources import PostgresResourceStore
from providers.postgres.tables import CATALOG_TABLES
from providers.resources.registry import validate_settings

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
    "webhooks",
    "webhook_deliveries",
    "webhook_dispatch",
    "web_sessions",
    "oidc_logins",
)
"""Tables the demo never fills (webhooks and sessions are made by people, not loaded)."""
ALL_SERVICES = len(SERVICES) + len(RUNS)
"""Acme's services and those made from the template."""


def expected_counts() -> dict[str, int]:
    """Exact for the catalog and the self-service infrastructure; the deployment tables are
    checked by `check_history_counts`."""
    resources = plan_self_service(datetime.now(UTC)).resources()
    return {
        "teams": len(TEAMS),
        "users": len(USERS),
        "team_members": sum(len(teams) for teams in MEMBERSHIPS.values()),
        "services": ALL_SERVICES,
        "service_owners": ALL_SERVICES + sum(len(teams) for teams in CONTRIBUTORS.values()),
        "service_dependencies": sum(len(targets) for targets in DEPENDENCIES.values()),
        "environments": len(ENVIRONMENTS),
        "api_clients": len(API_CLIENTS),
        "api_tokens": 0,
        "environment_approver_teams": sum(len(p.approver_teams) for p in PROTECTIONS.values()),
        "resource_classes": len(CLASSES),
        "resource_class_environments": sum(len(c.environments) for c in CLASSES),
        "resource_class_approver_teams": sum(len(c.approver_teams) for c in CLASSES),
        "templates": 1,
        "template_environments": len(TEMPLATE.environments),
        "template_resources": len(TEMPLATE.resources),
        "resources": len(resources),
        "resource_status_events": sum(len(r.steps) for r in resources),
        "resource_approvals": sum(s.action is Action.APPROVE for r in resources for s in r.steps),
        # Every first deployment was made (taken from here); no run used an idempotency key.
        "first_deployments": 0,
        "template_runs": 0,
        "idempotency_keys": 0,
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
        owners = {s.slug: s.owner for s in SERVICES} | {run.slug: run.owner for run in RUNS}
        assert {row["slug"]: row["primaries"] for row in primaries} == dict.fromkeys(owners, 1)
        primary_owners = await connection.fetch(
            "SELECT s.slug, t.slug AS team FROM service_owners o"
            " JOIN services s ON s.id = o.service_id JOIN teams t ON t.id = o.team_id"
            " WHERE o.role = 'PRIMARY'"
        )
        assert {row["slug"]: row["team"] for row in primary_owners} == owners
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
    async def broken(*_: object, **__: object) -> int:
        raise ConnectionResetError("the process died here")

    # The catalog, API clients, environments' providers and resources are written; the
    # history fails.
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
    assert len({service for service, _ in pairs}) == ALL_SERVICES
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
    assert len(rows) == ALL_SERVICES
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


# The self-service infrastructure.


async def load_time(pool: asyncpg.Pool) -> datetime:
    """When the demo was loaded: the planned times are relative to it."""
    created = await pool.fetchval(
        "SELECT created_at FROM resource_classes WHERE slug = $1", CLASSES[0].slug
    )
    loaded: datetime = created + CLASSES[0].age
    return loaded


async def test_resources_and_their_history_are_loaded_as_planned(pool: asyncpg.Pool) -> None:
    assert await load_demo_if_empty(pool) is True
    plan = plan_self_service(await load_time(pool))
    rows = {
        (row["service"], row["environment"], row["name"]): row
        for row in await pool.fetch(
            "SELECT r.*, s.slug AS service, e.slug AS environment, c.slug AS class"
            " FROM resources r JOIN services s ON s.id = r.service_id"
            " JOIN environments e ON e.id = r.environment_id"
            " JOIN resource_classes c ON c.id = r.class_id"
        )
    }
    history: dict[int, list[tuple[str, object, str, str | None]]] = {}
    for event in await pool.fetch("SELECT * FROM resource_status_events ORDER BY id"):
        history.setdefault(event["resource_id"], []).append(
            (event["state"], event["at"], event["source"], event["message"])
        )
    approvals = {
        row["resource_id"]: (row["actor_name"], row["decision"], row["at"])
        for row in await pool.fetch("SELECT * FROM resource_approvals")
    }
    names = {user.handle: user.name for user in USERS}
    sources = {Action.REQUEST: "api", Action.APPROVE: "approval", Action.DELETE: "api"}
    for planned in plan.resources():
        row = rows.pop((planned.service, planned.environment, planned.name))
        kind = planned.resource_class.provider_kind
        assert row["class"] == planned.resource_class.slug
        assert (row["state"], row["parameters"]) == (planned.state.value, planned.parameters)
        assert row["requested_by_name"] == names[planned.requester]
        assert row["required_approvals"] == planned.required_approvals
        assert row["created_at"] == planned.requested_at
        assert row["updated_at"] == planned.steps[-1].at
        ready = [step.at for step in planned.steps if step.state.value == "READY"]
        assert row["ready_at"] == (ready[0] if ready else None)
        assert row["action_started_at"] is None
        assert row["leased_by"] is None
        assert [(state, at, source) for state, at, source, _ in history[row["id"]]] == [
            (step.state.value, step.at, sources.get(step.action, f"provider:{kind}"))
            for step in planned.steps
        ]
        if planned.state.value == "FAILED":
            assert row["status_message"] == planned.steps[-1].message
        if ready:  # what the simulated provider reports: outputs and where the secret is
            assert row["outputs"]
            assert row["secret_refs"][0]["store"] == "kubernetes"
        for step in planned.steps:
            if step.actor is not None:
                assert approvals.pop(row["id"]) == (names[step.actor], "APPROVED", step.at)
    assert rows == {}
    assert approvals == {}


async def test_every_resource_rests_where_no_provider_works_on_it(pool: asyncpg.Pool) -> None:
    assert await load_demo_if_empty(pool) is True
    store = PostgresResourceStore(pool)
    assert await store.claim("the-first-start", 10.0) == []  # nothing for the runner
    found = {
        (row["state"], row["environment"]): row["count"]
        for row in await pool.fetch(
            "SELECT r.state, e.slug AS environment, count(*) FROM resources r"
            " JOIN environments e ON e.id = r.environment_id GROUP BY 1, 2"
        )
    }
    states = {state for state, _ in found}
    assert states == {"READY", "FAILED", "DELETED", "WAITING_APPROVAL"}
    assert {environment for state, environment in found if state == "WAITING_APPROVAL"} == {
        "production"
    }
    # The production rules the classes' schemas cannot express, kept by the demo's data.
    production = await pool.fetch(
        "SELECT c.type, r.parameters FROM resources r JOIN resource_classes c"
        " ON c.id = r.class_id JOIN environments e ON e.id = r.environment_id"
        " WHERE e.slug = 'production'"
    )
    assert production
    for row in production:
        if row["type"] == "postgres":
            assert row["parameters"]["highAvailability"] is True
        if row["type"] == "bucket":
            assert row["parameters"]["publicRead"] is False


async def test_the_crossplane_resource_failed_with_the_adapters_message(
    pool: asyncpg.Pool,
) -> None:
    assert await load_demo_if_empty(pool) is True
    store = PostgresResourceStore(pool)
    redis = (await store.classes_by_slugs(["redis"]))["redis"]
    assert redis.provider_kind == "crossplane"
    assert redis.requires_approval
    validate_settings(redis.provider_kind, redis.provider_settings)
    found = await store.page(PageRequest(first=100), ResourceFilter(resource_class="redis"))
    (resource,) = [edge.node for edge in found.edges]
    assert resource.state.value == "FAILED"
    assert resource.status_message == CROSSPLANE_FAILURE
    history = (await store.history([resource.id]))[resource.id]
    assert [event.state.value for event in history] == ["WAITING_APPROVAL", "REQUESTED", "FAILED"]


async def test_the_template_and_the_services_made_from_it(pool: asyncpg.Pool) -> None:
    assert await load_demo_if_empty(pool) is True
    loaded = await load_time(pool)
    store = PostgresResourceStore(pool)
    template = (await store.templates_by_slugs([TEMPLATE.slug]))[TEMPLATE.slug]
    classes = await store.classes_by_ids([entry.class_id for entry in template.resources])
    assert [(classes[e.class_id].slug, e.name) for e in template.resources] == [
        ("postgres", "database"),
        ("bucket", "assets"),
    ]
    assert template.first_version == "0.1.0"
    assert template.created_at == loaded - TEMPLATE.age
    assert dict(template.service) == {
        "lifecycle": "EXPERIMENTAL", "tier": 3, "tags": ["python", "http"],
    }  # fmt: skip
    names = {user.handle: user.name for user in USERS}
    for run in RUNS:
        service = await pool.fetchrow("SELECT * FROM services WHERE slug = $1", run.slug)
        assert service is not None
        assert service["created_at"] == loaded - run.age
        assert (service["lifecycle"], service["tier"]) == ("EXPERIMENTAL", 3)
        ready = await pool.fetchval(
            "SELECT max(r.ready_at) FROM resources r JOIN environments e"
            " ON e.id = r.environment_id WHERE r.service_id = $1 AND e.slug = 'development'",
            service["id"],
        )
        # Its history begins with the template's first deployment, once development was ready.
        first = await pool.fetchrow(
            "SELECT d.* FROM deployments d WHERE d.service_id = $1 ORDER BY d.created_at LIMIT 1",
            service["id"],
        )
        assert first is not None
        assert (first["version"], first["kind"], first["commit_sha"]) == ("0.1.0", "DEPLOY", None)
        assert first["description"] == FIRST_RELEASE_DESCRIPTION
        assert first["requested_by_name"] == names[run.requester]
        assert ready < first["created_at"]


async def test_a_load_failing_among_the_resources_leaves_nothing(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_: object, **__: object) -> None:
        raise ConnectionResetError("the process died here")

    # The catalog, the classes, the template and the first template run are written.
    monkeypatch.setattr(PostgresResourceStore, "decide", broken)
    with pytest.raises(ConnectionResetError):
        await load_demo_if_empty(pool)
    assert await counts(pool) == dict.fromkeys(TABLES, 0)

    monkeypatch.undo()
    assert await load_demo_if_empty(pool) is True
    check_history_counts(await counts(pool))
