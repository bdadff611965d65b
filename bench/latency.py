"""Single-client latency: sequential requests over one keep-alive HTTP connection (no
concurrency, so each number is one request's whole round trip), and walking a listing's pages
one after the other with the cursor each page returns."""

from __future__ import annotations

import http.client
import json
import math
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from bench.queries import QueryCheckError, graphql_body, parse_answer

WALK_REPEAT = 5


@dataclass(frozen=True, slots=True)
class LatencyResult:
    requests: int
    p50_ms: float
    p99_ms: float
    max_ms: float


@dataclass(frozen=True, slots=True)
class WalkResult:
    pages: int
    rows: int
    walks_ms: list[float]  # each walk's total, in order
    pages_data: list[dict[str, Any]]  # the first walk's `data`, page by page

    @property
    def median_ms(self) -> float:
        return statistics.median(self.walks_ms)

    @property
    def max_ms(self) -> float:
        return max(self.walks_ms)


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (p99 of 200 values is the 198th smallest)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


class Client:
    """One keep-alive HTTP/1.1 connection to a server's GraphQL endpoint."""

    def __init__(self, url: str, timeout: float = 30.0, source_address: str | None = None) -> None:
        """`source_address`: the local address to connect from (any port), e.g. 127.0.0.2 to
        be another client address on loopback."""
        parts = urlsplit(url)
        self.path = parts.path or "/"
        self.connection = http.client.HTTPConnection(
            parts.hostname or "127.0.0.1",
            parts.port,
            timeout=timeout,
            source_address=(source_address, 0) if source_address else None,
        )

    def post(self, body: bytes) -> tuple[int, bytes]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        self.connection.request("POST", self.path, body=body, headers=headers)
        response = self.connection.getresponse()
        return response.status, response.read()

    def close(self) -> None:
        self.connection.close()


def sequential_latency(url: str, body: bytes, requests: int, warm: int) -> LatencyResult:
    """`warm` discarded requests, then `requests` timed ones, one at a time."""
    client = Client(url)
    try:
        timings: list[float] = []
        for index in range(warm + requests):
            started = time.perf_counter()
            status, payload = client.post(body)
            elapsed = (time.perf_counter() - started) * 1000
            if status != 200:
                raise QueryCheckError(f"HTTP {status} from {url}: {payload[:300]!r}")
            if index >= warm:
                timings.append(elapsed)
    finally:
        client.close()
    return LatencyResult(
        requests, statistics.median(timings), percentile(timings, 0.99), max(timings)
    )


def _page_info(data: dict[str, Any]) -> dict[str, Any]:
    root = next(iter(data.values()))
    info = root.get("pageInfo") if isinstance(root, dict) else None
    if not isinstance(info, dict):
        raise QueryCheckError(f"no pageInfo in {json.dumps(data)[:300]}")
    return info


def _rows(data: dict[str, Any]) -> int:
    root = next(iter(data.values()))
    return len(root.get("nodes", [])) if isinstance(root, dict) else 0


def walk_pages(
    label: str, url: str, document: str, pages: int, repeat: int = WALK_REPEAT
) -> WalkResult:
    """`repeat` walks over the first `pages` pages, each page asked for with the previous
    page's `endCursor`, on one connection; every page must answer with data."""
    client = Client(url)
    walks: list[float] = []
    first: list[dict[str, Any]] = []
    rows = 0
    try:
        for repetition in range(repeat):
            after: str | None = None
            total = 0.0
            for page in range(pages):
                body = graphql_body(document, {"after": after} if after else None)
                started = time.perf_counter()
                status, payload = client.post(body)
                total += (time.perf_counter() - started) * 1000
                data = parse_answer(f"{label}, page {page + 1}", status, payload)
                if repetition == 0:
                    first.append(data)
                    rows += _rows(data)
                info = _page_info(data)
                after = info.get("endCursor")
                if page + 1 < pages and not info.get("hasNextPage"):
                    raise QueryCheckError(f"{label}: no page after page {page + 1}")
            walks.append(total)
    finally:
        client.close()
    return WalkResult(pages, rows, walks, first)
