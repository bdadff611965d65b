"""The tables a catalog's state lives in, in an order that respects foreign keys when emptying
them: the catalog, its deployments and the events about them."""

from __future__ import annotations

CATALOG_TABLES = (
    "webhook_dispatch",
    "webhook_deliveries",
    "webhooks",
    "events",
    "deployment_approvals",
    "deployment_events",
    "deployments",
    "environment_approver_teams",
    "api_tokens",
    "api_clients",
    "team_members",
    "service_owners",
    "service_dependencies",
    "services",
    "users",
    "teams",
    "environments",
)
