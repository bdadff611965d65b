"""Deployments read through the API: Deployment and its fields, the listings and their
filters, what runs where (`currentDeployment`, `environments`, `releaseMatrix`), environments'
provider and protection, `compareEnvironments`, `node(id:)`, and statement counts that do not
grow with the rows. Deployments are made through the store directly."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from api.graphql_http import GraphQLEndpoint
from domain.access.model import ActorKind
from domain.deployments.model import (
    ApprovalDecision,
    DeploymentKind,
    DeploymentRecord,
    Health,
    LiveStatus,
    Requester,
)
from domain.deployments.model import DeploymentState as S
from domain.deployments.ports import ProviderSettings
from domain.errors import ProviderFailure
from providers.postgres.deployments import PostgresDeploymentStore
from resolvers.global_ids import encode_id
from resolvers.live_status import LiveStatusLookup
from tests.support.graphql import GraphQLClient
from tests.support.statements import StatementLog

ADA = Requester(ActorKind.USER, 1, "Ada")
BOB = Requester(ActorKind.USER, 2, "Bob")
CI = Requester(ActorKind.CLIENT, 1, "api-ci")
ADMIN = Requester(ActorKind.LOCAL_ADMIN, None, "local admin")
GONE = Requester(ActorKind.USER, 999, "Gone Person")


@pytest.fixture
async def store(pool: asyncpg.Pool) -> PostgresDeploymentStore:
    """Users ada and bob (bob in team `release`), API client `api-ci`, services `api` and
    `web`, environments `staging` and `prod`."""
    await pool.execute(
        "INSERT INTO users (handle, name, email) VALUES ('ada', 'Ada', 'a@x.io'),"
        " ('bob', 'Bob', 'b@x.io');"
        "INSERT INTO teams (slug, name) VALUES ('release', 'Release');"
        "INSERT INTO team_members (team_id, user_id) VALUES (1, 2);"
        "INSERT INTO api_clients (slug, name, team_id) VALUES ('api-ci', 'api-ci', 1);"
        "INSERT INTO services (slug, name) VALUES ('api', 'API'), ('web', 'Web');"
        "INSERT INTO environments (slug, name, tier) VALUES ('staging', 'Staging', 'STAGING'),"
        " ('prod', 'Production', 'PRODUCTION')"
    )
    return PostgresDeploymentStore(pool)


async def deploy(
    store: PostgresDeploymentStore,
    version: str,
    service: str = "api",
    env: str = "staging",
    requester: Requester = ADA,
    commit_sha: str | None = None,
) -> DeploymentRecord:
    record, created = await store.create(
        service, env, version, commit_sha, f"ship {version}", DeploymentKind.DEPLOY, requester
    )
    assert created
    return record


async def succeed(store: PostgresDeploymentStore, record: DeploymentRecord) -> DeploymentRecord:
    await store.transition(
        record.id, S.IN_PROGRESS, raw_status="Progressing", message=None, source="provider:t"
    )
    return await store.transition(
        record.id, S.SUCCEEDED, raw_status="Healthy", message="done", source="provider:t"
    )


async def shipped(store: PostgresDeploymentStore, version: str, **where: Any) -> DeploymentRecord:
    return await succeed(store, await deploy(store, version, **where))


def gid(record: DeploymentRecord) -> str:
    return encode_id("Deployment", record.id)


DEPLOYMENT_FIELDS = """
id number version commitSha description kind state rawStatus statusMessage externalId url logUrl
createdAt startedAt finishedAt
service { slug } environment { slug }
provider { name kind capabilities }
requestedBy { __typename name ... on User { handle } }
promotedFrom { number } rollbackOf { number } previous { number version }
history { state rawStatus message source at }
approvals { decision }
"""


async def test_a_deployment_by_node_id_with_every_field(
    gql: GraphQLClient, store: PostgresDeploymentStore
) -> None:
    first = await shipped(store, "1.0.0")
    second = await succeed(store, await deploy(store, "1.1.0", commit_sha="abc1234"))
    data = await gql(
        f"query($a: ID!, $b: ID!) {{ a: node(id: $a) {{ ... on Deployment {{ {DEPLOYMENT_FIELDS} }} }}"
        f" b: node(id: $b) {{ __typename ... on Deployment {{ {DEPLOYMENT_FIELDS} }} }} }}",
        a=gid(first),
        b=gid(second),
    )
    old, new = data["a"], data["b"]
    assert new["__typename"] == "Deployment"
    assert new["id"] == gid(second)
    assert {k: new[k] for k in ("number", "version", "commitSha", "description", "kind")} == {
        "number": 2,
        "version": "1.1.0",
        "commitSha": "abc1234",
        "description": "ship 1.1.0",
        "kind": "DEPLOY",
    }
    assert (new["state"], new["rawStatus"], new["statusMessage"]) == (
        "SUCCEEDED",
        "Healthy",
        "done",
    )
    assert all(new[name] for name in ("createdAt", "startedAt", "finishedAt"))
    assert (new["service"], new["environment"]) == ({"slug": "api"}, {"slug": "staging"})
    assert new["provider"] == {
        "name": "simulated",
        "kind": "simulated",
        "capabilities": ["DEPLOY", "CANCEL", "ROLLBACK", "LIVE_STATUS"],
    }
    assert new["requestedBy"] == {"__typename": "User", "name": "Ada", "handle": "ada"}
    assert new["previous"] == {"number": 1, "version": "1.0.0"}
    assert (new["promotedFrom"], new["rollbackOf"], new["approvals"]) == (None, None, [])
    assert [e["state"] for e in new["history"]] == ["QUEUED", "IN_PROGRESS", "SUCCEEDED"]
    assert new["history"][-1]["source"] == "provider:t"
    assert new["history"][-1]["message"] == "done"
    assert (old["state"], old["previous"]) == ("INACTIVE", None)
    assert [e["state"] for e in old["history"]][-1] == "INACTIVE"


async def test_requesters_of_every_kind(gql: GraphQLClient, store: PostgresDeploymentStore) -> None:
    by_client = await shipped(store, "1", requester=CI)
    by_admin = await deploy(store, "1", service="web", requester=ADMIN)
    by_gone = await deploy(store, "1", env="prod", requester=GONE)
    query = "query($id: ID!) { node(id: $id) { ... on Deployment { requestedBy { __typename name "
    query += "... on ApiClient { slug } } } } }"
    actors = [
        (await gql(query, id=gid(record)))["node"]["requestedBy"]
        for record in (by_client, by_admin, by_gone)
    ]
    assert actors == [
        {"__typename": "ApiClient", "name": "api-ci", "slug": "api-ci"},
        {"__typename": "LocalAdmin", "name": "local admin"},
        {"__typename": "FormerActor", "name": "Gone Person"},
    ]


async def test_unknown_deployment_ids_are_null(
    gql: GraphQLClient, store: PostgresDeploymentStore
) -> None:
    data = await gql("query($id: ID!) { node(id: $id) { id } }", id=encode_id("Deployment", 42))
    assert data == {"node": None}


async def test_deployments_listing_pages_and_filters(
    gql: GraphQLClient, store: PostgresDeploymentStore
) -> None:
    await shipped(store, "1")
    await shipped(store, "2")
    await deploy(store, "3")
    await shipped(store, "1", service="web")
    await deploy(store, "1", env="prod")
    query = """
    query($first: Int, $after: String, $filter: DeploymentFilter) {
      deployments(first: $first, after: $after, filter: $filter) {
        totalCount
        nodes { version state service { slug } environment { slug } }
        pageInfo { hasNextPage endCursor }
      }
    }"""
    first = (await gql(query, first=3))["deployments"]
    assert first["totalCount"] == 5
    assert first["pageInfo"]["hasNextPage"] is True
    newest = [
        (n["service"]["slug"], n["environment"]["slug"], n["version"]) for n in first["nodes"]
    ]
    assert newest == [("api", "prod", "1"), ("web", "staging", "1"), ("api", "staging", "3")]
    rest = (await gql(query, first=3, after=first["pageInfo"]["endCursor"]))["deployments"]
    assert [n["version"] for n in rest["nodes"]] == ["2", "1"]
    assert rest["pageInfo"]["hasNextPage"] is False

    async def versions(**wanted: Any) -> tuple[int, list[str]]:
        found = (await gql(query, filter=wanted))["deployments"]
        return found["totalCount"], [n["version"] for n in found["nodes"]]

    assert await versions(service="api", environment="staging") == (3, ["3", "2", "1"])
    assert await versions(states=["SUCCEEDED", "INACTIVE"]) == (3, ["1", "2", "1"])
    assert await versions(service="api", states=["QUEUED"]) == (2, ["1", "3"])
    assert await versions(environment="nowhere") == (0, [])


async def test_service_and_environment_deployments(
    gql: GraphQLClient, store: PostgresDeploymentStore
) -> None:
    await shipped(store, "1")
    await shipped(store, "2")
    await shipped(store, "1", service="web")
    await deploy(store, "2", env="prod")
    data = await gql(
        """{
          services { nodes { slug
            all: deployments { totalCount nodes { version } }
            staging: deployments(environment: "staging", states: [SUCCEEDED]) {
              totalCount nodes { version } }
            paged: deployments(first: 1) { pageInfo { hasNextPage } nodes { version } }
          } }
          environment(slug: "staging") {
            deployments(service: "api") { totalCount nodes { version state } }
            everything: deployments(first: 2) { totalCount nodes { service { slug } } }
          }
        }"""
    )
    api, web = data["services"]["nodes"]
    assert api["all"] == {"totalCount": 3, "nodes": [{"version": v} for v in ("2", "2", "1")]}
    assert api["staging"] == {"totalCount": 1, "nodes": [{"version": "2"}]}
    assert api["paged"] == {"pageInfo": {"hasNextPage": True}, "nodes": [{"version": "2"}]}
    assert web["all"]["totalCount"] == 1
    staging = data["environment"]
    assert staging["deployments"] == {
        "totalCount": 2,
        "nodes": [{"version": "2", "state": "SUCCEEDED"}, {"version": "1", "state": "INACTIVE"}],
    }
    assert staging["everything"]["totalCount"] == 3
    assert staging["everything"]["nodes"] == [
        {"service": {"slug": "web"}},
        {"service": {"slug": "api"}},
    ]


async def test_current_pending_and_environments_of_a_service(
    gql: GraphQLClient, store: PostgresDeploymentStore
) -> None:
    await shipped(store, "1")
    await shipped(store, "2")
    await deploy(store, "3")
    data = await gql(
        """{ service(slug: "api") {
          staging: currentDeployment(environment: "staging") { version state }
          prod: currentDeployment(environment: "prod") { version }
          environments { environment { slug } current { version } pending { version state } }
        } }"""
    )
    api = data["service"]
    assert api["staging"] == {"version": "2", "state": "SUCCEEDED"}
    assert api["prod"] is None
    assert api["environments"] == [
        {
            "environment": {"slug": "staging"},
            "current": {"version": "2"},
            "pending": [{"version": "3", "state": "QUEUED"}],
        },
        {"environment": {"slug": "prod"}, "current": None, "pending": []},
    ]
    body = await gql.raw(
        '{ service(slug: "api") { currentDeployment(environment: "nope") { id } } }'
    )
    assert body["data"] == {"service": {"currentDeployment": None}}
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert body["errors"][0]["path"] == ["service", "currentDeployment"]


async def test_provider_protection_and_approvals(
    gql: GraphQLClient, store: PostgresDeploymentStore
) -> None:
    await store.set_protection("prod", 1, ["release"], True)
    await store.set_provider(
        "staging", "webhook", {"url": "https://hooks.x.io/d", "secretEnv": "PAVED_SECRET_S"}
    )
    waiting = await deploy(store, "1", env="prod")
    await store.approve(waiting.id, BOB, ApprovalDecision.APPROVED, "lgtm", [1])
    await store.freeze("prod", "release week")
    data = await gql(
        """query($id: ID!) {
          environments { nodes { slug
            provider { name kind capabilities }
            protection { requiredApprovals approverTeams { slug } preventSelfApproval frozen
              freezeReason }
          } }
          node(id: $id) { ... on Deployment { state
            approvals { actor { __typename name } decision comment at } } }
        }""",
        id=gid(waiting),
    )
    staging, prod = data["environments"]["nodes"]
    assert staging["provider"] == {"name": "webhook", "kind": "webhook", "capabilities": ["DEPLOY"]}
    assert staging["protection"] == {
        "requiredApprovals": 0,
        "approverTeams": [],
        "preventSelfApproval": True,
        "frozen": False,
        "freezeReason": None,
    }
    assert prod["provider"]["kind"] == "simulated"
    assert prod["protection"] == {
        "requiredApprovals": 1,
        "approverTeams": [{"slug": "release"}],
        "preventSelfApproval": True,
        "frozen": True,
        "freezeReason": "release week",
    }
    deployment = data["node"]
    assert deployment["state"] == "QUEUED"
    [approval] = deployment["approvals"]
    assert approval["actor"] == {"__typename": "User", "name": "Bob"}
    assert (approval["decision"], approval["comment"]) == ("APPROVED", "lgtm")
    assert approval["at"]


MATRIX = """
query($environments: [String!], $first: Int, $after: String, $filter: ServiceFilter) {
  releaseMatrix(environments: $environments, first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { service { slug } cells { environment { slug } current { version } pending { version } } }
  }
}"""


def cells(row: dict[str, Any]) -> list[tuple[str, str | None, list[str]]]:
    return [
        (
            cell["environment"]["slug"],
            cell["current"]["version"] if cell["current"] else None,
            [p["version"] for p in cell["pending"]],
        )
        for cell in row["cells"]
    ]


async def test_release_matrix(gql: GraphQLClient, store: PostgresDeploymentStore) -> None:
    await shipped(store, "1")
    await deploy(store, "2")
    await shipped(store, "1", env="prod")
    await shipped(store, "7", service="web", env="prod")
    matrix = (await gql(MATRIX))["releaseMatrix"]
    assert matrix["totalCount"] == 2
    api, web = matrix["nodes"]
    assert (api["service"], web["service"]) == ({"slug": "api"}, {"slug": "web"})
    assert cells(api) == [("staging", "1", ["2"]), ("prod", "1", [])]
    assert cells(web) == [("staging", None, []), ("prod", "7", [])]

    chosen = (await gql(MATRIX, environments=["prod", "staging"], first=1))["releaseMatrix"]
    assert chosen["pageInfo"]["hasNextPage"] is True
    assert [cells(row) for row in chosen["nodes"]] == [[("prod", "1", []), ("staging", "1", ["2"])]]
    after = chosen["pageInfo"]["endCursor"]
    rest = (await gql(MATRIX, environments=["prod"], first=1, after=after))["releaseMatrix"]
    assert [(r["service"]["slug"], cells(r)) for r in rest["nodes"]] == [
        ("web", [("prod", "7", [])])
    ]
    assert rest["pageInfo"]["hasNextPage"] is False

    searched = (await gql(MATRIX, filter={"search": "web"}))["releaseMatrix"]
    assert (searched["totalCount"], [r["service"]["slug"] for r in searched["nodes"]]) == (
        1,
        ["web"],
    )

    body = await gql.raw(MATRIX, {"environments": ["qa"]})
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


COMPARE = """
query($service: String!, $from: String!, $to: String!) {
  compareEnvironments(service: $service, from: $from, to: $to) {
    from { version environment { slug } } to { version } inSync
  }
}"""


async def test_compare_environments(gql: GraphQLClient, store: PostgresDeploymentStore) -> None:
    await shipped(store, "1", commit_sha="aaa1111")
    await shipped(store, "1", env="prod", commit_sha="aaa1111")
    await shipped(store, "2", service="web")
    await shipped(store, "1", service="web", env="prod")

    async def compare(service: str, source: str, target: str) -> dict[str, Any]:
        data = await gql(COMPARE, service=service, **{"from": source, "to": target})
        result: dict[str, Any] = data["compareEnvironments"]
        return result

    assert await compare("api", "staging", "prod") == {
        "from": {"version": "1", "environment": {"slug": "staging"}},
        "to": {"version": "1"},
        "inSync": True,
    }
    assert await compare("web", "staging", "prod") == {
        "from": {"version": "2", "environment": {"slug": "staging"}},
        "to": {"version": "1"},
        "inSync": False,
    }
    nothing_there = await compare("web", "prod", "staging")
    assert nothing_there["inSync"] is False
    await store.transition(
        (await deploy(store, "3", service="web")).id, S.CANCELED, raw_status=None, message=None,
        source="api",
    )  # fmt: skip
    assert (await compare("web", "prod", "staging"))["to"] == {"version": "2"}
    body = await gql.raw(COMPARE, {"service": "nope", "from": "staging", "to": "prod"})
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert body["errors"][0]["message"] == "no service 'nope'"
    body = await gql.raw(COMPARE, {"service": "api", "from": "staging", "to": "qa"})
    assert body["errors"][0]["message"] == "no environment 'qa'"


async def test_a_catalog_query_with_deployment_fields_is_answered_by_the_fast_path(
    gql: GraphQLClient, store: PostgresDeploymentStore, endpoint: GraphQLEndpoint
) -> None:
    """Stored deployment data goes through the fast path (and the `client` fixture checks
    its answer against the executor's in verify mode)."""
    await shipped(store, "1")
    answered_fast = endpoint.fast_answers
    data = await gql(
        '{ services { nodes { slug owner { slug } currentDeployment(environment: "staging") '
        "{ version } } } environments { nodes { slug protection { frozen } } } }"
    )
    assert data["services"]["nodes"] == [
        {"slug": "api", "owner": None, "currentDeployment": {"version": "1"}},
        {"slug": "web", "owner": None, "currentDeployment": None},
    ]
    assert [n["protection"] for n in data["environments"]["nodes"]] == [{"frozen": False}] * 2
    assert endpoint.fast_answers == answered_fast + 1


# --- no N+1 -----------------------------------------------------------------------------

CURRENT_IN_PROD = """
query($first: Int!) {
  services(first: $first, filter: { search: "s-" }) { nodes { slug
    currentDeployment(environment: "prod") {
      version history { state } approvals { actor { name } } previous { version }
      requestedBy { name } provider { kind }
    }
    environments { environment { slug } current { version } pending { version } }
    deployments(first: 1) { totalCount nodes { version } }
  } }
  environments { nodes { slug deployments(first: 2) { totalCount nodes { version } } } }
}"""

MATRIX_DEEP = """
query($first: Int!) {
  releaseMatrix(first: $first, filter: { search: "s-" }) { totalCount nodes { service { slug owner { slug } }
    cells { environment { slug protection { approverTeams { slug } } }
      current { version history { state } approvals { actor { name } } requestedBy { name } }
      pending { version }
    }
  } }
}"""


def _shapes(statements: list[str]) -> list[str]:
    """Statements with their page sizes (the inlined LIMIT and row filter) taken out."""
    return [
        re.sub(r"_rn <= \d+", "_rn <= n", re.sub(r"LIMIT \d+", "LIMIT n", statement))
        for statement in statements
    ]


async def _twenty_services_deployed(pool: asyncpg.Pool, store: PostgresDeploymentStore) -> None:
    """s-01..s-20, each running 1 in staging and prod (approved by Bob), 2 pending in staging."""
    await pool.execute(
        "INSERT INTO services (slug, name) SELECT format('s-%s', lpad(i::text, 2, '0')), "
        "format('s-%s', lpad(i::text, 2, '0')) FROM generate_series(1, 20) i"
    )
    await store.set_protection("prod", 1, ["release"], False)
    for number in range(1, 21):
        slug = f"s-{number:02}"
        await shipped(store, "1", service=slug)
        waiting = await deploy(store, "1", service=slug, env="prod")
        await store.approve(waiting.id, BOB, ApprovalDecision.APPROVED, None, [1])
        await succeed(store, waiting)
        await deploy(store, "2", service=slug)


async def test_statement_counts_do_not_grow_with_rows(
    gql: GraphQLClient, pool: asyncpg.Pool, store: PostgresDeploymentStore, statements: StatementLog
) -> None:
    await _twenty_services_deployed(pool, store)
    for query in (CURRENT_IN_PROD, MATRIX_DEEP):
        with statements.capture() as small:
            await gql(query, first=2)
        with statements.capture() as large:
            data = await gql(query, first=20)
        # The same statements for 2 and for 20 rows. A loader used at two depths may be
        # dispatched once or twice depending on scheduling, never once per row.
        shapes_small, shapes_large = _shapes(small), _shapes(large)
        assert set(shapes_large) == set(shapes_small), (
            "\n".join(small) + "\n---\n" + "\n".join(large)
        )
        assert max(Counter(shapes_large).values()) <= 2, large
        assert "s-20" in str(data)
        assert "Bob" in str(data)


# --- live status and metrics ------------------------------------------------------------


async def test_live_status_with_a_failing_provider(
    gql: GraphQLClient, store: PostgresDeploymentStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    observed = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)

    async def get(
        self: LiveStatusLookup, service: str, environment: str, settings: ProviderSettings
    ) -> LiveStatus | None:
        if environment == "prod":
            raise ProviderFailure(f"the {settings.kind} provider did not answer within 2 s")
        return LiveStatus(Health.HEALTHY, observed, settings.kind, f"{service}-1", 3, 2, "ok")

    monkeypatch.setattr(LiveStatusLookup, "get", get)
    current = await shipped(store, "1")
    body = await gql.raw(
        """query($id: ID!) {
          service(slug: "api") { environments { environment { slug }
            live { health version replicas readyReplicas message observedAt source } } }
          node(id: $id) { ... on Deployment { version live { health version } } }
        }""",
        {"id": gid(current)},
    )
    staging, prod = body["data"]["service"]["environments"]
    assert staging["live"] == {
        "health": "HEALTHY",
        "version": "api-1",
        "replicas": 3,
        "readyReplicas": 2,
        "message": "ok",
        "observedAt": "2030-01-02T03:04:05+00:00",
        "source": "simulated",
    }
    assert prod == {"environment": {"slug": "prod"}, "live": None}
    assert body["data"]["node"] == {
        "version": "1",
        "live": {"health": "HEALTHY", "version": "api-1"},
    }
    [error] = body["errors"]
    assert error["path"] == ["service", "environments", 1, "live"]
    assert error["extensions"]["code"] == "PROVIDER_ERROR"
    assert error["message"] == "the simulated provider did not answer within 2 s"


async def test_deployment_metrics(gql: GraphQLClient, store: PostgresDeploymentStore) -> None:
    since = datetime.now(UTC) - timedelta(days=1)
    await shipped(store, "1")
    await shipped(store, "2")
    failed = await deploy(store, "3")
    await store.transition(
        failed.id, S.FAILED, raw_status="Degraded", message="boom", source="provider:t"
    )
    await shipped(store, "1", env="prod")
    query = """query($since: DateTime!, $service: String) {
      deploymentMetrics(environment: "staging", since: $since, service: $service) {
        deployments succeeded failed rolledBack deploymentsPerDay changeFailureRate
        meanTimeToRestoreSeconds medianLeadTimeSeconds
      }
    }"""
    found = (await gql(query, since=since.isoformat()))["deploymentMetrics"]
    assert (found["deployments"], found["succeeded"], found["failed"], found["rolledBack"]) == (
        3,
        2,
        1,
        0,
    )
    assert found["changeFailureRate"] == pytest.approx(1 / 3)
    assert found["meanTimeToRestoreSeconds"] is None
    assert found["medianLeadTimeSeconds"] is not None
    none = (await gql(query, since=since.isoformat(), service="web"))["deploymentMetrics"]
    assert (none["deployments"], none["changeFailureRate"]) == (0, None)
    body = await gql.raw(query, {"since": since.isoformat(), "service": "nope"})
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


WHERE_AND_HOW_FAST = """
query($first: Int!) {
  releaseMatrix(first: $first, environments: ["prod", "staging"]) {
    nodes { service { slug } cells { environment { slug } current { version } } }
  }
  compareEnvironments(service: "s-01", from: "staging", to: "prod") { inSync from { version } }
  deploymentMetrics(environment: "prod", since: "2020-01-01T00:00:00Z") { deployments }
  deployments(first: $first, filter: { states: [QUEUED, WAITING_APPROVAL] }) {
    totalCount edges { cursor node { version requestedBy { name } } }
  }
}"""


async def test_the_fast_path_answers_deployment_reads_in_one_statement(
    gql: GraphQLClient,
    pool: asyncpg.Pool,
    store: PostgresDeploymentStore,
    statements: StatementLog,
    endpoint: GraphQLEndpoint,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _twenty_services_deployed(pool, store)
    monkeypatch.setattr(endpoint, "verify", False)
    for query in (CURRENT_IN_PROD, MATRIX_DEEP, WHERE_AND_HOW_FAST):
        for first in (2, 20):
            answered_fast = endpoint.fast_answers
            with statements.capture() as seen:
                data = await gql(query, first=first)
            assert endpoint.fast_answers == answered_fast + 1, query
            assert len(seen) == 1, seen
    assert data["compareEnvironments"] == {"inSync": True, "from": {"version": "1"}}
    assert data["deploymentMetrics"] == {"deployments": 20}
    assert data["deployments"]["totalCount"] == 20
    assert {edge["node"]["version"] for edge in data["deployments"]["edges"]} == {"2"}
