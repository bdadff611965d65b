"""The demo organisation that `make run` loads into an empty catalog.

Acme is a made-up online retailer: engineering, commerce and data divisions, the people in
them, the services they run (with a dependency graph from the storefront down to the event
bus), CI clients, and the usual environments, all on the simulated provider, production
needing one approval from the platform teams. The catalog goes through the catalog's write
port, the API clients through the access port, the environments' provider and protection
through the deployment store's port, so the demo obeys the same rules as data entered through
the API. Then a few months of deployment history (`providers/postgres/demo_deployments.py`)
are inserted in one transaction.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast

import asyncpg

from demo.deployments import load_deployment_history
from domain.access.ports import AccessStore
from domain.catalog.changes import (
    EnvironmentDraft,
    OwnerAssignment,
    ServiceDraft,
    TeamDraft,
    UserDraft,
)
from domain.catalog.ports import CatalogWriter
from domain.catalog.records import EnvironmentTier, Lifecycle, Link, OwnershipRole
from domain.deployments.ports import DeploymentStore
from providers.postgres.access_store import PostgresAccessStore
from providers.postgres.deployments import PostgresDeploymentStore
from providers.postgres.writes import PostgresCatalogWriter

log = logging.getLogger(__name__)

# Any constant works ("pavedemo"); it only has to be the same for every Paved Road process
# and differ from the other advisory lock keys.
_DEMO_LOCK_KEY = 0x70617665_64656D6F
_LOCK_RETRY_SECONDS = 0.05

# Parents come before their sub-teams.
TEAMS: tuple[TeamDraft, ...] = (
    TeamDraft("engineering", "Engineering", "Everyone who builds and runs Acme's software."),
    TeamDraft(
        "platform",
        "Platform",
        "Shared infrastructure: compute, messaging, CI and the paved road itself.",
        parent="engineering",
    ),
    TeamDraft(
        "sre",
        "Site Reliability Engineering",
        "Keeps production up: on-call, incident response, SLOs and capacity planning.",
        parent="platform",
    ),
    TeamDraft(
        "developer-experience",
        "Developer Experience",
        "Build tooling, CI runners, the developer portal and service templates.",
        parent="platform",
    ),
    TeamDraft(
        "payments",
        "Payments",
        "Moves the money: card processing, refunds, the ledger and billing.",
        parent="engineering",
    ),
    TeamDraft(
        "fraud",
        "Fraud & Risk",
        "Scores transactions and customers for fraud before money moves.",
        parent="payments",
    ),
    TeamDraft(
        "identity",
        "Identity & Access",
        "Customer and staff sign-in, sessions, permissions and the audit trail.",
        parent="engineering",
    ),
    TeamDraft("commerce", "Commerce", "The shopping experience, from browsing to the order."),
    TeamDraft(
        "checkout",
        "Checkout",
        "Cart, checkout flow and the mobile backend.",
        parent="commerce",
    ),
    TeamDraft(
        "catalog-team",
        "Catalog",
        "Products, prices, stock, search and the web storefront.",
        parent="commerce",
    ),
    TeamDraft("data", "Data", "The data lake, analytics and data engineering."),
    TeamDraft(
        "ml",
        "Machine Learning",
        "Feature store, model serving, recommendations and fraud models.",
        parent="data",
    ),
)

USERS: tuple[UserDraft, ...] = (
    UserDraft("alice-nguyen", "Alice Nguyen", "alice.nguyen@acme.example"),
    UserDraft("bob-okafor", "Bob Okafor", "bob.okafor@acme.example"),
    UserDraft("carla-mendes", "Carla Mendes", "carla.mendes@acme.example"),
    UserDraft("dmitri-volkov", "Dmitri Volkov", "dmitri.volkov@acme.example"),
    UserDraft("erin-walsh", "Erin Walsh", "erin.walsh@acme.example"),
    UserDraft("farah-haddad", "Farah Haddad", "farah.haddad@acme.example"),
    UserDraft("gus-lindqvist", "Gus Lindqvist", "gus.lindqvist@acme.example"),
    UserDraft("hana-sato", "Hana Sato", "hana.sato@acme.example"),
    UserDraft("ivan-petrov", "Ivan Petrov", "ivan.petrov@acme.example"),
    UserDraft("jess-carter", "Jess Carter", "jess.carter@acme.example"),
    UserDraft("kofi-mensah", "Kofi Mensah", "kofi.mensah@acme.example"),
    UserDraft("lena-fischer", "Lena Fischer", "lena.fischer@acme.example"),
    UserDraft("marco-rossi", "Marco Rossi", "marco.rossi@acme.example"),
    UserDraft("nadia-rahman", "Nadia Rahman", "nadia.rahman@acme.example"),
    UserDraft("omar-farouk", "Omar Farouk", "omar.farouk@acme.example"),
    UserDraft("priya-iyer", "Priya Iyer", "priya.iyer@acme.example"),
    UserDraft("quinn-obrien", "Quinn O'Brien", "quinn.obrien@acme.example"),
    UserDraft("rosa-delgado", "Rosa Delgado", "rosa.delgado@acme.example"),
)

# User handle -> the teams they belong to.
MEMBERSHIPS: Mapping[str, tuple[str, ...]] = {
    "alice-nguyen": ("platform", "sre"),
    "bob-okafor": ("sre",),
    "carla-mendes": ("developer-experience",),
    "dmitri-volkov": ("developer-experience", "platform"),
    "erin-walsh": ("payments",),
    "farah-haddad": ("payments", "fraud"),
    "gus-lindqvist": ("fraud",),
    "hana-sato": ("identity",),
    "ivan-petrov": ("identity", "sre"),
    "jess-carter": ("checkout",),
    "kofi-mensah": ("checkout", "payments"),
    "lena-fischer": ("catalog-team",),
    "marco-rossi": ("catalog-team", "commerce"),
    "nadia-rahman": ("data",),
    "omar-farouk": ("ml",),
    "priya-iyer": ("ml", "data"),
    "quinn-obrien": ("engineering",),
    "rosa-delgado": ("commerce", "checkout"),
}

# `owner` is the PRIMARY owner team.
SERVICES: tuple[ServiceDraft, ...] = (
    ServiceDraft(
        slug="web-storefront",
        name="Web Storefront",
        owner="catalog-team",
        description="The acme.example website: browsing, product pages and the basket.",
        lifecycle=Lifecycle.PRODUCTION,
        tier=1,
        tags=("typescript", "react", "customer-facing"),
        links=(
            Link("Runbook", "https://runbooks.acme.example/web-storefront"),
            Link("Dashboard", "https://grafana.acme.example/d/web-storefront"),
            Link("Status", "https://status.acme.example/components/web"),
        ),
        repository_url="https://git.acme.example/commerce/web-storefront",
    ),
    ServiceDraft(
        slug="mobile-bff",
        name="Mobile Backend for Frontend",
        owner="checkout",
        description="Aggregates the APIs the iOS and Android apps need into one call per screen.",
        lifecycle=Lifecycle.PRODUCTION,
        tier=2,
        tags=("kotlin", "graphql", "customer-facing"),
        links=(Link("Dashboard", "https://grafana.acme.example/d/mobile-bff"),),
        repository_url="https://git.acme.example/commerce/mobile-bff",
    ),
    ServiceDraft(
        slug="checkout-api",
        name="Checkout API",
        owner="checkout",
        description="Turns a cart into an order: addresses, delivery options and payment.",
        lifecycle=Lifecycle.PRODUCTION,
        tier=1,
        tags=("java", "spring", "pci", "customer-facing"),
        links=(
            Link("Runbook", "https://runbooks.acme.example/checkout-api"),
            Link("Dashboard", "https://grafana.acme.example/d/checkout-api"),
            Link("API docs", "https://docs.acme.example/apis/checkout"),
        ),
        repository_url="https://git.acme.example/commerce/checkout-api",
    ),
    ServiceDraft(
        slug="cart-service",
        name="Cart Service",
        owner="checkout",
        description="Keeps every shopper's basket, signed in or not.",
        lifecycle=Lifecycle.PRODUCTION,
        tier=2,
        tags=("go", "redis", "customer-facing"),
        links=(
            Link("Runbook", "https://runbooks.acme.example/cart-service"),
            Link("Dashboard", "https://grafana.acme.example/d/cart-service"),
        ),
        repository_url="https://git.acme.example/commerce/cart-service",
    ),
    ServiceDraft(
        slug="payments-gateway",
        name="Payments Gateway",
        owner="payments",
        description="Authorises, captures and refunds card and wallet payments across providers.",
        lifecycle=Lifecycle.PRODUCTION,
        tier=1,
        tags=("java", "pci", "sox"),
        links=(
            Link("Runbook", "https://runbooks.acme.example/payments-gateway"),
            Link("Dashboard", "https://grafana.acme.example/d/payments-gateway"),
            Link("PCI scope", "https://wiki.acme.example/security/pci/payments-gateway"),
        ),
        repository_url="https://git.acme.example/payments/payments-gateway",
    ),
    ServiceDraft(
        slug="fraud-scoring",
        name="Fraud Scoring",
        owner="fraud",
        description="Scores every payment attempt in real time; blocks or steps up risky ones.",
        lifecycle=Lifecycle.PRODUCTION,
        tier=1,
        tags=("python", "pci", "ml"),
        links=(
            Link("Runbook", "https://runbooks.acme.example/fraud-scoring"),
            Link("Dashboard", "https://grafana.acme.example/d/fraud-scoring"),
        ),
        repository_url="https://git.acme.example/payments/fraud-scoring",
    ),
    ServiceDraft(
        slug="ledger",
        name="Ledger",
        owner="payments",
        description="Double-entry record of every money movement; the source of truth for finance.",
        lifecycle=Lifecycle.PRODUCTION,
        tier=1,
        tags=("go", "postgresql", "pci", "sox"),
        links=(
            Link("Runbook", "https://runbooks.acme.example/ledger"),
            Link("Dashboard", "https://grafana.acme.example/d/ledger"),
        ),
        repository_url="https://git.acme.example/payments/ledger",
    ),
    ServiceDraft(
        slug="legacy-billing",
        name="Legacy Billing",
        owner="payments",
        description="The old invoicing monolith, being replaced by the ledger. No new features.",
        lifecycle=Lifecycle.DEPRECATED,
        tier=3,
        tags=("java", "monolith"),
        links=(Link("Migration plan", "https://wiki.acme.example/payments/billing-sunset"),),
        repository_url="https://git.acme.example/payments/legacy-billing",
    ),
    ServiceDraft(
        slug="product-catalog",
        name="Product Catalog",
        owner="catalog-team",
        description="Products, variants, descriptions and images for everything Acme sells.",
        lifecycle=Lifecycle.PRODUCTION,
        tier=1,
        tags=("java", "postgresql", "customer-facing"),
        links=(
            Link("Runbook", "https://runbooks.acme.example/product-catalog"),
            Link("Dashboard", "https://grafana.acme.example/d/product-catalog"),
        ),
        repository_url="https://git.acme.example/commerce/product-catalog",
    ),
    ServiceDraft(
        slug="search-api",
        name="Search API",
        owner="catalog-team",
        description="Full-text and faceted product search with personalised ranking.",
        lifecycle=Lifecycle.PRODUCTION,
        tier=2,
        tags=("go", "elasticsearch", "customer-facing"),
        links=(
            Link("Runbook", "https://runbooks.acme.example/search-api"),
            Link("Dashboard", "https://grafana.acme.example/d/search-api"),
        ),
        repository_url="https://git.acme.example/commerce/search-api",
    ),
    ServiceDraft(
        slug="legacy-search",
        name="Legacy Search",
        owner="catalog-team",
        description="The Solr-based search the Search API replaced; kept for the B2B portal.",
        lifecycle=Lifecycle.DEPRECATED,
        tier=4,
        tags=("java", "solr"),
        repository_url="https://git.acme.example/commerce/legacy-search",
    ),
    ServiceDraft(
        slug="inventory-service",
        name="Inventory Service",
        owner="catalog-team",
        description="Stock levels per warehouse and reservations made at checkout.",
        lifecycle=Lifecycle.PRODUCTION,
        tier=2,
        tags=("java", "postgresql"),
        links=(Link("Dashboard", "https://grafana.acme.example/d/inventory-service"),),
        repository_url="https://git.acme.example/commerce/inventory-service",
    ),
    ServiceDraft(
        slug="pricing-engine",
        name="Pricing Engine",
        owner="catalog-team",
        description="Prices, promotions and vouchers, evaluated per cart.",
        lifecycle=Lifecycle.PRODUCTION,
        tier=2,
        tags=("kotlin", "customer-facing"),
        links=(
            Link("Runbook", "https://runbooks.acme.example/pricing-engine"),
            Link("Dashboard", "https://grafana.acme.example/d/pricing-engine"),
        ),
        repository_url="https://git.acme.example/commerce/pricing-engine",
    ),
    ServiceDraft(
        slug="image-resizer",
        name="Image Resizer",
        owner="catalog-team",
        description="Resizes and converts product images on the fly behind the CDN.",
        lifecycle=Lifecycle.PRODUCTION,
        tier=None,
        tags=("rust", "cdn"),
        repository_url="https://git.acme.example/commerce/image-resizer",
    ),
    ServiceDraft(
        slug="identity-service",
        name="Identity Service",
        owner="identity",
        description="Sign-in, sessions and OAuth tokens for customers and staff.",
        lifecycle=Lifecycle.PRODUCTION,
        tier=1,
        tags=("go", "security", "customer-facing"),
        links=(
            Link("Runbook", "https://runbooks.acme.example/identity-service"),
            Link("Dashboard", "https://grafana.acme.example/d/identity-service"),
        ),
        repository_url="https://git.acme.example/identity/identity-service",
    ),
    ServiceDraft(
        slug="audit-log",
        name="Audit Log",
        owner="identity",
        description="Tamper-evident record of who did what, kept for seven years.",
        lifecycle=Lifecycle.PRODUCTION,
        tier=2,
        tags=("go", "security", "sox"),
        links=(Link("Runbook", "https://runbooks.acme.example/audit-log"),),
        repository_url="https://git.acme.example/identity/audit-log",
    ),
    ServiceDraft(
        slug="event-bus",
        name="Event Bus",
        owner="platform",
        description="Managed Kafka clusters and the schema registry every team publishes to.",
        lifecycle=Lifecycle.PRODUCTION,
        tier=1,
        tags=("kafka", "infrastructure"),
        links=(
            Link("Runbook", "https://runbooks.acme.example/event-bus"),
            Link("Dashboard", "https://grafana.acme.example/d/event-bus"),
            Link("Schema registry", "https://schemas.acme.example"),
        ),
        repository_url="https://git.acme.example/platform/event-bus",
    ),
    ServiceDraft(
        slug="artifact-registry",
        name="Artifact Registry",
        owner="developer-experience",
        description="Container images, Maven, npm and PyPI mirrors behind one endpoint.",
        lifecycle=Lifecycle.PRODUCTION,
        tier=2,
        tags=("infrastructure", "internal"),
        links=(Link("Docs", "https://docs.acme.example/platform/artifacts"),),
        repository_url="https://git.acme.example/platform/artifact-registry",
    ),
    ServiceDraft(
        slug="ci-runners",
        name="CI Runners",
        owner="developer-experience",
        description="Autoscaled build runners for every repository at Acme.",
        lifecycle=Lifecycle.PRODUCTION,
        tier=2,
        tags=("go", "infrastructure", "internal"),
        links=(
            Link("Runbook", "https://runbooks.acme.example/ci-runners"),
            Link("Dashboard", "https://grafana.acme.example/d/ci-runners"),
        ),
        repository_url="https://git.acme.example/platform/ci-runners",
    ),
    ServiceDraft(
        slug="developer-portal",
        name="Developer Portal",
        owner="developer-experience",
        description="The web front end of the paved road: catalog, docs and service templates.",
        lifecycle=Lifecycle.EXPERIMENTAL,
        tier=None,
        tags=("typescript", "react", "internal"),
        links=(Link("Feedback", "https://wiki.acme.example/devex/portal-feedback"),),
        repository_url="https://git.acme.example/platform/developer-portal",
    ),
    ServiceDraft(
        slug="status-page",
        name="Status Page",
        owner="sre",
        description="Public and internal status pages, fed by alerts and incident updates.",
        lifecycle=Lifecycle.PRODUCTION,
        tier=3,
        tags=("python", "customer-facing"),
        links=(Link("Status", "https://status.acme.example"),),
        repository_url="https://git.acme.example/platform/status-page",
    ),
    ServiceDraft(
        slug="oncall-bot",
        name="On-call Bot",
        owner="sre",
        description="Chat bot that opens incidents, pages owners and posts status updates.",
        lifecycle=Lifecycle.EXPERIMENTAL,
        tier=None,
        tags=("python", "internal"),
        repository_url="https://git.acme.example/platform/oncall-bot",
    ),
    ServiceDraft(
        slug="data-lake",
        name="Data Lake",
        owner="data",
        description="Every business event since 2019, in Parquet, queryable from the warehouse.",
        lifecycle=Lifecycle.PRODUCTION,
        tier=3,
        tags=("scala", "spark", "analytics"),
        links=(Link("Data catalog", "https://data.acme.example/catalog"),),
        repository_url="https://git.acme.example/data/data-lake",
    ),
    ServiceDraft(
        slug="feature-store",
        name="Feature Store",
        owner="ml",
        description="Online and offline features for models, computed once and shared.",
        lifecycle=Lifecycle.PRODUCTION,
        tier=2,
        tags=("python", "redis", "ml"),
        links=(
            Link("Runbook", "https://runbooks.acme.example/feature-store"),
            Link("Dashboard", "https://grafana.acme.example/d/feature-store"),
        ),
        repository_url="https://git.acme.example/data/feature-store",
    ),
    ServiceDraft(
        slug="model-serving",
        name="Model Serving",
        owner="ml",
        description="Hosts trained models behind low-latency prediction endpoints.",
        lifecycle=Lifecycle.PRODUCTION,
        tier=2,
        tags=("python", "gpu", "ml"),
        links=(Link("Dashboard", "https://grafana.acme.example/d/model-serving"),),
        repository_url="https://git.acme.example/data/model-serving",
    ),
    ServiceDraft(
        slug="recommendations",
        name="Recommendations",
        owner="ml",
        description="'Customers also bought' and personalised product suggestions.",
        lifecycle=Lifecycle.EXPERIMENTAL,
        tier=3,
        tags=("python", "ml", "customer-facing"),
        repository_url="https://git.acme.example/data/recommendations",
    ),
)

# Service slug -> teams that own it as CONTRIBUTOR, besides its PRIMARY owner.
CONTRIBUTORS: Mapping[str, tuple[str, ...]] = {
    "web-storefront": ("checkout",),
    "mobile-bff": ("catalog-team",),
    "checkout-api": ("payments",),
    "payments-gateway": ("fraud",),
    "fraud-scoring": ("ml",),
    "audit-log": ("sre",),
    "event-bus": ("sre",),
    "ci-runners": ("sre",),
    "feature-store": ("data",),
    "model-serving": ("platform",),
}

# Service slug -> the services it depends on. The graph has no cycles.
DEPENDENCIES: Mapping[str, tuple[str, ...]] = {
    "web-storefront": ("checkout-api", "product-catalog", "search-api", "identity-service"),
    "mobile-bff": ("checkout-api", "product-catalog", "identity-service"),
    "checkout-api": ("cart-service", "payments-gateway", "inventory-service", "pricing-engine"),
    "cart-service": ("product-catalog", "pricing-engine"),
    "payments-gateway": ("fraud-scoring", "ledger", "audit-log"),
    "fraud-scoring": ("feature-store", "model-serving"),
    "ledger": ("event-bus",),
    "legacy-billing": ("ledger", "identity-service"),
    "product-catalog": ("event-bus", "image-resizer"),
    "search-api": ("product-catalog", "recommendations"),
    "legacy-search": ("product-catalog",),
    "inventory-service": ("event-bus",),
    "pricing-engine": ("product-catalog", "feature-store"),
    "identity-service": ("audit-log",),
    "audit-log": ("event-bus",),
    "ci-runners": ("artifact-registry",),
    "developer-portal": ("identity-service", "ci-runners", "artifact-registry"),
    "oncall-bot": ("status-page", "identity-service"),
    "data-lake": ("event-bus",),
    "feature-store": ("data-lake", "event-bus"),
    "model-serving": ("feature-store",),
    "recommendations": ("feature-store", "model-serving"),
}

ENVIRONMENTS: tuple[EnvironmentDraft, ...] = (
    EnvironmentDraft(
        "development",
        "Development",
        EnvironmentTier.DEVELOPMENT,
        "Shared cluster for day-to-day development; data is reset nightly.",
    ),
    EnvironmentDraft(
        "qa",
        "QA",
        EnvironmentTier.TESTING,
        "Integration and end-to-end test runs against synthetic data.",
    ),
    EnvironmentDraft(
        "staging",
        "Staging",
        EnvironmentTier.STAGING,
        "Production-like; every release soaks here before it ships.",
    ),
    EnvironmentDraft(
        "production",
        "Production",
        EnvironmentTier.PRODUCTION,
        "Serves Acme's customers. Changes go through the release process.",
    ),
)


# Every demo environment runs on the simulated provider: rollouts take `durationSeconds`, and
# versions matching `failVersions` fail (deploy `2.0.0-broken` to see one).
ENVIRONMENT_PROVIDERS: Mapping[str, tuple[str, Mapping[str, Any]]] = {
    "development": ("simulated", {"durationSeconds": 5, "failVersions": "-broken$"}),
    "qa": ("simulated", {"durationSeconds": 5, "failVersions": "-broken$"}),
    "staging": ("simulated", {"durationSeconds": 10, "failVersions": "-broken$"}),
    "production": ("simulated", {"durationSeconds": 15, "failVersions": "-broken$"}),
}


@dataclass(frozen=True, slots=True)
class DemoProtection:
    required_approvals: int
    approver_teams: tuple[str, ...]
    prevent_self_approval: bool


# Environment slug -> its protection; the others have none.
PROTECTIONS: Mapping[str, DemoProtection] = {
    "production": DemoProtection(1, ("platform", "sre"), prevent_self_approval=True),
}

# CI pipelines that deploy to development by themselves and record it: (slug, name, team).
API_CLIENTS: tuple[tuple[str, str, str], ...] = (
    ("checkout-ci", "Checkout CI", "checkout"),
    ("payments-ci", "Payments CI", "payments"),
    ("ml-ci", "ML CI", "ml"),
)


class _OneConnection:
    """A pool that is one connection with a transaction open: the stores, written for a pool,
    then do all their work in that transaction (theirs become savepoints)."""

    def __init__(self, connection: asyncpg.pool.PoolConnectionProxy) -> None:
        self._connection = connection

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[asyncpg.pool.PoolConnectionProxy]:
        yield self._connection

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)


async def load_demo_if_empty(pool: asyncpg.Pool) -> bool:
    """Load the demo organisation when the catalog has no teams; True when it loaded.

    The check and the load run under a session advisory lock, so of several processes
    starting at once exactly one loads the demo and the others see a catalog with teams.
    The whole demo is one transaction: a load that fails (or a process killed meanwhile)
    leaves the catalog empty, and the next start loads it again. Waiters poll without
    holding a connection.
    """
    while True:
        async with pool.acquire() as connection:
            if await connection.fetchval("SELECT pg_try_advisory_lock($1)", _DEMO_LOCK_KEY):
                try:
                    if await connection.fetchval("SELECT EXISTS (SELECT 1 FROM teams)"):
                        return False
                    async with connection.transaction():
                        deployments = await _load_everything(
                            cast(asyncpg.Pool, _OneConnection(connection))
                        )
                    log.info(
                        "loaded the demo organisation: %d teams, %d users, %d services, "
                        "%d deployments",
                        len(TEAMS),
                        len(USERS),
                        len(SERVICES),
                        deployments,
                    )
                    return True
                finally:
                    await connection.execute("SELECT pg_advisory_unlock($1)", _DEMO_LOCK_KEY)
        await asyncio.sleep(_LOCK_RETRY_SECONDS)


async def _load_everything(pool: asyncpg.Pool) -> int:
    """The whole demo; how many deployments its history has."""
    await _load(PostgresCatalogWriter(pool))
    await _load_access_and_environments(PostgresAccessStore(pool), PostgresDeploymentStore(pool))
    return await load_deployment_history(pool)


async def _load(writer: CatalogWriter) -> None:
    for team in TEAMS:
        await writer.create_team(team)
    for user in USERS:
        await writer.create_user(user)
    for handle, teams in MEMBERSHIPS.items():
        for team_slug in teams:
            await writer.add_team_member(team_slug, handle)
    for service in SERVICES:
        await writer.create_service(service)
        contributors = CONTRIBUTORS.get(service.slug, ())
        if contributors:
            await writer.set_service_owners(
                service.slug,
                [
                    OwnerAssignment(service.owner, OwnershipRole.PRIMARY),
                    *(OwnerAssignment(team, OwnershipRole.CONTRIBUTOR) for team in contributors),
                ],
            )
    for slug, depends_on in DEPENDENCIES.items():
        for target in depends_on:
            await writer.add_service_dependency(slug, target)
    for environment in ENVIRONMENTS:
        await writer.create_environment(environment)


async def _load_access_and_environments(access: AccessStore, store: DeploymentStore) -> None:
    for slug, name, team in API_CLIENTS:
        await access.create_api_client(slug, name, team)
    for environment, (kind, settings) in ENVIRONMENT_PROVIDERS.items():
        await store.set_provider(environment, kind, settings)
    for environment, protection in PROTECTIONS.items():
        await store.set_protection(
            environment,
            protection.required_approvals,
            protection.approver_teams,
            protection.prevent_self_approval,
        )
