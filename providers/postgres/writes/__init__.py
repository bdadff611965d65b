"""The catalog's write port on PostgreSQL: each use case in one transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Concatenate, ParamSpec, TypeVar

from domain.catalog.changes import (
    EnvironmentDraft,
    EnvironmentPatch,
    OwnerAssignment,
    TeamDraft,
    TeamPatch,
    UserDraft,
    UserPatch,
)
from domain.catalog.records import EnvironmentRecord, TeamRecord, UserRecord
from domain.catalog.services import ServiceDraft, ServicePatch, ServiceRecord
from providers.postgres.audited import AuditedStore
from providers.postgres.writes import environments, services, teams
from providers.postgres.writes.common import Connection

P = ParamSpec("P")
R = TypeVar("R")


class PostgresCatalogWriter(AuditedStore):
    """With an audit entry (see `audited`), each use case records it in its own transaction,
    so an accepted change and its audit record commit together or not at all."""

    async def _in_transaction(
        self,
        use_case: Callable[Concatenate[Connection, P], Awaitable[R]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R:
        return await self._transactions.run(
            lambda connection: use_case(connection, *args, **kwargs)
        )

    async def create_team(self, draft: TeamDraft) -> TeamRecord:
        if draft.parent is None and self._transactions.writes_alone():
            return await teams.create_team_alone(self._transactions, draft)
        return await self._in_transaction(teams.create_team, draft)

    async def update_team(
        self, slug: str, expected_version: int | None, patch: TeamPatch
    ) -> TeamRecord:
        return await self._in_transaction(teams.update_team, slug, expected_version, patch)

    async def delete_team(self, slug: str, expected_version: int | None) -> TeamRecord:
        return await self._in_transaction(teams.delete_team, slug, expected_version)

    async def create_user(self, draft: UserDraft) -> UserRecord:
        return await self._in_transaction(teams.create_user, draft)

    async def update_user(
        self, handle: str, expected_version: int | None, patch: UserPatch
    ) -> UserRecord:
        return await self._in_transaction(teams.update_user, handle, expected_version, patch)

    async def add_team_member(self, team: str, user: str) -> tuple[TeamRecord, UserRecord]:
        return await self._in_transaction(teams.add_team_member, team, user)

    async def remove_team_member(self, team: str, user: str) -> tuple[TeamRecord, UserRecord]:
        return await self._in_transaction(teams.remove_team_member, team, user)

    async def create_service(self, draft: ServiceDraft) -> ServiceRecord:
        if self._transactions.writes_alone():
            return await services.create_service_alone(self._transactions, draft)
        return await self._in_transaction(services.create_service, draft)

    async def update_service(
        self, slug: str, expected_version: int | None, patch: ServicePatch
    ) -> ServiceRecord:
        return await self._in_transaction(services.update_service, slug, expected_version, patch)

    async def delete_service(self, slug: str, expected_version: int | None) -> ServiceRecord:
        return await self._in_transaction(services.delete_service, slug, expected_version)

    async def set_service_owners(
        self, slug: str, owners: Sequence[OwnerAssignment]
    ) -> ServiceRecord:
        return await self._in_transaction(services.set_service_owners, slug, owners)

    async def add_service_dependency(self, slug: str, depends_on: str) -> ServiceRecord:
        return await self._in_transaction(services.add_service_dependency, slug, depends_on)

    async def remove_service_dependency(self, slug: str, depends_on: str) -> ServiceRecord:
        return await self._in_transaction(services.remove_service_dependency, slug, depends_on)

    async def create_environment(self, draft: EnvironmentDraft) -> EnvironmentRecord:
        return await self._in_transaction(environments.create_environment, draft)

    async def update_environment(
        self, slug: str, expected_version: int | None, patch: EnvironmentPatch
    ) -> EnvironmentRecord:
        return await self._in_transaction(
            environments.update_environment, slug, expected_version, patch
        )

    async def delete_environment(
        self, slug: str, expected_version: int | None
    ) -> EnvironmentRecord:
        return await self._in_transaction(environments.delete_environment, slug, expected_version)
