"""The composition root: settings -> database -> migrations -> pool -> ports -> schema.

The server (`running`) and the `paved` administration commands build their ports here."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import secrets
import socket
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

import asyncpg
import httpx2 as httpx

from api.authentication import Authenticator
from api.observability.provider_calls import ProviderCalls
from api.observability.telemetry import Telemetry
from api.oidc import OidcVerifier
from api.oidc_client import OidcClient
from api.oidc_login import SignIn
from api.settings import Settings
from api.token_cache import CHANNEL as ACCESS_CHANNEL
from api.token_cache import TokenCache, TokenCacheSettings
from api.web_sessions import WebSessions
from demo.organisation import load_demo_if_empty
from domain.deployments.model import Deployer
from domain.events.ports import EventLog
from providers.circuits import ProviderCircuits
from providers.deployers.registry import DeployerRegistry
from providers.deployers.secret_sources import SecretSources
from providers.deployers.settings import ProviderPolicy
from providers.outbound.addresses import AddressRule
from providers.postgres.access_store import PostgresAccessStore
from providers.postgres.audit_chain import unsealed_count
from providers.postgres.audit_log import PostgresAuditLog
from providers.postgres.availability import outage
from providers.postgres.backlog import backlog
from providers.postgres.catalog_import import PostgresCatalogImporter
from providers.postgres.database import (
    EmbeddedPostgres,
    QueryLogger,
    background_pool,
    create_pool,
)
from providers.postgres.deployments import PostgresDeploymentStore
from providers.postgres.deployments.leases import RELEASED_CHANNEL
from providers.postgres.event_notices import EventNotices
from providers.postgres.events import PostgresEventLog
from providers.postgres.fair_pool import FairPool
from providers.postgres.graph_reads import PostgresGraphReader
from providers.postgres.idempotency import PostgresIdempotencyKeys
from providers.postgres.migrations import apply_migrations
from providers.postgres.notifications import (
    ACCESS_APPLICATION_NAME,
    APPLICATION_NAME,
    PostgresWakeups,
    Watcher,
    listening_backends,
    notify,
)
from providers.postgres.read_batches import ReadBatches
from providers.postgres.reads import PostgresCatalogReader
from providers.postgres.resources.leases import RELEASED_CHANNEL as RESOURCES_RELEASED
from providers.postgres.resources.store import PostgresResourceStore
from providers.postgres.sessions import PostgresSessionStore
from providers.postgres.statement_lane import StatementLane
from providers.postgres.webhook_queue import Limits, PostgresWebhookQueue
from providers.postgres.webhooks import PostgresWebhookStore
from providers.postgres.write_batches import WriteBatches
from providers.postgres.writes import PostgresCatalogWriter
from providers.resources.registry import ProvisionerRegistry
from providers.webhooks.secret_box import SecretBox
from providers.webhooks.sender import WebhookSender
from providers.webhooks.targets import WebhookTargets
from providers.webhooks.worker import WebhookWorker, WorkerTimings
from resolvers.audit_sealing import AuditSealer
from resolvers.context import Ports
from resolvers.deployers_by_environment import DeployerFactory, DeployersByEnvironment
from resolvers.event_feed import EventFeed
from resolvers.event_retention import EventRetention
from resolvers.live_status import LiveStatusLookup
from resolvers.provisioning import Provisioning, ProvisioningTimings
from resolvers.rollouts import Rollouts
from schema.build import PavedSchema, build_schema

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Overrides:
    """What tests swap in: a statement observer, provider adapters, their clock, the pauses
    of the background jobs (None: their defaults)."""

    query_logger: QueryLogger | None = None
    deployer_factory: DeployerFactory | None = None
    deployer_clock: Callable[[], float] | None = None
    rollout_sweep_seconds: float | None = None
    provisioning_sweep_seconds: float | None = None
    rollout_takeover_notices: bool = True
    """Whether this process sweeps at once when another one released its rollouts (off for a
    test app that must leave other tests' deployments alone)."""
    event_prune_seconds: float | None = None
    webhook_backoff_scale: float | None = None
    """Multiplies the webhook retry schedule (0: retry at once)."""
    session_clock: Callable[[], float] | None = None
    """Unix seconds by which browser sessions and sign-ins live and expire."""
    span_exporter: SpanExporter | None = None
    """Where spans go (tracing on, whatever the environment says)."""
    token_cache: TokenCacheSettings | None = None
    """The token cache's size, ages and pauses (None: its defaults, the size from settings)."""
    audit_sealing: bool = True
    """Whether this process seals audit records (off for a test app whose tests compare the
    records they appended, unsealed, with what they read back)."""


@dataclass(frozen=True, slots=True)
class Container:
    settings: Settings
    pool: asyncpg.Pool
    ports: Ports
    graph_reader: PostgresGraphReader
    read_batches: ReadBatches
    write_batches: WriteBatches
    authenticator: Authenticator
    schema: PavedSchema
    rollouts: Rollouts
    deployers: DeployersByEnvironment
    live: LiveStatusLookup
    replica_id: str
    feed: EventFeed
    provisioning: Provisioning
    circuits: ProviderCircuits
    webhook_worker: WebhookWorker | None = None
    sign_in: SignIn | None = None
    """Browsers signing in through the identity provider, when configured."""
    token_cache: TokenCache | None = None
    """The API tokens this process verified (None: `PAVED_TOKEN_CACHE_SIZE=0`)."""


@asynccontextmanager
async def database_url(settings: Settings) -> AsyncIterator[str]:
    """`DATABASE_URL` when set; otherwise an embedded server, stopped on exit."""
    if settings.database_url:
        yield settings.database_url
        return
    embedded = EmbeddedPostgres(settings.data_dir)
    dsn = await asyncio.to_thread(embedded.start)
    try:
        yield dsn
    finally:
        await asyncio.to_thread(embedded.stop)


async def migrate(dsn: str) -> list[str]:
    connection = await asyncpg.connect(dsn)
    try:
        return await apply_migrations(connection)
    finally:
        await connection.close()


@asynccontextmanager
async def database(
    settings: Settings, *, min_size: int, max_size: int, query_logger: QueryLogger | None = None
) -> AsyncIterator[FairPool]:
    """A pool on the migrated database (`database_url`), closed on exit."""
    async with (
        database_url(settings) as dsn,
        _migrated_pool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            query_logger=query_logger,
            timeouts=pool_timeouts(settings),
        ) as pool,
    ):
        yield pool


def pool_timeouts(settings: Settings) -> dict[str, Any]:
    """`create_pool`'s bounds on waiting (`PAVED_POOL_TIMEOUT_SECONDS`,
    `PAVED_STATEMENT_TIMEOUT_MS`): an outage is answered fast, nothing piles up."""
    return {
        "acquire_timeout": settings.pool_timeout_seconds,
        "statement_timeout_ms": settings.statement_timeout_ms,
    }


@asynccontextmanager
async def _migrated_pool(
    dsn: str,
    *,
    min_size: int,
    max_size: int,
    query_logger: QueryLogger | None = None,
    timeouts: dict[str, Any] | None = None,
) -> AsyncIterator[FairPool]:
    await migrate(dsn)
    pool = await create_pool(
        dsn, min_size=min_size, max_size=max_size, query_logger=query_logger, **(timeouts or {})
    )
    try:
        yield pool
    finally:
        await pool.close()


def build_ports(
    settings: Settings,
    pool: asyncpg.Pool,
    write_batches: WriteBatches | None = None,
    notices: EventNotices | None = None,
) -> Ports:
    """The stores on `pool` and the limits the use cases apply: what the server and the
    `paved` administration commands share. Nothing here runs deployments; the server adds
    its rollouts and live status (see `running`). `notices`: what wakes the event listeners
    after a change (None: each change wakes them itself, once it has committed)."""
    audit_log = PostgresAuditLog(pool)
    return Ports(
        reader=PostgresCatalogReader(pool),
        writer=PostgresCatalogWriter(
            pool,
            audit_log,
            batches=write_batches or WriteBatches(pool, most=settings.write_batch_size),
            notices=notices,
        ),
        access=PostgresAccessStore(pool, audit_log, notices=notices),
        audit=audit_log,
        deployments=PostgresDeploymentStore(pool, audit_log, notices=notices),
        max_token_days=settings.max_token_days,
        deployer_kinds=DeployerRegistry(provider_policy(settings)),
        events=PostgresEventLog(pool),
        webhooks=PostgresWebhookStore(
            pool, webhook_secret_box(settings), audit_log, notices=notices
        ),
        resources=PostgresResourceStore(pool, audit_log, notices=notices),
        provisioner_kinds=ProvisionerRegistry(provider_policy(settings)),
        outage=outage,
        idempotency=PostgresIdempotencyKeys(pool),
        importer=PostgresCatalogImporter(pool, audit_log, notices=notices),
    )


@asynccontextmanager
async def command_ports(settings: Settings) -> AsyncIterator[Ports]:
    """The ports of one `paved` administration command: a small pool, no rollouts."""
    async with database(settings, min_size=1, max_size=2) as pool:
        yield build_ports(settings, pool)


@dataclass(frozen=True, slots=True)
class _Writes:
    """The server's batched creates, on connections a lane keeps between them, and the
    wake-ups of the event listeners sent after changes commit, on the same lane."""

    lane: StatementLane
    batches: WriteBatches
    notices: EventNotices

    async def close(self) -> None:
        await self.batches.close()
        await self.notices.close()
        await self.lane.close()


def _writes(settings: Settings, pool: FairPool) -> _Writes:
    """A write alone or a batch lasts its commit: past the lane's connections, it takes one of
    the pool's rather than wait."""
    lane = StatementLane(pool, size=max(1, settings.pool_max_size // 4), waits=False)
    batches = WriteBatches(pool, most=settings.write_batch_size, lane=lane)
    return _Writes(lane, batches, EventNotices(lane))


@asynccontextmanager
async def running(
    settings: Settings, overrides: Overrides | None = None, telemetry: Telemetry | None = None
) -> AsyncIterator[Container]:
    """`telemetry`: what observes the requests' statements and the provider calls."""
    overrides = overrides or Overrides()
    if settings.production and settings.webhook_encryption_key is None:
        raise RuntimeError(MISSING_WEBHOOK_KEY)
    if settings.production and settings.login_enabled and settings.public_url is None:
        raise RuntimeError(MISSING_PUBLIC_URL)
    async with (
        database_url(settings) as dsn,
        _migrated_pool(
            dsn,
            min_size=settings.pool_min_size,
            max_size=max(settings.pool_min_size, settings.pool_max_size),
            query_logger=(
                telemetry.query_logger(overrides.query_logger)
                if telemetry is not None
                else overrides.query_logger
            ),
            timeouts=pool_timeouts(settings),
        ) as pool,
        _webhooks(settings, overrides, dsn) as (targets, worker),
        _audit_sealing(settings, overrides, dsn, pool, telemetry),
    ):
        writes = _writes(settings, pool)
        ports = build_ports(settings, pool, writes.batches, writes.notices)
        replica = replica_id()
        calls = None
        if telemetry is not None:
            telemetry.attach_pool(pool, partial(backlog, pool))
            calls = telemetry.provider_calls()
        circuits = provider_circuits(settings, telemetry)
        rollouts, live, deployers = _providers(
            settings, overrides, ports, replica, dsn, calls, circuits
        )
        # The feed reads on a connection of its own: outside the request pool (and what
        # counts its statements), the same one statement per wake-up whoever subscribes.
        feed_pool = await background_pool(dsn, **pool_timeouts(settings))
        # The token cache's own connection (out of the requests' pool and its statement count
        # too): its batched last-use writes and the notices it sends after a change of access.
        access_pool = await create_pool(dsn, min_size=1, max_size=1, **pool_timeouts(settings))
        tokens = token_cache(settings, overrides, ports, access_pool)
        feed = event_feed(
            settings,
            dsn,
            PostgresEventLog(feed_pool),
            () if tokens is None else [_watcher(tokens)],
        )
        provisioning = _provisioning(
            settings, overrides, ports, rollouts, replica, dsn, calls, circuits
        )
        ports = dataclasses.replace(
            ports,
            rollouts=rollouts,
            live=live,
            webhook_targets=targets,
            feed=feed,
            provisioning=provisioning,
            access_changed=None if tokens is None else tokens.settle,
        )
        retention = EventRetention(
            ports.events,
            retention_days=settings.event_retention_days,
            interval_seconds=overrides.event_prune_seconds or 3600.0,
            idempotency=ports.idempotency,
        )
        # Half the pool at most: the other half stays for writes and the executor's reads.
        lane = StatementLane(pool, size=max(1, settings.pool_max_size // 2))
        batches = ReadBatches(lane, most=settings.read_batch_size)
        try:
            await feed.start()
            if settings.demo and await load_demo_if_empty(pool):
                log.info("loaded the demo organisation")
            await _start_runners(rollouts, provisioning, retention, worker)
            async with httpx.AsyncClient() as http:
                oidc = OidcVerifier.from_settings(settings, http) if settings.oidc_enabled else None
                if not settings.production:
                    log.warning(
                        "development mode: requests without credentials act as the local admin"
                    )
                authenticator = Authenticator(
                    ports.access, oidc, anonymous_is_admin=not settings.production, tokens=tokens
                )
                yield Container(
                    settings=settings,
                    pool=pool,
                    ports=ports,
                    graph_reader=PostgresGraphReader(batches),
                    read_batches=batches,
                    write_batches=writes.batches,
                    authenticator=authenticator,
                    sign_in=sign_in(settings, overrides, pool, http, oidc, authenticator),
                    schema=build_schema(),
                    rollouts=rollouts,
                    deployers=deployers,
                    live=live,
                    replica_id=replica,
                    webhook_worker=worker,
                    feed=feed,
                    provisioning=provisioning,
                    circuits=circuits,
                    token_cache=tokens,
                )
        finally:
            await batches.close()
            await lane.close()
            await writes.close()
            if worker is not None:
                await worker.stop()
            await _stop_token_cache(tokens, access_pool)
            await feed.stop()
            await feed_pool.close()
            await retention.stop()
            await provisioning.stop()
            await rollouts.stop()


@asynccontextmanager
async def _audit_sealing(
    settings: Settings,
    overrides: Overrides,
    dsn: str,
    pool: asyncpg.Pool,
    telemetry: Telemetry | None,
) -> AsyncIterator[None]:
    """The audit sealer, for as long as the app runs; it stops after the other runners, so
    it seals what they recorded last. Its connection is its own: a sealing never waits for a
    request's."""
    seal_pool = await background_pool(dsn, **pool_timeouts(settings))
    sealer = audit_sealer(settings, PostgresAuditLog(seal_pool), telemetry)
    if telemetry is not None:
        telemetry.attach_audit(partial(unsealed_count, pool))
    try:
        if overrides.audit_sealing:
            sealer.start()
        yield
    finally:
        await sealer.stop()
        await seal_pool.close()


async def _start_runners(
    rollouts: Rollouts,
    provisioning: Provisioning,
    retention: EventRetention,
    worker: WebhookWorker | None,
) -> None:
    """What runs in the background: unfinished work resumed first, then the sweeps."""
    resumed = await rollouts.resume_unfinished()
    if resumed:
        log.info("resumed %d unfinished deployments", resumed)
    rollouts.start()
    resumed = await provisioning.resume_unfinished()
    if resumed:
        log.info("resumed %d unfinished resources", resumed)
    provisioning.start()
    retention.start()
    if worker is not None:
        worker.start()


def audit_sealer(
    settings: Settings, audit: PostgresAuditLog, telemetry: Telemetry | None
) -> AuditSealer:
    """The process's audit sealer (`PAVED_AUDIT_SEAL_POLL_SECONDS`, `PAVED_AUDIT_SEAL_KEY`),
    observed by `telemetry`'s metrics."""
    key = settings.audit_seal_key
    return AuditSealer(
        audit,
        poll_seconds=settings.audit_seal_poll_seconds,
        key=None if key is None else key.get_secret_value().encode(),
        observe_lag=None if telemetry is None else telemetry.observe_seal_lag(),
        observe_head=None if telemetry is None else telemetry.observe_seal_head(),
    )


def replica_id() -> str:
    """This process's name on the rollout leases it holds: hostname-pid-random."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}"


MISSING_WEBHOOK_KEY = (
    "PAVED_WEBHOOK_ENCRYPTION_KEY is required in production: the key webhook secrets are "
    "encrypted with (make one with `python -c 'from cryptography.fernet import Fernet; "
    "print(Fernet.generate_key().decode())'`)"
)


MISSING_PUBLIC_URL = (
    "PAVED_PUBLIC_URL is required in production when signing in is configured "
    "(PAVED_OIDC_CLIENT_ID): the https origin browsers reach this server at, whose "
    "/auth/callback is the redirect URI registered with the identity provider"
)


def sign_in(
    settings: Settings,
    overrides: Overrides,
    pool: asyncpg.Pool,
    http: httpx.AsyncClient,
    oidc: OidcVerifier | None,
    authenticator: Authenticator,
) -> SignIn | None:
    """Browsers signing in (`/auth/...`) when the issuer and the client id are set: ID tokens
    are checked on the bearer verifier's keys (one cache), or on a verifier of their own when
    bearer JWTs are off; sessions provision users as bearer JWTs do."""
    if not (settings.login_enabled and settings.oidc_issuer and settings.oidc_client_id):
        return None
    verifier = oidc or OidcVerifier(
        issuer=settings.oidc_issuer,
        audience=settings.oidc_client_id,
        http=http,
        jwks_url=settings.oidc_jwks_url,
        algorithms=settings.oidc_algorithms,
        groups_claim=settings.oidc_groups_claim,
        leeway_seconds=settings.oidc_leeway_seconds,
    )
    store = PostgresSessionStore(pool)
    sessions = WebSessions(
        store,
        authenticator.oidc_principal,
        idle=timedelta(minutes=settings.session_idle_minutes),
        lifetime=timedelta(hours=settings.session_max_hours),
        origin=settings.public_origin,
        secure=settings.secure_cookies,
        clock=overrides.session_clock or time.time,
    )
    return SignIn(OidcClient.from_settings(settings, http), verifier, sessions, store)


def webhook_secret_box(settings: Settings) -> SecretBox:
    """The key from `PAVED_WEBHOOK_ENCRYPTION_KEY`; in development without it, one kept under
    the data directory; in production without it, none (`running` refuses to start)."""
    key = settings.webhook_encryption_key
    if key is not None:
        return SecretBox(key.get_secret_value().encode())
    return SecretBox(key_dir=None if settings.production else settings.data_dir)


@asynccontextmanager
async def _webhooks(
    settings: Settings, overrides: Overrides, dsn: str
) -> AsyncIterator[tuple[WebhookTargets, WebhookWorker | None]]:
    """What sends webhooks: the URL check and ping of the mutations, and (unless
    `PAVED_WEBHOOK_DELIVERY=false`) this process's delivery worker, on a pool of its own so
    that deliveries never wait for request connections (nor requests for deliveries)."""
    rule = AddressRule(
        allow_private=settings.webhook_private_allowed, setting="PAVED_WEBHOOK_ALLOW_PRIVATE"
    )
    sender = WebhookSender(rule, timeout_seconds=settings.webhook_timeout_seconds)
    own_pool = await background_pool(dsn, max_size=10, **pool_timeouts(settings))
    try:
        store = PostgresWebhookStore(own_pool, webhook_secret_box(settings))
        worker: WebhookWorker | None = None
        if settings.webhook_delivery:
            scale = overrides.webhook_backoff_scale
            worker = WebhookWorker(
                PostgresWebhookQueue(own_pool, store),
                sender,
                Limits(settings.webhook_max_attempts, settings.webhook_disable_after),
                WorkerTimings(
                    poll_seconds=settings.webhook_poll_seconds,
                    lease_seconds=settings.webhook_lease_seconds,
                    backoff_scale=1.0 if scale is None else scale,
                ),
            )
        yield WebhookTargets(rule, sender, store.signing_secrets), worker
    finally:
        await own_pool.close()
        await sender.aclose()


def token_cache(
    settings: Settings, overrides: Overrides, ports: Ports, pool: asyncpg.Pool
) -> TokenCache | None:
    """The API tokens this process verified, started: looked up through the request's store
    (a miss is the request's one statement), last uses written and notices sent on `pool`."""
    chosen = overrides.token_cache or TokenCacheSettings(size=settings.token_cache_size)
    if chosen.size == 0:
        return None
    tokens = TokenCache(
        ports.access,
        record_uses=PostgresAccessStore(pool).record_token_uses,
        announce=lambda payload: notify(pool, ACCESS_CHANNEL, payload),
        listeners=lambda: listening_backends(pool, ACCESS_APPLICATION_NAME),
        settings=chosen,
    )
    tokens.start()
    return tokens


async def _stop_token_cache(tokens: TokenCache | None, pool: asyncpg.Pool) -> None:
    """The last uses noted are written before the pool closes."""
    if tokens is not None:
        await tokens.stop()
    await pool.close()


def _watcher(tokens: TokenCache) -> Watcher:
    return Watcher(ACCESS_CHANNEL, tokens.notice, tokens.listening, tokens.lost)


def event_feed(
    settings: Settings, dsn: str, events: EventLog, watchers: Sequence[Watcher] = ()
) -> EventFeed:
    """This process's live events: woken by `LISTEN` on its own connection, polling as a
    fallback (`PAVED_EVENT_POLL_SECONDS`). `watchers` listen on more channels of the same
    connection (the token cache's, which then names itself so that every process's
    acknowledgement of a change of access is awaited)."""
    wakeups = PostgresWakeups(
        dsn,
        check_seconds=max(settings.event_poll_seconds, 1.0),
        retry_seconds=min(settings.event_poll_seconds, 1.0),
        application_name=ACCESS_APPLICATION_NAME if watchers else APPLICATION_NAME,
    )
    for watcher in watchers:
        wakeups.watch(watcher)
    return EventFeed(
        events,
        wakeups,
        poll_seconds=settings.event_poll_seconds,
        queue_size=settings.subscriber_queue_size,
    )


def provider_policy(settings: Settings) -> ProviderPolicy:
    """What provider settings may name: secrets (`PAVED_SECRETS_DIR`), addresses
    (`PAVED_PROVIDER_ALLOW_PRIVATE`, by default allowed outside production only)."""
    return ProviderPolicy(
        secrets=SecretSources(settings.secrets_dir),
        addresses=AddressRule(allow_private=settings.provider_private_allowed),
    )


def _provisioning(
    settings: Settings,
    overrides: Overrides,
    ports: Ports,
    rollouts: Rollouts,
    replica: str,
    dsn: str,
    calls: ProviderCalls | None = None,
    circuits: ProviderCircuits | None = None,
) -> Provisioning:
    """The runner that drives resources through their providers, on the rollouts' terms
    (lease, poll and deadline settings); their calls go through `circuits`, observed by
    `calls` (so that a call refused by its circuit is counted too)."""
    assert ports.resources is not None
    assert ports.provisioner_kinds is not None
    kinds = ports.provisioner_kinds
    if circuits is not None:
        kinds = circuits.provisioner_kinds(kinds)
    return Provisioning(
        ports.resources,
        calls.provisioner_kinds(kinds) if calls is not None else kinds,
        ports.reader,
        ports.deployments,
        owner=replica,
        rollouts=rollouts,
        timings=ProvisioningTimings(
            lease_seconds=settings.rollout_lease_seconds,
            poll_seconds=settings.rollout_poll_seconds,
            sweep_seconds=overrides.provisioning_sweep_seconds or 5.0,
            deadline_seconds=settings.provider_deadline_seconds,
            live_deadline_seconds=settings.live_status_deadline_seconds,
            live_cache_seconds=settings.live_status_cache_seconds,
        ),
        released=(
            PostgresWakeups(dsn, channel=RESOURCES_RELEASED, catch_up=False)
            if overrides.rollout_takeover_notices
            else None
        ),
    )


def _providers(
    settings: Settings,
    overrides: Overrides,
    ports: Ports,
    replica: str,
    dsn: str,
    calls: ProviderCalls | None = None,
    circuits: ProviderCircuits | None = None,
) -> tuple[Rollouts, LiveStatusLookup, DeployersByEnvironment]:
    build: DeployerFactory = overrides.deployer_factory or ports.deployer_kinds.build
    if circuits is not None:
        build = _behind_circuits(build, circuits)
    deployers = DeployersByEnvironment(
        ports.deployments,
        clock=overrides.deployer_clock or time.time,
        build=build if calls is None else _observed(build, calls),
    )
    rollouts = Rollouts(
        ports.deployments,
        ports.reader,
        deployers,
        call_deadline_seconds=settings.provider_deadline_seconds,
        poll_seconds=settings.rollout_poll_seconds,
        owner=replica,
        lease_seconds=settings.rollout_lease_seconds,
        sweep_seconds=overrides.rollout_sweep_seconds,
        released=(
            PostgresWakeups(dsn, channel=RELEASED_CHANNEL, catch_up=False)
            if overrides.rollout_takeover_notices
            else None
        ),
    )
    live = LiveStatusLookup(
        deployers,
        deadline_seconds=settings.live_status_deadline_seconds,
        cache_seconds=settings.live_status_cache_seconds,
    )
    return rollouts, live, deployers


def provider_circuits(settings: Settings, telemetry: Telemetry | None) -> ProviderCircuits:
    """The providers' circuit breakers (`PAVED_PROVIDER_BREAKER_*`), their states reported
    to the metrics when there are any."""
    metrics = telemetry.metrics if telemetry is not None else None
    return ProviderCircuits(
        failures=settings.provider_breaker_failures,
        reset_seconds=settings.provider_breaker_reset_seconds,
        on_state=metrics.provider_circuit if metrics is not None else None,
    )


def _behind_circuits(build: DeployerFactory, circuits: ProviderCircuits) -> DeployerFactory:
    """`build`, its adapters' calls through their provider's circuit."""

    def behind(
        kind: str, settings: Mapping[str, Any], *, clock: Callable[[], float] = time.time
    ) -> Deployer:
        return circuits.deployer(build(kind, settings, clock=clock), settings)

    return behind


def _observed(build: DeployerFactory, calls: ProviderCalls) -> DeployerFactory:
    """`build`, its adapters' calls observed (counted, timed, traced)."""

    def observed(
        kind: str, settings: Mapping[str, Any], *, clock: Callable[[], float] = time.time
    ) -> Deployer:
        return calls.deployer(build(kind, settings, clock=clock))

    return observed
