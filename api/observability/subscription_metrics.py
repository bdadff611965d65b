"""The metrics of subscriptions (WebSocket and SSE on `/graphql`) and of WebSocket connections,
in the app's registry. Operation names are bounded by the same `OperationNames` as HTTP
requests'; transports, outcomes and codes are closed sets."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge

if TYPE_CHECKING:
    from api.observability.metrics import OperationNames

TRANSPORTS = ("websocket", "sse")
CONNECTION_OUTCOMES = ("accepted", "refused", "unauthenticated")


def outcome_of_code(code: str | None) -> str:
    """ok (no code), unavailable, internal, else request_error: as HTTP requests' outcomes."""
    if code is None:
        return "ok"
    if code == "UNAVAILABLE":
        return "unavailable"
    if code == "INTERNAL":
        return "internal"
    return "request_error"


class SubscriptionMetrics:
    def __init__(self, registry: CollectorRegistry, names: OperationNames) -> None:
        self._names = names
        self.subscriptions = Counter(
            "paved_graphql_subscriptions",
            "Subscriptions asked for, by operation, transport (websocket, sse) and outcome "
            "(ok: started; request_error, unavailable, internal: refused, with the error code)",
            ["operation", "transport", "outcome", "code"],
            registry=registry,
        )
        self.active = Gauge(
            "paved_graphql_subscriptions_active",
            "Subscriptions open now, by transport",
            ["transport"],
            registry=registry,
        )
        self.connections = Counter(
            "paved_websocket_connections",
            "WebSocket connections to /graphql by outcome: accepted (connection_ack sent), "
            "refused (the upgrade, without the graphql-transport-ws subprotocol), "
            "unauthenticated (connection_init with a credential refused)",
            ["outcome"],
            registry=registry,
        )
        self.open_connections = Gauge(
            "paved_websocket_connections_open",
            "WebSocket connections to /graphql open now",
            registry=registry,
        )
        for transport in TRANSPORTS:
            self.active.labels(transport)
        for outcome in CONNECTION_OUTCOMES:
            self.connections.labels(outcome)

    def asked(self, operation: str | None, transport: str, code: str | None) -> None:
        """A subscription started (`code` None) or refused with `code`."""
        name = self._names.label(operation)
        self.subscriptions.labels(name, transport, outcome_of_code(code), code or "").inc()

    def opened(self, transport: str) -> None:
        self.active.labels(transport).inc()

    def closed(self, transport: str) -> None:
        self.active.labels(transport).dec()

    def connection(self, outcome: str) -> None:
        self.connections.labels(outcome).inc()
