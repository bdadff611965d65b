"""One request, traced in memory: the HTTP request's span, the GraphQL operation's under it
(name, type, which path answered), the SQL statements under that; a client's traceparent
continued; the request's log line carrying the trace id."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import asyncpg
import httpx2 as httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from starlette.applications import Starlette

from api.bootstrap import Overrides
from api.settings import Settings
from tests.support.app import in_process_client, started_app

TEAMS = "query Teams { teams { nodes { slug } } }"


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
async def app(
    migrated_url: str, pool: asyncpg.Pool, exporter: InMemorySpanExporter
) -> AsyncIterator[Starlette]:
    settings = Settings(
        database_url=migrated_url,
        demo=False,
        pool_min_size=1,
        pool_max_size=4,
        fast_reads="on",
        webhook_delivery=False,
    )
    overrides = Overrides(span_exporter=exporter, rollout_takeover_notices=False)
    async with started_app(settings, overrides) as app:
        yield app


@pytest.fixture
async def http(app: Starlette, exporter: InMemorySpanExporter) -> AsyncIterator[httpx.AsyncClient]:
    async with in_process_client(app) as client:
        exporter.clear()  # start-up's own statements are no request's
        yield client


def children(spans: tuple[ReadableSpan, ...], parent: ReadableSpan) -> list[ReadableSpan]:
    return [span for span in spans if span.parent and span.parent.span_id == parent.context.span_id]


async def test_a_fast_read_is_http_then_operation_then_one_statement(
    http: httpx.AsyncClient, exporter: InMemorySpanExporter, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="paved.requests"):
        answer = await http.post("/graphql", json={"query": TEAMS})
    assert answer.status_code == 200
    spans = exporter.get_finished_spans()
    [root] = [span for span in spans if span.parent is None]
    assert root.name == "POST /graphql"
    assert root.kind is SpanKind.SERVER
    assert root.attributes is not None
    assert root.attributes["http.response.status_code"] == 200
    [operation] = children(spans, root)
    assert operation.name == "graphql query Teams"
    assert operation.attributes == {
        "graphql.operation.type": "query",
        "graphql.operation.name": "Teams",
        "paved.read_path": "fast",
    }
    [statement] = children(spans, operation)
    assert statement.kind is SpanKind.CLIENT
    assert statement.attributes is not None
    assert statement.attributes["db.system.name"] == "postgresql"
    assert "teams" in str(statement.attributes["db.query.text"])
    assert len(spans) == 3
    assert {span.context.trace_id for span in spans} == {root.context.trace_id}
    times = [operation.start_time, statement.start_time, statement.end_time, root.end_time]
    assert None not in times
    assert times == sorted(times)  # type: ignore[type-var]
    [line] = [record for record in caplog.records if record.name == "paved.requests"]
    assert line.__dict__["trace_id"] == format(root.context.trace_id, "032x")
    assert line.__dict__["sql"] == 1


@pytest.mark.parametrize(
    ("payload", "path", "count"),
    [
        # Stored fields only: the fast mutation path.
        ("team { slug } errors { code }", "fast", 1),
        # A field with a resolver of its own: the executor, which looks for the parent too.
        ("team { slug parent { slug } } errors { code }", "executor", 1),
    ],
)
async def test_a_mutation_is_answered_with_its_statements_under_it(
    http: httpx.AsyncClient, exporter: InMemorySpanExporter, payload: str, path: str, count: int
) -> None:
    mutation = (
        f'mutation NewTeam {{ createTeam(input: {{slug: "pay", name: "Pay"}}) {{ {payload} }} }}'
    )
    assert (await http.post("/graphql", json={"query": mutation})).status_code == 200
    spans = exporter.get_finished_spans()
    [root] = [span for span in spans if span.parent is None]
    [operation] = children(spans, root)
    assert operation.attributes is not None
    assert operation.attributes["paved.read_path"] == path
    assert operation.attributes["graphql.operation.type"] == "mutation"
    statements = children(spans, operation)
    # The team, its audit record and its event: one statement.
    assert len(statements) == count
    assert len(spans) == 2 + len(statements)


async def test_a_clients_trace_is_continued(
    http: httpx.AsyncClient, exporter: InMemorySpanExporter
) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    parent = "00f067aa0ba902b7"
    answer = await http.post(
        "/graphql", json={"query": TEAMS}, headers={"traceparent": f"00-{trace_id}-{parent}-01"}
    )
    assert answer.status_code == 200
    spans = exporter.get_finished_spans()
    assert {format(span.context.trace_id, "032x") for span in spans} == {trace_id}
    [root] = [
        span for span in spans if span.parent and format(span.parent.span_id, "016x") == parent
    ]
    assert root.name == "POST /graphql"
