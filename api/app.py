"""The ASGI application. Everything it uses is built in the lifespan, none at import."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute

from api import bootstrap
from api.authentication import AuthenticationMiddleware, principal_of
from api.graphiql import graphiql_assets
from api.graphql_http import GraphQLEndpoint
from api.graphql_posts import GraphQLPosts
from api.graphql_sse import graphql_sse, wants_event_stream
from api.graphql_ws import graphql_ws
from api.hardening import Hardening
from api.health import database_answers, healthz, readyz
from api.host_guard import HostGuard, HostPolicy
from api.mcp_server import McpFace, McpRoute, channel_of
from api.observability.endpoint import metrics
from api.observability.middleware import ObserveRequests
from api.observability.telemetry import Telemetry
from api.oidc_login import SignInRoutes
from api.oidc_login import routes as sign_in_routes
from api.request_ids import request_id
from api.settings import Settings
from api.subscriptions import Subscriptions
from api.unavailable import UnavailableMiddleware
from portal import serving as portal
from reads.fast_reads import FastReads
from resolvers.context import Context
from schema.fast_mutations import FastMutations


async def graphql(request: Request) -> Response:
    endpoint: GraphQLEndpoint = request.app.state.graphql
    if wants_event_stream(request):
        subscriptions: Subscriptions = request.app.state.subscriptions
        return await graphql_sse(request, subscriptions, endpoint.hardening.max_body_bytes)
    return await endpoint(request)


async def ready(request: Request) -> Response:
    container: bootstrap.Container = request.app.state.container
    state = request.app.state
    return await readyz(
        container.pool,
        container.settings.ready_timeout_seconds,
        lambda: getattr(state, "draining", False),
    )


def tune_gc_for_serving() -> None:
    """Move everything built at start-up out of the collector's sight, and collect the
    young generation ten times less often than Python's default: request garbage is mostly
    acyclic and freed by refcount. Not much less often: each mutation through the executor
    leaves a few dozen objects in cycles, and a pass over 50,000 young objects paused every
    request for 80-190 ms (their p99 under a write load), a middle-generation pass over
    380,000 for 0.76 s."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(7_000, 10, 100)


def create_app(
    settings: Settings,
    overrides: bootstrap.Overrides | None = None,
    *,
    tune_gc: bool = False,
) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        hardening = Hardening.from_settings(settings)
        trusted = hardening.trusted_documents
        app.state.telemetry = telemetry = Telemetry.build(
            settings,
            trusted_documents=trusted.by_id.values() if trusted is not None else (),
            span_exporter=overrides.span_exporter if overrides is not None else None,
        )
        async with bootstrap.running(settings, overrides, telemetry) as container:

            def context_for(request: Request) -> Context:
                return Context.for_request(
                    container.ports, principal_of(request), request_id(request), channel_of(request)
                )

            app.state.container = container
            app.state.outage = container.ports.outage
            app.state.authenticator = container.authenticator
            app.state.sign_in = SignInRoutes(
                container.sign_in, anonymous_admin=not settings.production
            )
            app.state.web_sessions = app.state.sign_in.sessions
            fast_reads = (
                None
                if settings.fast_reads == "off"
                else FastReads(container.schema._schema, container.graph_reader)
            )
            app.state.graphql = GraphQLEndpoint(
                container.schema,
                context_for,
                graphiql=settings.graphiql_enabled,
                fast_reads=fast_reads,
                fast_mutations=(
                    FastMutations(container.schema) if settings.fast_mutations else None
                ),
                verify=settings.fast_reads == "verify",
                hardening=hardening,
                outage=container.ports.outage,
                tracer=telemetry.tracer,
                database_answers=partial(
                    database_answers, container.pool, container.settings.ready_timeout_seconds
                ),
            )
            app.state.subscriptions = subscriptions = Subscriptions(
                container.schema,
                app.state.graphql,
                container.ports,
                container.authenticator,
                sessions=app.state.web_sessions,
                per_actor=settings.max_subscriptions_per_actor,
                per_connection=settings.max_subscriptions_per_connection,
                keepalive_seconds=settings.subscription_keepalive_seconds,
                queue_size=settings.subscriber_queue_size,
                metrics=telemetry.metrics.subscriptions if telemetry.metrics else None,
            )
            app.state.mcp = mcp = McpFace(app.state.graphql)
            if tune_gc:
                tune_gc_for_serving()
            try:
                async with mcp.running():
                    yield
            finally:
                await subscriptions.close_all()
                telemetry.close()

    routes: list[BaseRoute] = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql_ws),
        Route("/mcp", McpRoute()),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", ready, methods=["GET"]),
        *sign_in_routes(),
    ]
    if settings.metrics:
        routes.append(Route("/metrics", metrics, methods=["GET"]))
    if settings.graphiql_enabled:
        routes.append(graphiql_assets().route())
    app: Starlette = Starlette(
        routes=routes,
        middleware=[
            Middleware(ObserveRequests, telemetry=lambda: getattr(app.state, "telemetry", None)),
            Middleware(UnavailableMiddleware, outage=lambda: getattr(app.state, "outage", None)),
            Middleware(
                HostGuard,
                policy=HostPolicy.of(settings.allowed_hosts, development=not settings.production),
            ),
            Middleware(
                GraphQLPosts,
                endpoint=lambda: getattr(app.state, "graphql", None),
                authenticator=lambda: getattr(app.state, "authenticator", None),
                sessions=lambda: getattr(app.state, "web_sessions", None),
            ),
            Middleware(
                AuthenticationMiddleware,
                authenticator=lambda: getattr(app.state, "authenticator", None),
                sessions=lambda: getattr(app.state, "web_sessions", None),
            ),
        ],
        lifespan=lifespan,
    )
    if settings.portal:
        portal.install(app)
    return app
