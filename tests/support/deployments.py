"""Environments with the simulated provider, and waiting for rollouts to settle."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from starlette.applications import Starlette

from tests.support.graphql import GraphQLClient

INSTANT = {"kind": "simulated", "settings": {"durationSeconds": 0, "failVersions": "-broken$"}}
SLOW = {"kind": "simulated", "settings": {"durationSeconds": 3600}}


async def environments(gql: GraphQLClient, **protection: Any) -> None:
    """staging and prod (instant; prod with `protection` when given), slow (an hour)."""
    providers: Mapping[str, tuple[str, dict[str, Any]]] = {
        "staging": ("STAGING", INSTANT),
        "prod": ("PRODUCTION", INSTANT),
        "slow": ("TESTING", SLOW),
    }
    for slug, (tier, provider) in providers.items():
        extra = {"protection": protection} if protection and slug == "prod" else {}
        created = await gql.mutate(
            "createEnvironment", "environment { slug }", slug=slug, name=slug, tier=tier,
            provider=provider, **extra,
        )  # fmt: skip
        assert created["errors"] == [], created


async def settled(app: Starlette) -> None:
    await asyncio.wait_for(app.state.container.rollouts.wait_idle(), 10)
