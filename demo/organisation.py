"""Loads the demo organisation, Acme (`demo/acme.py`), into an empty catalog at `make run`.

The catalog goes through the catalog's write port, the API clients through the access port,
the environments' provider and protection through the deployment store's port, the resource
classes, the template, the services made from it and their resources through the resource
store (`demo/resources.py`), so the demo obeys the same rules as data entered through the API.
Then a few months of deployment history (`demo/deployments.py`) are inserted. All of it is one
transaction.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import asyncpg

from demo import acme
from demo.deployments import load_deployment_history
from demo.resources import load_self_service
from demo.self_service import RUNS
from domain.access.ports import AccessStore
from domain.catalog.changes import OwnerAssignment
from domain.catalog.ports import CatalogWriter
from domain.catalog.records import OwnershipRole
from domain.deployments.ports import DeploymentStore
from providers.postgres.access_store import PostgresAccessStore
from providers.postgres.deployments import PostgresDeploymentStore
from providers.postgres.writes import PostgresCatalogWriter

log = logging.getLogger(__name__)

# Any constant works ("pavedemo"); it only has to be the same for every Paved Road process
# and differ from the other advisory lock keys.
_DEMO_LOCK_KEY = 0x70617665_64656D6F
_LOCK_RETRY_SECONDS = 0.05


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
                        resources, deployments = await _load_everything(
                            cast(asyncpg.Pool, _OneConnection(connection))
                        )
                    log.info(
                        "loaded the demo organisation: %d teams, %d users, %d services, "
                        "%d resources, %d deployments",
                        len(acme.TEAMS),
                        len(acme.USERS),
                        len(acme.SERVICES) + len(RUNS),
                        resources,
                        deployments,
                    )
                    return True
                finally:
                    await connection.execute("SELECT pg_advisory_unlock($1)", _DEMO_LOCK_KEY)
        await asyncio.sleep(_LOCK_RETRY_SECONDS)


async def _load_everything(pool: asyncpg.Pool) -> tuple[int, int]:
    """The whole demo; how many resources and deployments it has."""
    await _load(PostgresCatalogWriter(pool))
    await _load_access_and_environments(PostgresAccessStore(pool), PostgresDeploymentStore(pool))
    self_service = await load_self_service(pool)
    deployments = await load_deployment_history(pool, first_releases=self_service.first_releases)
    return self_service.resources, deployments


async def _load(writer: CatalogWriter) -> None:
    for team in acme.TEAMS:
        await writer.create_team(team)
    for user in acme.USERS:
        await writer.create_user(user)
    for handle, teams in acme.MEMBERSHIPS.items():
        for team_slug in teams:
            await writer.add_team_member(team_slug, handle)
    for service in acme.SERVICES:
        await writer.create_service(service)
        contributors = acme.CONTRIBUTORS.get(service.slug, ())
        if contributors:
            await writer.set_service_owners(
                service.slug,
                [
                    OwnerAssignment(service.owner, OwnershipRole.PRIMARY),
                    *(OwnerAssignment(team, OwnershipRole.CONTRIBUTOR) for team in contributors),
                ],
            )
    for slug, depends_on in acme.DEPENDENCIES.items():
        for target in depends_on:
            await writer.add_service_dependency(slug, target)
    for environment in acme.ENVIRONMENTS:
        await writer.create_environment(environment)


async def _load_access_and_environments(access: AccessStore, store: DeploymentStore) -> None:
    for slug, name, team in acme.API_CLIENTS:
        await access.create_api_client(slug, name, team)
    for environment, (kind, settings) in acme.ENVIRONMENT_PROVIDERS.items():
        await store.set_provider(environment, kind, settings)
    for environment, protection in acme.PROTECTIONS.items():
        await store.set_protection(
            environment,
            protection.required_approvals,
            protection.approver_teams,
            protection.prevent_self_approval,
        )
