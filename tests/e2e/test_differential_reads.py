"""The fast read path against the executor on generated queries.

hypothesis-graphql writes valid queries over the real schema (fragments, aliases,
nested selections, every argument); their argument values are then steered toward
the demo catalog's slugs, handles, IDs and small page sizes so that most queries
find data instead of nothing. Every query is answered by both read paths (the test
app runs with PAVED_FAST_READS=verify), and any disagreement fails the `client` fixture.
"""

from __future__ import annotations

import contextlib
import re
from importlib.resources import files
from typing import Any

import asyncpg
import httpx2 as httpx
import hypothesis_graphql
import pytest
from graphql import (
    ArgumentNode,
    DocumentNode,
    GraphQLObjectType,
    GraphQLSchema,
    IntValueNode,
    ListValueNode,
    NullValueNode,
    ObjectFieldNode,
    StringValueNode,
    ValueNode,
    Visitor,
    build_schema,
    print_ast,
    visit,
)
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.strategies import DrawFn

from api.graphql_http import GraphQLEndpoint
from demo.organisation import load_demo_if_empty
from resolvers.global_ids import encode_id
from tests.support.resource_catalog import seed_resources
from tests.support.resource_queries import SeededCatalog, resource_queries

GENERATED_QUERIES = 250
# The roots the fast path knows; `viewer` and other executor-only roots would only fall back.
CATALOG_ROOTS = (
    "node", "nodes", "service", "services", "team", "teams", "user", "users", "environment",
    "environments", "deployments", "releaseMatrix", "compareEnvironments", "deploymentMetrics",
)  # fmt: skip
GENERATED_RESOURCE_QUERIES = 300
FIRST_PAGES = (
    "{ resources(first: 3) { edges { cursor } } resourceClasses(first: 2) { edges { cursor } } "
    "templates(first: 2) { edges { cursor } } "
    "environments { nodes { resources(first: 2) { edges { cursor } } } } }"
)
SCHEMA_SDL = files("schema").joinpath("schema.graphql")
# Fields only the executor answers (what providers say now, audit trails): left out of the
# generated queries, which would otherwise mostly fall back and compare nothing.
EXECUTOR_ONLY_FIELDS = {
    "Service": ("auditTrail",),
    "Team": ("auditTrail",),
    "Environment": ("auditTrail",),
    "Deployment": ("live",),
    "ServiceEnvironment": ("live",),
    "Provider": ("capabilities",),
    "Resource": ("live",),
}
# Arguments (and, for `slug`, root fields) naming an object of that kind by its slug.
SLUG_KINDS = {
    "environment": "environments", "from": "environments", "to": "environments",
    "service": "services", "team": "teams", "owner": "teams", "class": "resource_classes",
}  # fmt: skip
DEMO_DEPLOYMENTS_IN_IDS = 40
DEPLOYMENT_WORDS = re.compile(
    r"[dD]eployment|releaseMatrix|compareEnvironments|protection|provider|environments \{"
)
SINCE = ("2026-01-01T00:00:00+00:00", "2026-09-15T12:00:00+02:00")
UNTIL = "2030-01-01T00:00:00Z"
NAIVE_TIME = "2026-10-01T00:00:00"


def _plannable_schema() -> GraphQLSchema:
    schema = build_schema(SCHEMA_SDL.read_text())
    for type_name, field_names in EXECUTOR_ONLY_FIELDS.items():
        object_type = schema.get_type(type_name)
        assert isinstance(object_type, GraphQLObjectType)
        for field_name in field_names:
            del object_type.fields[field_name]
    return schema


class _Catalog:
    """What the demo catalog holds, as argument values."""

    def __init__(self, rows: dict[str, list[asyncpg.Record]]) -> None:
        self.slugs = {
            kind: [row["slug"] for row in rows[kind]]
            for kind in ("services", "teams", "environments", "resource_classes")
        }
        self.handles = [row["handle"] for row in rows["users"]]
        self.ids = [
            encode_id(type_name, row["id"])
            for type_name, kind in (
                ("Service", "services"),
                ("Team", "teams"),
                ("User", "users"),
                ("Environment", "environments"),
                ("Deployment", "deployments"),
                ("Resource", "resources"),
                ("ResourceClass", "resource_classes"),
                ("Template", "templates"),
            )
            for row in rows[kind]
        ]
        self.tags = sorted({tag for row in rows["services"] for tag in row["tags"]})


class _Steer(Visitor):
    """Rewrites argument values (top level and inside input objects) by argument name."""

    def __init__(self, draw: DrawFn, catalog: _Catalog) -> None:
        super().__init__()
        self._draw = draw
        self._catalog = catalog

    def _string(self, choices: list[str], keep: ValueNode) -> ValueNode:
        values = st.sampled_from([*choices, "does-not-exist"]).map(
            lambda value: StringValueNode(value=value)
        )
        chosen: ValueNode = self._draw(st.one_of(values, values, values, st.just(keep)))
        return chosen

    def _value(self, name: str, value: ValueNode, field_name: str) -> ValueNode:
        catalog = self._catalog
        if name in ("first", "last"):
            small = st.integers(0, 12).map(lambda size: IntValueNode(value=str(size)))
            return self._draw(st.one_of(small, small, small, st.just(value)))
        if name in ("after", "before"):
            invalid = StringValueNode(value="bm90LWEtY3Vyc29y")
            return self._draw(st.sampled_from([NullValueNode(), NullValueNode(), value, invalid]))
        if name in SLUG_KINDS or name == "slug":
            kind = SLUG_KINDS.get(name) or SLUG_KINDS.get(field_name, "services")
            return self._string(catalog.slugs[kind], value)
        if name == "environments":
            slugs = st.lists(st.sampled_from(catalog.slugs["environments"]), max_size=3)
            return self._draw(
                slugs.map(
                    lambda chosen: ListValueNode(
                        values=tuple(StringValueNode(value=slug) for slug in chosen)
                    )
                )
            )
        if name == "since":
            return self._draw(st.sampled_from([*SINCE, *SINCE, NAIVE_TIME]).map(_string_node))
        if name == "until":
            return self._draw(st.sampled_from([UNTIL, UNTIL, SINCE[0]]).map(_string_node))
        if name in ("handle",):
            return self._string(catalog.handles, value)
        if name == "id":
            return self._string(catalog.ids, value)
        if name == "ids":
            ids = st.lists(st.sampled_from([*catalog.ids, "bm9wZTox"]), max_size=6)
            return self._draw(
                ids.map(
                    lambda chosen: ListValueNode(
                        values=tuple(StringValueNode(value=one) for one in chosen)
                    )
                )
            )
        if name == "search":
            return self._string(["", "a", "pay", "platform", "SERV"], value)
        if name == "tags":
            tags = st.lists(st.sampled_from(catalog.tags), max_size=2)
            return self._draw(
                tags.map(
                    lambda chosen: ListValueNode(
                        values=tuple(StringValueNode(value=tag) for tag in chosen)
                    )
                )
            )
        return value

    def enter_field(self, node: Any, *_: Any) -> None:
        self._field_name = node.name.value

    def enter_argument(self, node: ArgumentNode, *_: Any) -> ArgumentNode:
        return ArgumentNode(
            name=node.name, value=self._value(node.name.value, node.value, self._field_name)
        )

    def enter_object_field(self, node: ObjectFieldNode, *_: Any) -> ObjectFieldNode:
        return ObjectFieldNode(
            name=node.name, value=self._value(node.name.value, node.value, self._field_name)
        )


def generate_queries(catalog: _Catalog, count: int) -> list[str]:
    """`count` distinct queries, the same ones on every run."""
    documents = hypothesis_graphql.queries(
        _plannable_schema(),
        fields=CATALOG_ROOTS,
        custom_scalars={"DateTime": st.sampled_from(SINCE).map(_string_node)},
        print_ast=lambda d: d,
    )

    @st.composite
    def steered(draw: DrawFn) -> str:
        document: DocumentNode = draw(documents)
        return print_ast(visit(document, _Steer(draw, catalog)))

    return distinct(steered(), count)


class _Enough(Exception):
    """Ends the drawing once `count` distinct queries are in hand."""


def distinct(queries: st.SearchStrategy[str], count: int) -> list[str]:
    """`count` distinct examples of `queries`, the same ones on every run."""
    found: dict[str, None] = {}

    @settings(
        max_examples=count * 2,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(queries)
    def collect(query: str) -> None:
        found[query] = None
        if len(found) >= count:
            raise _Enough

    with contextlib.suppress(_Enough):
        collect()
    return list(found)[:count]


def _string_node(value: str) -> StringValueNode:
    return StringValueNode(value=value)


async def _catalog(pool: asyncpg.Pool) -> _Catalog:
    rows = {
        kind: await pool.fetch(f"SELECT * FROM {kind} ORDER BY id")
        for kind in (
            "services", "teams", "users", "environments", "resources", "resource_classes",
            "templates",
        )
    }  # fmt: skip
    # Deployments of every kind and state: the newest, the oldest, and some in between.
    rows["deployments"] = await pool.fetch(
        "SELECT DISTINCT ON (kind, state) * FROM deployments ORDER BY kind, state, id DESC"
    ) + await pool.fetch(
        "SELECT * FROM deployments ORDER BY id DESC LIMIT $1", DEMO_DEPLOYMENTS_IN_IDS
    )
    return _Catalog(rows)


async def test_generated_queries_get_the_same_answer_from_both_read_paths(
    client: httpx.AsyncClient, pool: asyncpg.Pool, endpoint: GraphQLEndpoint
) -> None:
    await load_demo_if_empty(pool)
    queries = generate_queries(await _catalog(pool), GENERATED_QUERIES)
    assert len(queries) == GENERATED_QUERIES
    answered_fast = endpoint.fast_answers
    with_data = 0
    deployment_reads = 0
    for query in queries:
        fast_before = endpoint.fast_answers
        response = await client.post("/graphql", json={"query": query})
        body = response.json()
        assert "Internal server error" not in response.text, (query, body)
        with_data += bool(body.get("data")) and "errors" not in body
        assert not endpoint.disagreements, (query, endpoint.disagreements[0])
        if endpoint.fast_answers > fast_before and DEPLOYMENT_WORDS.search(query):
            deployment_reads += 1

    compared = endpoint.fast_answers - answered_fast
    # Most generated queries must reach the fast path, or this test would prove little.
    assert compared >= len(queries) * 0.6, (compared, len(queries))
    assert with_data >= len(queries) * 0.6
    # And a good share of them read deployment data (history, what runs where, metrics).
    assert deployment_reads >= len(queries) * 0.2, deployment_reads


async def _seeded_catalog(client: httpx.AsyncClient, pool: asyncpg.Pool) -> SeededCatalog:
    """The seeded slugs, and cursors of the first pages of the resource listings."""
    slugs = {
        table: [row["slug"] for row in await pool.fetch(f"SELECT slug FROM {table} ORDER BY id")]
        for table in ("services", "environments", "teams", "resource_classes")
    }
    pages = (await client.post("/graphql", json={"query": FIRST_PAGES})).json()["data"]
    cursors = {
        f"Query.{root}": [edge["cursor"] for edge in pages[root]["edges"]]
        for root in ("resources", "resourceClasses", "templates")
    }
    cursors["Environment.resources"] = [
        edge["cursor"]
        for node in pages["environments"]["nodes"]
        for edge in node["resources"]["edges"]
    ]
    return SeededCatalog(
        slugs["services"][:8], slugs["environments"], slugs["teams"][:6],
        slugs["resource_classes"], cursors,
    )  # fmt: skip


async def test_generated_resource_queries_get_the_same_answer_from_both_read_paths(
    client: httpx.AsyncClient,
    pool: asyncpg.Pool,
    endpoint: GraphQLEndpoint,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Resources of several services, environments, classes and states (every kind of
    requester and approver among them), their classes and templates, over the demo catalog:
    queries drawn from the schema by `resource_queries`, as costly as the limits allow (the
    rate limit, which they would soon reach, is off)."""
    monkeypatch.setattr(endpoint, "rate_limiter", None)
    await load_demo_if_empty(pool)
    await seed_resources(pool, prefix="seed-")  # the demo has classes of its own
    catalog = await _seeded_catalog(client, pool)
    schema = build_schema(SCHEMA_SDL.read_text())
    queries = distinct(resource_queries(schema, catalog), GENERATED_RESOURCE_QUERIES)
    assert len(queries) == GENERATED_RESOURCE_QUERIES
    answered_fast = endpoint.fast_answers
    with_data = 0
    for query in queries:
        response = await client.post("/graphql", json={"query": query})
        body = response.json()
        assert "Internal server error" not in response.text, (query, body)
        with_data += bool(body.get("data")) and "errors" not in body
        assert not endpoint.disagreements, (query, endpoint.disagreements[0])

    compared = endpoint.fast_answers - answered_fast
    assert compared >= len(queries) * 0.6, (compared, len(queries))
    assert with_data >= len(queries) * 0.6, with_data
