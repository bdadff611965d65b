"""The three benchmarked GraphQL queries and a one-off correctness check of each."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any


class QueryCheckError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class BenchQuery:
    key: str
    title: str
    document: str

    def body(self) -> bytes:
        return json.dumps({"query": self.document}).encode()


def bench_queries(lookup_slug: str) -> list[BenchQuery]:
    return [
        BenchQuery(
            "lookup",
            "single lookup",
            f'query {{ service(slug: "{lookup_slug}") {{ id slug name owner {{ slug name }} }} }}',
        ),
        BenchQuery(
            "services50",
            "page of 50 services",
            "query { services(first: 50) { nodes { slug name tier owner { slug name } "
            "owners { role team { slug } } dependsOn { slug owner { slug } } } } }",
        ),
        BenchQuery(
            "teams100",
            "page of 100 teams with members",
            "query { teams(first: 100) { nodes { slug name "
            "members(first: 20) { nodes { handle } } } } }",
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


def check_query(url: str, query: BenchQuery) -> int:
    """Raise unless the query answers 200, without "errors", with non-empty data; returns the
    response size in bytes."""
    status, payload = post_graphql(url, query.body())
    excerpt = payload[:500].decode(errors="replace")
    if status != 200:
        raise QueryCheckError(f"{query.title}: HTTP {status}: {excerpt}")
    try:
        document = json.loads(payload)
    except ValueError as error:
        raise QueryCheckError(f"{query.title}: response is not JSON: {excerpt}") from error
    if not isinstance(document, dict):
        raise QueryCheckError(f"{query.title}: response is not a JSON object: {excerpt}")
    if "errors" in document:
        raise QueryCheckError(f"{query.title}: errors: {json.dumps(document['errors'])[:800]}")
    data = document.get("data")
    if not isinstance(data, dict) or not data or any(_empty(v) for v in data.values()):
        raise QueryCheckError(f"{query.title}: empty data: {excerpt}")
    return len(payload)
