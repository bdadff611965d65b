"""`/metrics` of a running app: GraphQL requests by operation, type and outcome, which path
answered, statements per request, the pool, provider calls, the runners' backlog, rate-limit
refusals, build info; operation names bounded over HTTP; who may read it in production."""

from __future__ import annotations

import random
import string
from collections.abc import AsyncIterator

import asyncpg
import httpx2 as httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from starlette.applications import Starlette

from api.bootstrap import Overrides
from api.settings import Settings
from tests.support.app import forget_providers, in_process_client, started_app
from tests.support.deployments import environments
from tests.support.graphql import GraphQLClient

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def settings_for(url: str, **changes: object) -> Settings:
    values: dict[str, object] = {
        "database_url": url,
        "demo": False,
        "pool_min_size": 1,
        "pool_max_size": 4,
        "fast_reads": "on",
        "rollout_poll_seconds": 0.05,
        "webhook_delivery": False,
        **changes,
    }
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
async def app(migrated_url: str, pool: asyncpg.Pool) -> AsyncIterator[Starlette]:
    overrides = Overrides(rollout_takeover_notices=False)
    async with started_app(settings_for(migrated_url), overrides) as app:
        yield app
        await forget_providers(app)


@pytest.fixture
async def http(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with in_process_client(app) as client:
        yield client


async def scrape(http: httpx.AsyncClient, **headers: str) -> Samples:
    answer = await http.get("/metrics", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples: Samples = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum over the samples of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, found), v in samples.items() if n == name and wanted <= set(found))


async def test_requests_by_operation_type_outcome_and_path(http: httpx.AsyncClient) -> None:
    gql = GraphQLClient(http)
    create = (
        "mutation CreateTeam($input: CreateTeamInput!) "
        "{ createTeam(input: $input) { team { slug } errors { code } } }"
    )
    assert (await gql(create, input={"slug": "pay", "name": "Pay"}))["createTeam"]["errors"] == []
    again = await gql(create, input={"slug": "pay", "name": "Pay"})
    assert again["createTeam"]["errors"] == [{"code": "CONFLICT"}]
    # A payload field with a resolver of its own: the executor answers.
    parented = await gql(
        'mutation Parented { createTeam(input: {slug: "ops", name: "Ops"}) '
        "{ team { parent { slug } } errors { code } } }"
    )
    assert parented["createTeam"] == {"team": {"parent": None}, "errors": []}
    listing = "query Teams { teams { nodes { slug } } }"
    for _ in range(3):
        assert (await gql(listing))["teams"]["nodes"] == [{"slug": "ops"}, {"slug": "pay"}]
    await gql("query Who { viewer { __typename } }")
    assert (await http.post("/graphql", json={"query": "query Broken {"})).status_code == 200
    missing = await gql.raw("query Lost { team(slug: 1) { slug } }")
    assert missing["errors"]

    samples = await scrape(http)
    requests = "paved_graphql_requests_total"
    assert value(samples, requests, operation="CreateTeam", type="mutation", outcome="ok",
                 code="") == 1  # fmt: skip
    assert value(samples, requests, operation="CreateTeam", type="mutation",
                 outcome="user_error", code="CONFLICT") == 1  # fmt: skip
    assert value(samples, requests, operation="Teams", type="query", outcome="ok", code="") == 3
    assert value(samples, requests, operation="_other", type="unknown",
                 outcome="request_error", code="VALIDATION") == 1  # fmt: skip
    assert value(samples, requests, operation="Lost", type="query",
                 outcome="request_error", code="VALIDATION") == 1  # fmt: skip
    answers = "paved_graphql_answers_total"
    assert value(samples, answers, operation="Teams", path="fast") == 3
    assert value(samples, answers, operation="Who", path="executor") == 1
    assert value(samples, answers, operation="CreateTeam", path="fast") == 2
    assert value(samples, answers, operation="Parented", path="executor") == 1
    latency = "paved_graphql_request_duration_seconds_count"
    assert value(samples, latency, operation="Teams", type="query") == 3
    # The fast path answers a listing in one statement.
    per_request = "paved_sql_statements_per_request"
    assert value(samples, f"{per_request}_count") == 9
    assert value(samples, f"{per_request}_bucket", le="1.0") >= 3
    assert value(samples, f"{per_request}_sum") >= 3 + 2
    assert value(samples, "paved_db_pool_connections", state="max") == 4
    in_use = value(samples, "paved_db_pool_connections", state="in_use")
    assert 0 <= in_use <= value(samples, "paved_db_pool_connections", state="size")
    assert ("paved_db_pool_waiting", ()) in samples
    for queue in ("rollouts", "resources", "webhook_deliveries"):
        assert ("paved_runner_backlog", (("queue", queue),)) in samples
    assert total(samples, "paved_build_info", version="0.1.0") == 1


async def test_provider_calls_and_the_rollout_backlog(
    http: httpx.AsyncClient, app: Starlette, pool: asyncpg.Pool
) -> None:
    gql = GraphQLClient(http)
    assert (await gql.mutate("createTeam", "team { slug }", slug="pay", name="p"))["errors"] == []
    created = await gql.mutate("createService", "service { slug }", slug="pay-api", name="p",
                               owner="pay")  # fmt: skip
    assert created["errors"] == []
    await environments(gql)
    for environment in ("staging", "slow"):
        deployed = await gql.mutate("deploy", "deployment { id }", service="pay-api",
                                    environment=environment, version="1.0.0")  # fmt: skip
        assert deployed["errors"] == [], deployed
    await settled_but(app, unfinished=1)
    samples = await scrape(http)
    calls = "paved_provider_calls_total"
    assert value(samples, calls, kind="simulated", operation="deploy.start", outcome="ok") == 2
    assert total(samples, "paved_provider_call_duration_seconds_count", kind="simulated") >= 2
    assert value(samples, "paved_runner_backlog", queue="rollouts") == 1


async def settled_but(app: Starlette, *, unfinished: int) -> None:
    """Until only `unfinished` rollouts are left (the slow environment's), all started."""
    import asyncio

    container = app.state.container
    for _ in range(200):
        count = await container.pool.fetchval(
            "SELECT count(*) FILTER (WHERE state = 'IN_PROGRESS') "
            "+ 1000 * count(*) FILTER (WHERE state = 'QUEUED') FROM deployments"
        )
        if count == unfinished:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("rollouts did not settle")


async def test_rate_limit_refusals_are_counted(migrated_url: str, pool: asyncpg.Pool) -> None:
    settings = settings_for(migrated_url, rate_limit_points=1, rate_limit_refill_per_second=0.001)
    async with started_app(settings) as app, in_process_client(app) as http:
        query = "query Four { __typename }"
        assert (await http.post("/graphql", json={"query": query})).status_code == 200
        refused = await http.post("/graphql", json={"query": query})
        assert refused.status_code == 429
        samples = await scrape(http)
        assert value(samples, "paved_rate_limit_refusals_total", limit="points") == 1
        assert value(samples, "paved_graphql_requests_total", operation="Four", type="query",
                     outcome="request_error", code="RATE_LIMITED") == 1  # fmt: skip


async def test_random_operation_names_over_http_stay_bounded(
    migrated_url: str, pool: asyncpg.Pool
) -> None:
    settings = settings_for(migrated_url, metrics_operation_names=20, rate_limit_points=0)
    rng = random.Random(7)
    async with started_app(settings) as app, in_process_client(app) as http:
        for _ in range(300):
            name = "Op" + "".join(rng.choices(string.ascii_letters, k=12))
            answer = await http.post("/graphql", json={"query": f"query {name} {{ __typename }}"})
            assert answer.status_code == 200
        samples = await scrape(http)
    names = {
        dict(labels)["operation"]
        for (name, labels) in samples
        if name == "paved_graphql_requests_total"
    }
    assert len(names) == 21
    assert value(samples, "paved_graphql_requests_total", operation="_other", type="query",
                 outcome="ok", code="") == 280  # fmt: skip


# --- who may read them in production -----------------------------------------------------

TOKEN = "metrics-token-5b1f0c"


@pytest.fixture
async def production(migrated_url: str, pool: asyncpg.Pool) -> AsyncIterator[Starlette]:
    from cryptography.fernet import Fernet

    settings = settings_for(
        migrated_url,
        env="production",
        metrics_token=SecretStr(TOKEN),
        webhook_encryption_key=SecretStr(Fernet.generate_key().decode()),
    )
    async with started_app(settings) as app:
        yield app


def client_at(app: Starlette, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 51000))
    return httpx.AsyncClient(transport=transport, base_url="http://10.0.0.7:8000")


@pytest.mark.parametrize(
    ("address", "headers", "status"),
    [
        ("127.0.0.1", {}, 200),
        ("10.0.0.1", {"Authorization": f"Bearer {TOKEN}"}, 200),
        ("10.0.0.1", {}, 401),
        ("10.0.0.1", {"Authorization": "Bearer wrong"}, 401),
        ("10.0.0.1", {"Authorization": f"Bearer {TOKEN}x"}, 401),
        ("10.0.0.1", {"Authorization": f"Basic {TOKEN}"}, 401),
        ("127.0.0.1", {"Authorization": "Bearer wrong"}, 401),
        ("10.0.0.1", {"X-Forwarded-For": "127.0.0.1"}, 401),
        ("10.0.0.1", {"Forwarded": "for=127.0.0.1", "X-Real-IP": "127.0.0.1"}, 401),
        ("127.0.0.1", {"X-Forwarded-For": "198.51.100.4"}, 401),
    ],
)
async def test_production_metrics_answer_loopback_or_the_token_only(
    production: Starlette, address: str, headers: dict[str, str], status: int
) -> None:
    async with client_at(production, address) as http:
        answer = await http.get("/metrics", headers=headers)
    assert answer.status_code == status, answer.text
    if status == 200:
        assert "paved_build_info" in answer.text
    else:
        assert "paved_" not in answer.text
        assert answer.headers["www-authenticate"].startswith("Bearer")
