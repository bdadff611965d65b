"""The catalog's tables, in an order that respects foreign keys when emptying them."""

from __future__ import annotations

CATALOG_TABLES = (
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
