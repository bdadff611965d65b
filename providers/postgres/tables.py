"""The tables a catalog's state lives in, in an order that respects foreign keys when emptying
them: the catalog, its deployments, its resources and the events about them."""

from __future__ import annotations

CATALOG_TABLES = (
    "idempotency_keys",
    "webhook_dispatch",
    "webhook_deliveries",
    "webhooks",
    "events",
    "deployment_approvals",
    "deployment_events",
    "deployments",
    "template_runs",
    "first_deployments",
    "template_resources",
    "template_environments",
    "templates",
    "resource_approvals",
    "resource_status_events",
    "resources",
    "resource_class_approver_teams",
    "resource_class_environments",
    "resource_classes",
    "environment_approver_teams",
    "web_sessions",
    "oidc_logins",
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
