"""Environment mutations, each declared once as a `UseCase` (`resolvers.use_cases` runs them).

Environments are created and changed through the deployment store, which writes an
environment together with its provider and protection in one audited transaction.
"""

from __future__ import annotations

from typing import Protocol

from domain.access.policy import Action
from domain.catalog.changes import EnvironmentDraft, EnvironmentPatch
from domain.catalog.ports import CatalogWriter
from domain.catalog.records import EnvironmentRecord
from domain.deployments.ports import DeploymentStore
from resolvers import environment_settings
from resolvers import validation as v
from resolvers.context import Context
from resolvers.drafts import draft, patch
from resolvers.use_cases import Transaction, UseCase, catalog, deployments


class _ChoosesSettings(Protocol):
    @property
    def provider(self) -> v.ProviderInput | None: ...
    @property
    def protection(self) -> v.ProtectionInput | None: ...


async def _settings_valid(context: Context, environment: _ChoosesSettings) -> None:
    await environment_settings.check(context, environment.provider, environment.protection)


async def _create_environment(
    context: Context, environment: v.CreateEnvironment, tx: Transaction[DeploymentStore]
) -> EnvironmentRecord:
    """The environment, its provider and its protection: one audited transaction."""
    return await tx.port.create_environment(
        draft(EnvironmentDraft, environment),
        environment_settings.provider_choice(environment.provider),
        environment_settings.protection_choice(environment.protection),
    )


async def _update_environment(
    context: Context, environment: v.UpdateEnvironment, tx: Transaction[DeploymentStore]
) -> EnvironmentRecord:
    """The environment's fields, provider and protection: one audited transaction."""
    return await tx.port.update_environment(
        environment.environment,
        environment.expected_version,
        patch(EnvironmentPatch, environment),
        environment_settings.provider_choice(environment.provider),
        environment_settings.protection_choice(environment.protection),
    )


async def _delete_environment(
    context: Context, environment: v.DeleteEnvironment, tx: Transaction[CatalogWriter]
) -> EnvironmentRecord:
    return await tx.port.delete_environment(environment.environment, environment.expected_version)


create_environment = UseCase(
    operation="createEnvironment",
    model=v.CreateEnvironment,
    action=Action.MANAGE_ENVIRONMENTS,
    check=_settings_valid,
    targets=[("Environment", "slug")],
    port=deployments,
    change=_create_environment,
)
update_environment = UseCase(
    operation="updateEnvironment",
    model=v.UpdateEnvironment,
    action=Action.MANAGE_ENVIRONMENTS,
    check=_settings_valid,
    targets=[("Environment", "environment")],
    port=deployments,
    change=_update_environment,
)
delete_environment = UseCase(
    operation="deleteEnvironment",
    model=v.DeleteEnvironment,
    action=Action.MANAGE_ENVIRONMENTS,
    targets=[("Environment", "environment")],
    port=catalog,
    change=_delete_environment,
)
