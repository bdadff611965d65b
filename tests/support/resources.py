"""Resource classes and templates for the resource tests, and waiting for provisioning."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.applications import Starlette

from tests.support.graphql import GraphQLClient

INSTANT = {"kind": "simulated", "settings": {"durationSeconds": 0, "failParameters": "doomed"}}
POSTGRES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "size": {"enum": ["S", "M", "L"]},
        "version": {"type": "integer", "minimum": 15, "maximum": 17},
        "highAvailability": {"type": "boolean"},
        "label": {"type": "string", "maxLength": 40},
    },
    "required": ["size", "version"],
}
RESOURCE_FIELDS = (
    "resource { id name state parameters outputs version statusMessage "
    "secretRefs { name key store } class { slug } service { slug } environment { slug } }"
)


async def postgres_class(gql: GraphQLClient, **extra: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "slug": "postgres", "name": "PostgreSQL", "type": "postgres", "provider": INSTANT,
        "parametersSchema": POSTGRES_SCHEMA, "defaults": {"size": "S", "version": 16},
    } | extra  # fmt: skip
    created = await gql.mutate("createResourceClass", "resourceClass { id slug version }", **fields)
    assert created["errors"] == [], created
    resource_class: dict[str, Any] = created["resourceClass"]
    return resource_class


async def request(gql: GraphQLClient, **fields: Any) -> dict[str, Any]:
    given: dict[str, Any] = {
        "service": "pay-api", "environment": "staging", "class": "postgres", "name": "db",
    } | fields  # fmt: skip
    return await gql.mutate(
        "requestResource", f"{RESOURCE_FIELDS} plan {{ actions parameters requiredApprovals "
        "warnings }", **given,
    )  # fmt: skip


async def provisioned(app: Starlette) -> None:
    """Until no resource is being driven by the app's runner."""
    await asyncio.wait_for(app.state.container.provisioning.wait_idle(), 10)


RESOURCE_STATE = "query($id: ID!) { node(id: $id) { ... on Resource { state statusMessage } } }"


async def state_of(gql: GraphQLClient, resource_id: str) -> str:
    found = await gql(RESOURCE_STATE, id=resource_id)
    state: str = found["node"]["state"]
    return state
