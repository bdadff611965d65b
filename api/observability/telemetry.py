"""One app's telemetry: its metrics (None with `PAVED_METRICS=false`), its tracing (None unless
on, see `tracing.py`), and whether request lines are logged. Built in the app's lifespan,
handed to the composition root, which hooks it to the pool and the providers (`attach_pool`,
`query_logger`, `provider_calls`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import asyncpg

from api.observability.metrics import (
    Backlog,
    Metrics,
    OperationNames,
    build_version,
    operation_names_of,
)
from api.observability.provider_calls import ProviderCalls
from api.observability.tracing import Tracing
from api.settings import Settings
from domain.audit.seals import SealHead
from resolvers.request_stats import count_statement

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Tracer

QueryLogger = Callable[[Any], None]


@dataclass(slots=True)
class Telemetry:
    metrics: Metrics | None
    tracing: Tracing | None

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        trusted_documents: Iterable[str] = (),
        span_exporter: SpanExporter | None = None,
    ) -> Telemetry:
        metrics = (
            Metrics(
                operation_names=OperationNames(
                    operation_names_of(trusted_documents), settings.metrics_operation_names
                )
            )
            if settings.metrics
            else None
        )
        return cls(metrics, Tracing.build(build_version(), span_exporter))

    @property
    def tracer(self) -> Tracer | None:
        return self.tracing.tracer if self.tracing is not None else None

    def attach_pool(self, pool: asyncpg.Pool, backlog: Backlog) -> None:
        """Report the request pool's connections and the runners' backlog."""
        if self.metrics is not None:
            self.metrics.watch_pool(pool, backlog)

    def attach_audit(self, unsealed: Callable[[], Awaitable[int]]) -> None:
        """Report the audit records not sealed yet."""
        if self.metrics is not None:
            self.metrics.watch_audit(unsealed)

    def observe_seal_lag(self) -> Callable[[float], None] | None:
        return self.metrics.audit_seal_lag.observe if self.metrics is not None else None

    def observe_seal_head(self) -> Callable[[SealHead], None] | None:
        if self.metrics is None:
            return None
        gauge = self.metrics.audit_seal_head
        return lambda head: gauge.set(head.seq)

    def query_logger(self, *others: QueryLogger | None) -> QueryLogger:
        """The request pool's query logger: each request's statements counted (and traced),
        then whatever else observes them (a test's statement log)."""
        loggers: list[QueryLogger] = [count_statement]
        if self.tracing is not None:
            loggers.append(self.tracing.statement_span)
        loggers.extend(other for other in others if other is not None)
        if len(loggers) == 1:
            return count_statement

        def log(logged: Any) -> None:
            for logger in loggers:
                logger(logged)

        return log

    def provider_calls(self) -> ProviderCalls | None:
        """What observes provider calls; None when neither metrics nor traces are on."""
        if self.metrics is None and self.tracing is None:
            return None
        record = self.metrics.provider_call if self.metrics is not None else None
        return ProviderCalls(record, self.tracer)

    def close(self) -> None:
        if self.tracing is not None:
            self.tracing.shutdown()
