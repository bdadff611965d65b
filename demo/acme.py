"""Acme, the made-up online retailer of the demo: its teams and people, the services they run
(with a dependency graph from the storefront down to the event bus), its environments, all on
the simulated provider with production needing one approval from the platform teams, and the
CI clients that record their own deployments. `demo/organisation.py` loads it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from domain.catalog.changes import EnvironmentDraft, TeamDraft, UserDraft
from domain.catalog.records import EnvironmentTier
from domain.catalog.services import Lifecycle, Link, ServiceDraft

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


def _service(
    slug: str,
    name: str,
    owner: str,
    description: str,
    lifecycle: Lifecycle,
    tier: int | None,
    tags: str,
    *,
    repository: str,
    runbook: bool = False,
    dashboard: bool = False,
    links: tuple[Link, ...] = (),
) -> ServiceDraft:
    """A service whose code is `<repository>/<slug>` on Acme's git server, with its runbook
    and dashboard (when it has them) where Acme keeps them, before its other `links`."""
    usual = (
        *([Link("Runbook", f"https://runbooks.acme.example/{slug}")] if runbook else []),
        *([Link("Dashboard", f"https://grafana.acme.example/d/{slug}")] if dashboard else []),
    )
    return ServiceDraft(
        slug=slug,
        name=name,
        owner=owner,
        description=description,
        lifecycle=lifecycle,
        tier=tier,
        tags=tuple(tags.split()),
        links=(*usual, *links),
        repository_url=f"https://git.acme.example/{repository}/{slug}",
    )


# `owner` is the PRIMARY owner team; then description, lifecycle, tier and tags.
# fmt: off
SERVICES: tuple[ServiceDraft, ...] = (
    _service(
        "web-storefront", "Web Storefront", "catalog-team",
        "The acme.example website: browsing, product pages and the basket.",
        Lifecycle.PRODUCTION, 1, "typescript react customer-facing",
        repository="commerce", runbook=True, dashboard=True,
        links=(Link("Status", "https://status.acme.example/components/web"),),
    ),
    _service(
        "mobile-bff", "Mobile Backend for Frontend", "checkout",
        "Aggregates the APIs the iOS and Android apps need into one call per screen.",
        Lifecycle.PRODUCTION, 2, "kotlin graphql customer-facing",
        repository="commerce", dashboard=True,
    ),
    _service(
        "checkout-api", "Checkout API", "checkout",
        "Turns a cart into an order: addresses, delivery options and payment.",
        Lifecycle.PRODUCTION, 1, "java spring pci customer-facing",
        repository="commerce", runbook=True, dashboard=True,
        links=(Link("API docs", "https://docs.acme.example/apis/checkout"),),
    ),
    _service(
        "cart-service", "Cart Service", "checkout",
        "Keeps every shopper's basket, signed in or not.",
        Lifecycle.PRODUCTION, 2, "go redis customer-facing",
        repository="commerce", runbook=True, dashboard=True,
    ),
    _service(
        "payments-gateway", "Payments Gateway", "payments",
        "Authorises, captures and refunds card and wallet payments across providers.",
        Lifecycle.PRODUCTION, 1, "java pci sox",
        repository="payments", runbook=True, dashboard=True,
        links=(Link("PCI scope", "https://wiki.acme.example/security/pci/payments-gateway"),),
    ),
    _service(
        "fraud-scoring", "Fraud Scoring", "fraud",
        "Scores every payment attempt in real time; blocks or steps up risky ones.",
        Lifecycle.PRODUCTION, 1, "python pci ml",
        repository="payments", runbook=True, dashboard=True,
    ),
    _service(
        "ledger", "Ledger", "payments",
        "Double-entry record of every money movement; the source of truth for finance.",
        Lifecycle.PRODUCTION, 1, "go postgresql pci sox",
        repository="payments", runbook=True, dashboard=True,
    ),
    _service(
        "legacy-billing", "Legacy Billing", "payments",
        "The old invoicing monolith, being replaced by the ledger. No new features.",
        Lifecycle.DEPRECATED, 3, "java monolith",
        repository="payments",
        links=(Link("Migration plan", "https://wiki.acme.example/payments/billing-sunset"),),
    ),
    _service(
        "product-catalog", "Product Catalog", "catalog-team",
        "Products, variants, descriptions and images for everything Acme sells.",
        Lifecycle.PRODUCTION, 1, "java postgresql customer-facing",
        repository="commerce", runbook=True, dashboard=True,
    ),
    _service(
        "search-api", "Search API", "catalog-team",
        "Full-text and faceted product search with personalised ranking.",
        Lifecycle.PRODUCTION, 2, "go elasticsearch customer-facing",
        repository="commerce", runbook=True, dashboard=True,
    ),
    _service(
        "legacy-search", "Legacy Search", "catalog-team",
        "The Solr-based search the Search API replaced; kept for the B2B portal.",
        Lifecycle.DEPRECATED, 4, "java solr",
        repository="commerce",
    ),
    _service(
        "inventory-service", "Inventory Service", "catalog-team",
        "Stock levels per warehouse and reservations made at checkout.",
        Lifecycle.PRODUCTION, 2, "java postgresql",
        repository="commerce", dashboard=True,
    ),
    _service(
        "pricing-engine", "Pricing Engine", "catalog-team",
        "Prices, promotions and vouchers, evaluated per cart.",
        Lifecycle.PRODUCTION, 2, "kotlin customer-facing",
        repository="commerce", runbook=True, dashboard=True,
    ),
    _service(
        "image-resizer", "Image Resizer", "catalog-team",
        "Resizes and converts product images on the fly behind the CDN.",
        Lifecycle.PRODUCTION, None, "rust cdn",
        repository="commerce",
    ),
    _service(
        "identity-service", "Identity Service", "identity",
        "Sign-in, sessions and OAuth tokens for customers and staff.",
        Lifecycle.PRODUCTION, 1, "go security customer-facing",
        repository="identity", runbook=True, dashboard=True,
    ),
    _service(
        "audit-log", "Audit Log", "identity",
        "Tamper-evident record of who did what, kept for seven years.",
        Lifecycle.PRODUCTION, 2, "go security sox",
        repository="identity", runbook=True,
    ),
    _service(
        "event-bus", "Event Bus", "platform",
        "Managed Kafka clusters and the schema registry every team publishes to.",
        Lifecycle.PRODUCTION, 1, "kafka infrastructure",
        repository="platform", runbook=True, dashboard=True,
        links=(Link("Schema registry", "https://schemas.acme.example"),),
    ),
    _service(
        "artifact-registry", "Artifact Registry", "developer-experience",
        "Container images, Maven, npm and PyPI mirrors behind one endpoint.",
        Lifecycle.PRODUCTION, 2, "infrastructure internal",
        repository="platform",
        links=(Link("Docs", "https://docs.acme.example/platform/artifacts"),),
    ),
    _service(
        "ci-runners", "CI Runners", "developer-experience",
        "Autoscaled build runners for every repository at Acme.",
        Lifecycle.PRODUCTION, 2, "go infrastructure internal",
        repository="platform", runbook=True, dashboard=True,
    ),
    _service(
        "developer-portal", "Developer Portal", "developer-experience",
        "The web front end of the paved road: catalog, docs and service templates.",
        Lifecycle.EXPERIMENTAL, None, "typescript react internal",
        repository="platform",
        links=(Link("Feedback", "https://wiki.acme.example/devex/portal-feedback"),),
    ),
    _service(
        "status-page", "Status Page", "sre",
        "Public and internal status pages, fed by alerts and incident updates.",
        Lifecycle.PRODUCTION, 3, "python customer-facing",
        repository="platform",
        links=(Link("Status", "https://status.acme.example"),),
    ),
    _service(
        "oncall-bot", "On-call Bot", "sre",
        "Chat bot that opens incidents, pages owners and posts status updates.",
        Lifecycle.EXPERIMENTAL, None, "python internal",
        repository="platform",
    ),
    _service(
        "data-lake", "Data Lake", "data",
        "Every business event since 2019, in Parquet, queryable from the warehouse.",
        Lifecycle.PRODUCTION, 3, "scala spark analytics",
        repository="data",
        links=(Link("Data catalog", "https://data.acme.example/catalog"),),
    ),
    _service(
        "feature-store", "Feature Store", "ml",
        "Online and offline features for models, computed once and shared.",
        Lifecycle.PRODUCTION, 2, "python redis ml",
        repository="data", runbook=True, dashboard=True,
    ),
    _service(
        "model-serving", "Model Serving", "ml",
        "Hosts trained models behind low-latency prediction endpoints.",
        Lifecycle.PRODUCTION, 2, "python gpu ml",
        repository="data", dashboard=True,
    ),
    _service(
        "recommendations", "Recommendations", "ml",
        "'Customers also bought' and personalised product suggestions.",
        Lifecycle.EXPERIMENTAL, 3, "python ml customer-facing",
        repository="data",
    ),
)
# fmt: on

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
