"""The four benchmarked reads, each written in both systems' schemas, and a one-off check
that a system answers one of them with data."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bench.systems import PAVED, POSTGRAPHILE, SHAPE_OF

Reshape = Callable[[dict[str, Any]], dict[str, Any]]


class QueryCheckError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class BenchQuery:
    key: str
    title: str
    documents: Mapping[str, str]  # system key -> GraphQL document in that system's schema
    root_fields: int = 1
    # Answered by the fast read path's one compiled statement (target 4); False for reads
    # the strawberry executor answers, such as the release matrix.
    compiled: bool = True
    # Per system: `data` mapped to Paved Road's shape before the comparison, when renaming
    # fields is not enough.
    reshape: Mapping[str, Reshape] = field(default_factory=dict)
    # Per system: the same read with `after: $after` and `pageInfo { hasNextPage endCursor }`,
    # for walking several pages in a row.
    walk: Mapping[str, str] = field(default_factory=dict)

    def document(self, system: str) -> str:
        return self.documents[SHAPE_OF.get(system, system)]

    def shaped(self, system: str, data: dict[str, Any]) -> dict[str, Any]:
        reshape = self.reshape.get(SHAPE_OF.get(system, system))
        return reshape(data) if reshape else data

    def body(self, system: str) -> bytes:
        return graphql_body(self.document(system))


# PostGraphile's names: `serviceBySlug` and `allServices` come from the unique constraint and
# the table; `owner`, `ownersList`, `dependsOnList` and `currentDeploymentsList` from the views
# of bench/peer/schema.sql and their smart-tagged foreign keys (lists get PostGraphile's `List`
# suffix; `owner` and `dependsOnList` hold the view row, whose `team` or `service` is the
# related row); its `id` is the global node id (the `id` column is `rowId`). Paved Road orders a
# page of services by name, id, which is `[NAME_ASC, ROW_ID_ASC]` there.
_PAGE_ORDER = "orderBy: [NAME_ASC, ROW_ID_ASC]"
_OWNERS = "ownersList(orderBy: [ROLE_DESC, TEAM_NAME_ASC, TEAM_ID_ASC])"
_DEPENDS_ON = "dependsOnList(orderBy: [DEPENDS_ON_NAME_ASC, DEPENDS_ON_ID_ASC])"

MATRIX_KEY = "matrix"
MATRIX_PAGE = 100  # the largest page either system serves; 5 pages make the issue's 500
MATRIX_PAGES = 5


def _instant(value: Any) -> Any:
    """Both systems' DateTime strings as one ISO 8601 form (PostGraphile keeps PostgreSQL's
    offset spelling and microseconds, Paved Road writes Python's isoformat)."""
    if not isinstance(value, str):
        return value
    return datetime.fromisoformat(value).isoformat(timespec="microseconds")


def _current(deployment: dict[str, Any] | None) -> dict[str, Any] | None:
    if deployment is None:
        return None
    return {
        "version": deployment["version"],
        "state": deployment["state"],
        "finishedAt": _instant(deployment["finishedAt"]),
    }


def _peer_catalog(value: Any) -> Any:
    """PostGraphile's answer with the view rows between a service and its related rows left
    out: `owner {team {...}}` -> `owner {...}`, `dependsOnList [{service {...}}]` ->
    `dependsOnList [{...}]`."""
    if isinstance(value, list):
        return [_peer_catalog(item) for item in value]
    if not isinstance(value, dict):
        return value
    plain: dict[str, Any] = {}
    for key, item in value.items():
        if key == "owner" and isinstance(item, dict):
            plain[key] = _peer_catalog(item["team"])
        elif key == "dependsOnList" and isinstance(item, list):
            plain[key] = [_peer_catalog(edge["service"]) for edge in item]
        else:
            plain[key] = _peer_catalog(item)
    return plain


def _peer_reshape(data: dict[str, Any]) -> dict[str, Any]:
    shaped: dict[str, Any] = _peer_catalog(data)
    return shaped


def _paved_matrix(data: dict[str, Any]) -> dict[str, Any]:
    nodes = [
        {
            "service": node["service"],
            "cells": [
                {"environment": cell["environment"], "current": _current(cell["current"])}
                for cell in node["cells"]
            ],
        }
        for node in data["releaseMatrix"]["nodes"]
    ]
    return {"releaseMatrix": {"nodes": nodes}}


def _peer_matrix(environments: Sequence[str]) -> Reshape:
    """PostGraphile's services with their current deployments (one per environment that has
    one, in the order asked) as Paved Road's rows: one cell per environment asked, `current`
    null where there is none."""

    def reshape(data: dict[str, Any]) -> dict[str, Any]:
        nodes = []
        for node in data["allServices"]["nodes"]:
            current = {
                deployment["environment"]["slug"]: deployment
                for deployment in node["currentDeploymentsList"]
            }
            cells = [
                {"environment": {"slug": slug}, "current": _current(current.get(slug))}
                for slug in environments
            ]
            nodes.append({"service": {"slug": node["slug"]}, "cells": cells})
        return {"releaseMatrix": {"nodes": nodes}}

    return reshape


def _matrix_documents(environments: Sequence[str], walk: bool) -> dict[str, str]:
    slugs = json.dumps(list(environments))
    after = ", after: $after" if walk else ""
    paved_variables = "($after: String) " if walk else ""
    peer_variables = "($after: Cursor) " if walk else ""  # PostGraphile's cursor scalar
    page_info = " pageInfo { hasNextPage endCursor }" if walk else ""
    return {
        PAVED: f"query {paved_variables}{{ releaseMatrix(first: {MATRIX_PAGE}{after}, "
        f"environments: {slugs}) {{ nodes {{ service {{ slug }} cells {{ environment {{ slug }} "
        f"current {{ version state finishedAt }} }} }}{page_info} }} }}",
        POSTGRAPHILE: f"query {peer_variables}{{ allServices(first: {MATRIX_PAGE}{after}, "
        f"{_PAGE_ORDER}) {{ nodes {{ slug currentDeploymentsList(orderBy: ENVIRONMENT_ID_ASC) "
        "{ version state finishedAt environment { slug } } }"
        f"{page_info} }} }}",
    }


def release_matrix_query(environments: Sequence[str]) -> BenchQuery:
    """Paved Road's `releaseMatrix`; PostGraphile's page of services with the relation
    `currentDeploymentsList` to the view of bench/peer/schema.sql (the SUCCEEDED deployment of
    each environment, in environment id order, which is the seeded order of the environments
    asked: all of them) and each one's environment through its smart-tagged foreign key."""
    return BenchQuery(
        MATRIX_KEY,
        f"release matrix, page of {MATRIX_PAGE} services x {len(environments)} environments",
        _matrix_documents(environments, walk=False),
        compiled=False,
        reshape={PAVED: _paved_matrix, POSTGRAPHILE: _peer_matrix(environments)},
        walk=_matrix_documents(environments, walk=True),
    )


def bench_queries(lookup_slug: str, environments: Sequence[str]) -> list[BenchQuery]:
    return [
        BenchQuery(
            "lookup",
            "single service by slug with owner",
            {
                PAVED: f'query {{ service(slug: "{lookup_slug}") '
                "{ id slug name owner { slug name } } }",
                POSTGRAPHILE: f'query {{ serviceBySlug(slug: "{lookup_slug}") '
                "{ id slug name owner { team { slug name } } } }",
            },
            reshape={POSTGRAPHILE: _peer_reshape},
        ),
        BenchQuery(
            "services50",
            "page of 50 services",
            {
                PAVED: "query { services(first: 50) { nodes { slug name tier owner { slug name } "
                "owners { role team { slug } } dependsOn { slug owner { slug } } } } }",
                POSTGRAPHILE: f"query {{ allServices(first: 50, {_PAGE_ORDER}) {{ nodes {{ "
                "slug name tier owner { team { slug name } } "
                f"{_OWNERS} {{ role team {{ slug }} }} "
                f"{_DEPENDS_ON} {{ service {{ slug owner {{ team {{ slug }} }} }} }} }} }} }}",
            },
            reshape={POSTGRAPHILE: _peer_reshape},
        ),
        BenchQuery(
            "services100",
            "full page of 100 services",
            {
                PAVED: "query { services(first: 100) { nodes { id name tags owner { name } "
                "owners { role team { slug } } } } }",
                POSTGRAPHILE: f"query {{ allServices(first: 100, {_PAGE_ORDER}) {{ nodes {{ "
                "id name tags owner { team { name } } "
                f"{_OWNERS} {{ role team {{ slug }} }} }} }} }}",
            },
            reshape={POSTGRAPHILE: _peer_reshape},
        ),
        release_matrix_query(environments),
    ]


def graphql_body(document: str, variables: Mapping[str, Any] | None = None) -> bytes:
    payload: dict[str, Any] = {"query": document}
    if variables:
        payload["variables"] = dict(variables)
    return json.dumps(payload).encode()


def post_graphql(url: str, body: bytes, timeout: float = 30.0) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), bytes(error.read())


def _empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, dict):
        return not value or ("nodes" in value and not value["nodes"])
    return isinstance(value, list) and not value


def fetch_data(url: str, query: BenchQuery, system: str) -> dict[str, Any]:
    """POST the query once; raise unless it answers 200, without "errors", with non-empty
    data; returns `data`."""
    label = f"{query.title} ({system})"
    return parse_answer(label, *post_graphql(url, query.body(system)))


def parse_answer(label: str, status: int, payload: bytes) -> dict[str, Any]:
    """`data` of an answer; raise unless 200, without "errors", with non-empty data."""
    excerpt = payload[:500].decode(errors="replace")
    if status != 200:
        raise QueryCheckError(f"{label}: HTTP {status}: {excerpt}")
    try:
        document = json.loads(payload)
    except ValueError as error:
        raise QueryCheckError(f"{label}: response is not JSON: {excerpt}") from error
    if not isinstance(document, dict):
        raise QueryCheckError(f"{label}: response is not a JSON object: {excerpt}")
    if "errors" in document:
        raise QueryCheckError(f"{label}: errors: {json.dumps(document['errors'])[:800]}")
    data = document.get("data")
    if not isinstance(data, dict) or not data or any(_empty(v) for v in data.values()):
        raise QueryCheckError(f"{label}: empty data: {excerpt}")
    return data
