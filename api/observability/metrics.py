"""The Prometheus metrics of one app, in a registry of its own (never the global one, so that
several apps in one process, as in the tests, count apart), served at `/metrics`.

Label values are bounded: operation names are those of the trusted documents and the first
`keep` distinct names seen (`PAVED_METRICS_OPERATION_NAMES`); anonymous operations and every
other name share the one value `OTHER`. Outcomes, codes, paths, kinds are closed sets."""

from __future__ import annotations

import asyncio
import logging
import platform
import re
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import asyncpg
from graphql import GraphQLError, OperationDefinitionNode, parse
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from api.observability.subscription_metrics import SubscriptionMetrics
from resolvers.request_stats import RequestStats

log = logging.getLogger(__name__)

OTHER = "_other"
"""The one label value of anonymous operations and of names beyond the kept ones."""
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,63}")
_TYPES = frozenset({"query", "mutation", "subscription"})

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_STATEMENT_BUCKETS = (0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64, 128)
_SEAL_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2.5, 5, 10, 30)
_PROVIDER_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_CIRCUIT_STATES = {"closed": 0, "half_open": 1, "open": 2}

Backlog = Callable[[], Awaitable[Mapping[str, int]]]
"""Counts of the runners' unfinished work by queue, read at scrape time."""
BACKLOG_SECONDS = 1.0


class OperationNames:
    """Which operation names become label values: trusted ones always, then the first `keep`
    distinct well-formed names; the rest (and anonymous operations) are `OTHER`."""

    def __init__(self, trusted: Iterable[str] = (), keep: int = 200) -> None:
        self._known = {name for name in trusted if _NAME.fullmatch(name)}
        self._room = keep

    def label(self, name: str | None) -> str:
        if name is None:
            return OTHER
        if name in self._known:
            return name
        if self._room > 0 and _NAME.fullmatch(name):
            self._room -= 1
            self._known.add(name)
            return name
        return OTHER


def operation_names_of(documents: Iterable[str]) -> list[str]:
    """The names of the operations the trusted documents define."""
    names: list[str] = []
    for text in documents:
        try:
            document = parse(text)
        except GraphQLError:
            continue
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode) and definition.name is not None:
                names.append(definition.name.value)
    return names


def outcome_of(stats: RequestStats) -> tuple[str, str]:
    """(outcome, code): ok, user_error, request_error, unavailable or internal, and the error
    code of the first error behind it."""
    codes = stats.error_codes
    if stats.failure is not None:
        if stats.code == "UNAVAILABLE":
            return "unavailable", stats.code
        return stats.failure, stats.code
    if "INTERNAL" in codes:
        return "internal", "INTERNAL"
    if "UNAVAILABLE" in codes:
        return "unavailable", "UNAVAILABLE"
    if codes:
        return "user_error", codes[0]
    if stats.refusals:
        return "user_error", stats.refusals[0]
    return "ok", ""


def build_version() -> str:
    try:
        return version("pavedroad")
    except PackageNotFoundError:
        return "unknown"


class _PoolCollector(Collector):
    """The request pool's connections, read when scraped."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    def collect(self) -> Iterator[GaugeMetricFamily]:
        pool = self._pool
        connections = GaugeMetricFamily(
            "paved_db_pool_connections",
            "Connections of the request pool: open (size), in use, idle, and the maximum",
            labels=["state"],
        )
        size, idle, maximum = pool.get_size(), pool.get_idle_size(), pool.get_max_size()
        connections.add_metric(["size"], size)
        connections.add_metric(["in_use"], size - idle)
        connections.add_metric(["idle"], idle)
        connections.add_metric(["max"], maximum)
        yield connections
        yield GaugeMetricFamily(
            "paved_db_pool_waiting",
            "Requests waiting for a connection of the request pool",
            value=pool_waiting(pool),
        )

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())


def pool_waiting(pool: asyncpg.Pool) -> int:
    """How many `acquire` calls wait for a connection: for Paved Road's pool, those waiting
    for their turn; else the waiters of asyncpg's queue of connection holders (not public
    API: 0 if it ever changes shape)."""
    waiting = getattr(pool, "waiting", None)
    if isinstance(waiting, int):
        return waiting
    queue = getattr(pool, "_queue", None)
    getters = getattr(queue, "_getters", None)
    if getters is None:
        return 0
    return sum(1 for waiter in getters if not waiter.done())


class Metrics:
    def __init__(self, *, operation_names: OperationNames | None = None) -> None:
        self.registry = registry = CollectorRegistry(auto_describe=True)
        self.names = operation_names or OperationNames()
        self._backlog: Backlog | None = None
        self._unsealed: Callable[[], Awaitable[int]] | None = None
        self._series: dict[tuple[str, str, str, str, str | None], tuple[Any, Any, Any]] = {}
        """The children of each label combination seen (bounded as the labels are)."""
        self.requests = Counter(
            "paved_graphql_requests",
            "GraphQL requests by operation, type and outcome (with the error code of user and "
            "request errors)",
            ["operation", "type", "outcome", "code"],
            registry=registry,
        )
        self.latency = Histogram(
            "paved_graphql_request_duration_seconds",
            "Time to answer a GraphQL request, by operation and type",
            ["operation", "type"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.answered = Counter(
            "paved_graphql_answers",
            "GraphQL operations by the path that answered them: fast (one compiled statement) "
            "or executor",
            ["operation", "path"],
            registry=registry,
        )
        self.statements = Histogram(
            "paved_sql_statements_per_request",
            "SQL statements run on the request pool per GraphQL request over HTTP",
            buckets=_STATEMENT_BUCKETS,
            registry=registry,
        )
        self.provider_calls = Counter(
            "paved_provider_calls",
            "Calls to provider adapters by kind, operation and outcome "
            "(ok, provider_error, timeout, circuit_open: refused at once, its circuit open; "
            "error)",
            ["kind", "operation", "outcome"],
            registry=registry,
        )
        self.provider_latency = Histogram(
            "paved_provider_call_duration_seconds",
            "Duration of calls to provider adapters by kind and operation",
            ["kind", "operation"],
            buckets=_PROVIDER_BUCKETS,
            registry=registry,
        )
        self.circuit_state = Gauge(
            "paved_provider_circuit_state",
            "Each provider's circuit breaker: 0 closed, 1 half-open (one probe call let "
            "through), 2 open (calls refused at once)",
            ["provider", "kind"],
            registry=registry,
        )
        self.circuit_openings = Counter(
            "paved_provider_circuit_openings",
            "Times a provider's circuit breaker opened (after failed calls in a row, or a "
            "failed probe)",
            ["provider", "kind"],
            registry=registry,
        )
        self.backlog = Gauge(
            "paved_runner_backlog",
            "Unfinished background work by queue (rollouts, resources, webhook_deliveries), "
            "counted in the database when scraped",
            ["queue"],
            registry=registry,
        )
        self.audit_seal_lag = Histogram(
            "paved_audit_seal_lag_seconds",
            "Time from an audit record's append to its sealing into the hash chain, by this "
            "process's sealer",
            buckets=_SEAL_BUCKETS,
            registry=registry,
        )
        self.audit_seal_head = Gauge(
            "paved_audit_seal_head",
            "The seal_seq of the newest audit record this process's sealer sealed (its hash is "
            "in the sealer's log line `audit seal SEQ:HASH`)",
            registry=registry,
        )
        self.audit_unsealed = Gauge(
            "paved_audit_unsealed",
            "Audit records committed but not sealed into the hash chain yet, counted in the "
            "database when scraped",
            registry=registry,
        )
        self.rate_limited = Counter(
            "paved_rate_limit_refusals",
            "Requests refused by a rate limit: points (cost bucket) or concurrency (slots)",
            ["limit"],
            registry=registry,
        )
        self.subscriptions = SubscriptionMetrics(registry, self.names)
        build = Gauge(
            "paved_build_info",
            "The running build: always 1, its version and Python's in labels",
            ["version", "python"],
            registry=registry,
        )
        build.labels(build_version(), platform.python_version()).set(1)

    def watch_pool(self, pool: asyncpg.Pool, backlog: Backlog) -> None:
        """Report `pool`'s connections, and the runners' backlog `backlog` counts, when
        scraped."""
        self.registry.register(_PoolCollector(pool))
        self._backlog = backlog

    def watch_audit(self, unsealed: Callable[[], Awaitable[int]]) -> None:
        """Report the audit records `unsealed` counts when scraped."""
        self._unsealed = unsealed

    def observe_request(self, stats: RequestStats, seconds: float) -> None:
        """A finished HTTP request: its statements and, for a GraphQL one, its operation."""
        if stats.rate_limited is not None:
            self.rate_limited.labels(stats.rate_limited).inc()
        if stats.failure is None and stats.operation_type is None and not stats.error_codes:
            return  # not a GraphQL request
        self.statements.observe(stats.statements)
        name = self.names.label(stats.operation_name)
        kind = stats.operation_type if stats.operation_type in _TYPES else "unknown"
        outcome, code = outcome_of(stats)
        key = (name, kind, outcome, code, stats.read_path)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = (
                self.requests.labels(name, kind, outcome, code),
                self.latency.labels(name, kind),
                self.answered.labels(name, stats.read_path) if stats.read_path else None,
            )
        requests, latency, answered = series
        requests.inc()
        latency.observe(seconds)
        if answered is not None:
            answered.inc()

    def provider_call(self, kind: str, operation: str, outcome: str, seconds: float) -> None:
        self.provider_calls.labels(kind, operation, outcome).inc()
        self.provider_latency.labels(kind, operation).observe(seconds)

    def provider_circuit(self, provider: str, kind: str, state: str) -> None:
        """A provider's circuit is now `state` (closed, half_open, open)."""
        self.circuit_state.labels(provider, kind).set(_CIRCUIT_STATES[state])
        if state == "open":
            self.circuit_openings.labels(provider, kind).inc()
        else:
            self.circuit_openings.labels(provider, kind)

    async def refresh_backlog(self) -> None:
        """Read the runners' backlog now; on failure the gauges keep their last values."""
        if self._unsealed is not None:
            try:
                async with asyncio.timeout(BACKLOG_SECONDS):
                    self.audit_unsealed.set(await self._unsealed())
            except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                log.warning("unsealed audit records could not be counted: %s", type(error).__name__)
        if self._backlog is None:
            return
        try:
            async with asyncio.timeout(BACKLOG_SECONDS):
                counts = await self._backlog()
        except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            log.warning("the runner backlog could not be counted: %s", type(error).__name__)
            return
        for queue, count in counts.items():
            self.backlog.labels(queue).set(count)

    def render(self, accept: str = "") -> tuple[bytes, str]:
        """The exposition the scraper's `Accept` asks for (Prometheus text 0.0.4 by default,
        OpenMetrics when asked), and its content type."""
        encode, content_type = choose_encoder(accept)
        return encode(self.registry), content_type
