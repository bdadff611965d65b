"""The three benchmarked reads, each written in both systems' schemas, and a one-off check
that a system answers one of them with data."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bench.systems import PAVED, POSTGRAPHILE


class QueryCheckError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class BenchQuery:
    key: str
    title: str
    documents: Mapping[str, str]  # system key -> GraphQL document in that system's schema
    root_fields: int = 1

    def document(self, system: str) -> str:
        return self.documents[system]

    def body(self, system: str) -> bytes:
        return json.dumps({"query": self.documents[system]}).encode()


# PostGraphile's names: `serviceBySlug` and `allServices` come from the unique constraint and
# the table; `owner`, `ownersList`, `dependsOnList` from bench/peer/schema.sql's computed
# columns (lists get PostGraphile's `List` suffix); `teamByTeamId` from the foreign key; its
# `id` is the global node id (the `id` column is `rowId`). Paved Road orders a page of services
# by name, id, which is `[NAME_ASC, ROW_ID_ASC]` there.
_PAGE_ORDER = "orderBy: [NAME_ASC, ROW_ID_ASC]"


def bench_queries(lookup_slug: str) -> list[BenchQuery]:
    return [
        BenchQuery(
            "lookup",
            "single service by slug with owner",
            {
                PAVED: f'query {{ service(slug: "{lookup_slug}") '
                "{ id slug name owner { slug name } } }",
                POSTGRAPHILE: f'query {{ serviceBySlug(slug: "{lookup_slug}") '
                "{ id slug name owner { slug name } } }",
            },
        ),
        BenchQuery(
            "services50",
            "page of 50 services",
            {
                PAVED: "query { services(first: 50) { nodes { slug name tier owner { slug name } "
                "owners { role team { slug } } dependsOn { slug owner { slug } } } } }",
                POSTGRAPHILE: f"query {{ allServices(first: 50, {_PAGE_ORDER}) {{ nodes {{ "
                "slug name tier owner { slug name } ownersList { role teamByTeamId { slug } } "
                "dependsOnList { slug owner { slug } } } } }",
            },
        ),
        BenchQuery(
            "services100",
            "full page of 100 services",
            {
                PAVED: "query { services(first: 100) { nodes { id name tags owner { name } "
                "owners { role team { slug } } } } }",
                POSTGRAPHILE: f"query {{ allServices(first: 100, {_PAGE_ORDER}) {{ nodes {{ "
                "id name tags owner { name } ownersList { role teamByTeamId { slug } } } } }",
            },
        ),
    ]


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
    status, payload = post_graphql(url, query.body(system))
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
