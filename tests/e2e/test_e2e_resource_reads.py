"""Resources, resource classes and templates read through the fast path: every stored and
related field, the listings with their filters, keyset pages whose cursors either read path
continues, refused cursors and unknown filter values, and what stays with the executor.

The `client` fixture runs the app in verify mode: every answer the fast path gives is
compared with the executor's, and a test fails on any disagreement."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg
import orjson
import pytest

from api.graphql_http import GraphQLEndpoint
from providers.postgres.keyset import encode_cursor, scope_digest
from resolvers.global_ids import encode_id
from tests.support.graphql import GraphQLClient
from tests.support.resource_catalog import seed_resources

ACTOR = "{ __typename id name ... on User { handle } ... on ApiClient { slug team { slug } } }"
CLASS_FIELDS = (
    "id slug name description type requiresApproval version parametersSchema defaults "
    "provider { name kind __typename } environments { slug } approverTeams { slug }"
)
RESOURCE_FIELDS = f"""
id __typename name state statusMessage parameters outputs createdAt readyAt version
secretRefs {{ name key store }}
service {{ slug owner {{ slug }} }} environment {{ slug tier }} class {{ {CLASS_FIELDS} }}
requestedBy {ACTOR}
history {{ state message at }}
approvals {{ decision comment at actor {ACTOR} }}
"""
TEMPLATE_FIELDS = (
    "id slug name description firstVersion version parametersSchema newService: service "
    "environments { slug } resources { name parameters class { slug type } }"
)
PAGE = "totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"


@pytest.fixture
async def catalog(pool: asyncpg.Pool) -> None:
    """Teams platform, payments and its sub-team fraud; ada, bob and the client api-ci;
    svc-1..svc-6 owned in turn by the three teams; environments prod, dev and staging
    (listed dev, staging, prod); and the resources of `seed_resources`."""
    await pool.execute(
        "INSERT INTO teams (slug, name) VALUES ('platform', 'Platform'), ('payments', 'Pay');"
        "INSERT INTO teams (slug, name, parent_id) VALUES ('fraud', 'Fraud', 2);"
        "INSERT INTO users (handle, name, email) VALUES ('ada', 'Ada', 'a@x.io'),"
        " ('bob', 'Bob', 'b@x.io');"
        "INSERT INTO api_clients (slug, name, team_id) VALUES ('api-ci', 'api-ci', 1);"
        "INSERT INTO services (slug, name) SELECT format('svc-%s', i), format('Service %s', i) "
        "FROM generate_series(1, 6) i;"
        "INSERT INTO service_owners (service_id, team_id, role) "
        "SELECT id, 1 + id % 3, 'PRIMARY' FROM services;"
        "INSERT INTO environments (slug, name, tier) VALUES ('prod', 'Production', 'PRODUCTION'),"
        " ('dev', 'Development', 'DEVELOPMENT'), ('staging', 'Staging', 'STAGING')"
    )
    await seed_resources(pool)


@contextmanager
def only(endpoint: GraphQLEndpoint, path: str) -> Iterator[None]:
    """Requests answered by one read path alone: `fast` (unverified) or `executor`."""
    fast_reads, verify, answered = endpoint.fast_reads, endpoint.verify, endpoint.fast_answers
    if path == "executor":
        endpoint.fast_reads = None
    else:
        endpoint.verify = False
    try:
        yield
    finally:
        endpoint.fast_reads, endpoint.verify = fast_reads, verify
    assert (endpoint.fast_answers > answered) == (path == "fast")


async def fast(
    gql: GraphQLClient, endpoint: GraphQLEndpoint, query: str, **variables: Any
) -> dict[str, Any]:
    """The data of a query the fast path answers (and the executor agrees with)."""
    answered = endpoint.fast_answers
    data = await gql(query, **variables)
    assert endpoint.fast_answers == answered + 1, query
    return data


async def refused(
    gql: GraphQLClient, endpoint: GraphQLEndpoint, query: str, **variables: Any
) -> list[dict[str, Any]]:
    """The errors of a query the fast path leaves to the executor, which refuses it."""
    answered = endpoint.fast_answers
    body = await gql.raw(query, variables)
    assert endpoint.fast_answers == answered, query
    errors: list[dict[str, Any]] = body["errors"]
    return errors


# --- every field ------------------------------------------------------------------------------

EVERY_FIELD = {
    "resources": f"{{ resources(first: 25) {{ {PAGE} edges {{ cursor node {{ {RESOURCE_FIELDS} "
    "} } } }",
    "classes": f"{{ resourceClasses {{ {PAGE} edges {{ cursor node {{ {CLASS_FIELDS} }} }} "
    "nodes { slug } __typename } }",
    "templates": f"{{ templates {{ {PAGE} nodes {{ {TEMPLATE_FIELDS} }} edges {{ cursor }} }} }}",
    "service resources": "{ services(first: 6) { nodes { slug resources { name state "
    'environment { slug } class { slug } parameters } staging: resources(environment: "staging") '
    '{ name } nowhere: resources(environment: "nope") { name } '
    "all: resources(environment: null) { id } } } }",
    "environment resources": "{ environments { nodes { slug resources(first: 3) { "
    f"{PAGE} edges {{ cursor node {{ name state service {{ slug }} }} }} }} }} }} }}",
    "nested": 'query { service(slug: "svc-1") { resources { name environment { resources('
    "first: 2) { totalCount nodes { name class { environments { slug } } } } } } } }",
}
ROWS_READ = {
    "resources": ("createdAt", 21),
    "classes": ("parametersSchema", 3),
    "templates": ("firstVersion", 3),
    "service resources": ("parameters", 18),
    "environment resources": ("state", 9),
    "nested": ("totalCount", 5),
}
"""A key each query's answer holds once per object read, and how many objects there are."""


@pytest.mark.parametrize("name", EVERY_FIELD)
async def test_every_field_is_answered_by_the_fast_path(
    gql: GraphQLClient, endpoint: GraphQLEndpoint, catalog: None, name: str
) -> None:
    data = await fast(gql, endpoint, EVERY_FIELD[name])
    key, count = ROWS_READ[name]
    assert orjson.dumps(data).count(f'"{key}":'.encode()) == count


async def test_the_values_the_seed_wrote(
    gql: GraphQLClient, endpoint: GraphQLEndpoint, catalog: None
) -> None:
    """Both paths agree; this pins that they agree on the right answer."""
    data = await fast(gql, endpoint, EVERY_FIELD["resources"])
    nodes = [edge["node"] for edge in data["resources"]["edges"]]
    assert data["resources"]["totalCount"] == len(nodes) == 21
    assert {node["state"] for node in nodes} == {
        "READY", "REQUESTED", "WAITING_APPROVAL", "PROVISIONING", "UPDATING", "FAILED",
        "DELETING", "DELETED",
    }  # fmt: skip
    kinds = {approval["actor"]["__typename"] for node in nodes for approval in node["approvals"]}
    assert kinds == {"User", "ApiClient", "LocalAdmin", "FormerActor"}
    ready = next(node for node in nodes if node["state"] == "READY" and node["readyAt"])
    assert ready["outputs"]["port"] == 5432
    assert ready["outputs"]["nested"] == {"b": {"c": [1, 2.5, "x"]}, "a": ""}
    assert ready["secretRefs"][1] == {"name": "shared", "key": None, "store": "vault"}
    assert [event["state"] for event in ready["history"]] == ["REQUESTED", "PROVISIONING", "READY"]

    services = (await fast(gql, endpoint, EVERY_FIELD["service resources"]))["services"]
    first = services["nodes"][0]
    # Not DELETED; by environment as they are listed (dev, staging, prod), then by name.
    assert [(r["environment"]["slug"], r["name"]) for r in first["resources"]] == [
        ("dev", "redis-0"), ("staging", "bucket-0"), ("prod", "alpha"), ("prod", "postgres-0"),
        ("prod", "zeta"),
    ]  # fmt: skip
    assert first["staging"] == [{"name": "bucket-0"}]
    assert first["nowhere"] == []

    classes = (await fast(gql, endpoint, EVERY_FIELD["classes"]))["resourceClasses"]
    assert [node["slug"] for node in classes["nodes"]] == ["bucket", "postgres", "redis"]
    redis = classes["edges"][2]["node"]
    assert redis["provider"] == {"name": "webhook", "kind": "webhook", "__typename": "Provider"}
    assert [e["slug"] for e in redis["environments"]] == ["dev", "staging"]  # by id
    assert [t["slug"] for t in redis["approverTeams"]] == ["platform", "payments"]

    templates = (await fast(gql, endpoint, EVERY_FIELD["templates"]))["templates"]
    golden = templates["nodes"][1]
    assert golden["slug"] == "python-http"
    assert [e["slug"] for e in golden["environments"]] == ["staging", "dev", "prod"]  # in order
    assert [(r["name"], r["class"]["slug"]) for r in golden["resources"]] == [
        ("cache", "redis"), ("db", "postgres"),
    ]  # fmt: skip
    assert golden["newService"]["tier"] == "${tier}"


async def test_objects_by_node_id(
    gql: GraphQLClient, endpoint: GraphQLEndpoint, pool: asyncpg.Pool, catalog: None
) -> None:
    ids = [
        encode_id("Resource", 1), encode_id("ResourceClass", 2), encode_id("Template", 1),
        encode_id("Resource", 999), encode_id("Template", 999),
    ]  # fmt: skip
    query = (
        "query($ids: [ID!]!, $one: ID!) { nodes(ids: $ids) { __typename id "
        f"... on Resource {{ {RESOURCE_FIELDS} }} ... on ResourceClass {{ {CLASS_FIELDS} }} "
        f"... on Template {{ {TEMPLATE_FIELDS} }} }} one: node(id: $one) {{ id }} }}"
    )
    data = await fast(gql, endpoint, query, ids=ids, one=ids[0])
    assert [node and node["__typename"] for node in data["nodes"]] == [
        "Resource", "ResourceClass", "Template", None, None,
    ]  # fmt: skip
    assert data["one"] == {"id": ids[0]}


# --- filters ------------------------------------------------------------------------------

FILTERED = (
    "query($filter: ResourceFilter) { resources(filter: $filter, first: 100) { totalCount "
    "nodes { name state service { slug } environment { slug } class { slug } } } }"
)


@pytest.mark.parametrize(
    "given",
    [
        {"service": "svc-2"},
        {"environment": "staging"},
        {"class": "redis"},
        {"states": ["READY", "DELETED"]},
        {"states": []},
        {"owner": "payments"},  # svc-1 and svc-4 (payments), and svc-2 and svc-5 (fraud)
        {"owner": "fraud", "class": "postgres", "states": ["READY"]},
        {"service": None, "environment": None, "class": None, "states": None, "owner": None},
        {"service": "nope"},
        {"environment": "nope", "states": ["READY"]},
        {"class": "nope"},
        None,
    ],
)
async def test_filters(
    gql: GraphQLClient,
    endpoint: GraphQLEndpoint,
    catalog: None,
    given: dict[str, Any] | None,
) -> None:
    data = (await fast(gql, endpoint, FILTERED, filter=given))["resources"]
    found = data["nodes"]
    assert data["totalCount"] == len(found)
    for key, value in (given or {}).items():
        if value is None or key == "owner":
            continue
        if key == "states":
            assert all(node["state"] in value for node in found)
        else:
            assert all(node[key]["slug"] == value for node in found)
    if given and "nope" in given.values():
        assert found == []
    if given == {"owner": "payments"}:
        assert {node["service"]["slug"] for node in found} == {"svc-1", "svc-2", "svc-4", "svc-5"}


async def test_an_unknown_owner_team_is_not_found_on_both_paths(
    gql: GraphQLClient, endpoint: GraphQLEndpoint, catalog: None
) -> None:
    errors = await refused(gql, endpoint, FILTERED, filter={"owner": "nobody"})
    assert [(e["extensions"]["code"], e["message"]) for e in errors] == [
        ("NOT_FOUND", "no team 'nobody'")
    ]
    # Beside other roots, the whole operation is the executor's.
    errors = await refused(
        gql, endpoint, '{ templates { totalCount } resources(filter: { owner: "x" }) { nodes '
        "{ id } } }",
    )  # fmt: skip
    assert [e["extensions"]["code"] for e in errors] == ["NOT_FOUND"]


# --- pages ----------------------------------------------------------------------------------

LISTINGS = {
    "resources": (
        "query($first: Int, $after: String) { x: resources(first: $first, after: $after, "
        "filter: { states: [READY, FAILED, DELETED, REQUESTED, WAITING_APPROVAL] }) { "
        f"{PAGE} edges {{ cursor node {{ id name }} }} }} }}"
    ),
    "every resource": (
        "query($first: Int, $after: String) { x: resources(first: $first, after: $after) { "
        f"{PAGE} edges {{ cursor node {{ id }} }} }} }}"
    ),
    "classes": (
        "query($first: Int, $after: String) { x: resourceClasses(first: $first, after: $after) "
        f"{{ {PAGE} edges {{ cursor node {{ id slug }} }} }} }}"
    ),
    "templates": (
        "query($first: Int, $after: String) { x: templates(first: $first, after: $after) { "
        f"{PAGE} edges {{ cursor node {{ id slug }} }} }} }}"
    ),
    "environment": (
        'query($first: Int, $after: String) { environment(slug: "prod") { x: resources('
        f"first: $first, after: $after) {{ {PAGE} edges {{ cursor node {{ id }} }} }} }} }}"
    ),
}


def _listing(data: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = data["environment"]["x"] if "environment" in data else data["x"]
    return found


@pytest.mark.parametrize("query", LISTINGS.values(), ids=LISTINGS.keys())
@pytest.mark.parametrize("starting", ["fast", "executor"])
async def test_pages_continue_on_either_read_path(
    gql: GraphQLClient, endpoint: GraphQLEndpoint, catalog: None, query: str, starting: str
) -> None:
    """A cursor from one path continues the listing on the other: the pages, read on the two
    paths in turn, are the whole listing read at once, cursors included."""
    whole = _listing(await fast(gql, endpoint, query, first=100))
    assert whole["totalCount"] == len(whole["edges"]) >= 3
    paths = ["fast", "executor"] if starting == "fast" else ["executor", "fast"]
    edges: list[dict[str, Any]] = []
    after = None
    for turn in range(len(whole["edges"])):
        with only(endpoint, paths[turn % 2]):
            page = _listing(await gql(query, first=2, after=after))
        edges += page["edges"]
        info = page["pageInfo"]
        assert info["hasPreviousPage"] == (after is not None)
        assert info["startCursor"] == page["edges"][0]["cursor"]
        assert info["endCursor"] == page["edges"][-1]["cursor"]
        assert page["totalCount"] == whole["totalCount"]
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
    assert edges == whole["edges"]


async def test_an_empty_page_and_the_page_after_the_last(
    gql: GraphQLClient, endpoint: GraphQLEndpoint, catalog: None
) -> None:
    query = LISTINGS["templates"]
    empty = _listing(await fast(gql, endpoint, query, first=0))
    assert empty["edges"] == []
    assert empty["pageInfo"]["endCursor"] is None
    last = _listing(await fast(gql, endpoint, query, first=100))["pageInfo"]["endCursor"]
    beyond = _listing(await fast(gql, endpoint, query, first=2, after=last))
    assert beyond["edges"] == []
    assert beyond["pageInfo"]["hasPreviousPage"] is True


def _forged(scope: str, *values: str) -> str:
    """A well-formed cursor of the listing named `scope` (without filter) at `values`."""
    return encode_cursor(scope_digest(scope), list(values))


@pytest.mark.parametrize(
    ("name", "cursor", "message"),
    [
        ("resources", "bm90LWEtY3Vyc29y", "not a valid cursor"),
        ("resources", "not a cursor at all", "not a valid cursor"),
        ("resources", _forged("resources", "1"), "another filter or order"),
        ("every resource", _forged("resources-by-environment", "1"), "another filter or order"),
        ("classes", _forged("templates", "bare", "2"), "another filter or order"),
        ("templates", _forged("templates", "bare"), "not a valid cursor"),
        ("templates", _forged("templates", "bare", "two"), "not a valid cursor"),
        ("environment", _forged("resources-by-environment", "1; DROP"), "not a valid cursor"),
        ("environment", _forged("resources-by-environment", "9" * 30), "not a valid cursor"),
    ],
)
async def test_forged_cursors_are_refused_on_both_paths(
    gql: GraphQLClient, endpoint: GraphQLEndpoint, catalog: None, name: str, cursor: str,
    message: str,
) -> None:  # fmt: skip
    errors = await refused(gql, endpoint, LISTINGS[name], first=2, after=cursor)
    assert [e["extensions"]["code"] for e in errors] == ["VALIDATION"]
    assert message in errors[0]["message"]


async def test_a_cursor_of_another_filter_is_refused(
    gql: GraphQLClient, endpoint: GraphQLEndpoint, catalog: None
) -> None:
    page = _listing(await fast(gql, endpoint, LISTINGS["resources"], first=2))
    cursor = page["pageInfo"]["endCursor"]
    # Every resource, and an environment's resources: the same rows, scopes of their own.
    for other in ("every resource", "environment"):
        errors = await refused(gql, endpoint, LISTINGS[other], first=2, after=cursor)
        assert "another filter or order" in errors[0]["message"]


@pytest.mark.parametrize("first", [101, -1])
async def test_page_sizes_the_executor_refuses(
    gql: GraphQLClient, endpoint: GraphQLEndpoint, catalog: None, first: int
) -> None:
    for query in LISTINGS.values():
        errors = await refused(gql, endpoint, query, first=first)
        assert [e["extensions"]["code"] for e in errors] == ["VALIDATION"]


# --- what stays with the executor -------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "{ resources { nodes { name live { healthy } } } }",
        "{ resourceClasses { nodes { provider { capabilities } } } }",
        '{ service(slug: "svc-1") { resources { name live { healthy } } } }',
        "{ templates { nodes { slug } } viewer { __typename } }",
    ],
)
async def test_what_the_executor_answers_instead(
    gql: GraphQLClient, endpoint: GraphQLEndpoint, catalog: None, query: str
) -> None:
    answered = endpoint.fast_answers
    await gql.raw(query)
    assert endpoint.fast_answers == answered
