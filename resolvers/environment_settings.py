"""An environment's provider and protection, as createEnvironment/updateEnvironment set them.

Both are checked in full before the environment itself changes (unknown provider kinds,
settings the adapter refuses, approver teams that do not exist), so the writes that follow
cannot be refused halfway.
"""

from __future__ import annotations

from providers.deployers.registry import validate_settings
from providers.deployers.settings import InvalidProviderSettings
from providers.errors import NotFound, ValidationFailed
from resolvers import validation as v
from resolvers.context import Context


async def check(
    context: Context, provider: v.ProviderInput | None, protection: v.ProtectionInput | None
) -> None:
    if provider is not None:
        try:
            validate_settings(provider.kind, provider.settings)
        except InvalidProviderSettings as refused:
            path = ["input", "provider"]
            path += ["kind"] if refused.setting == "kind" else ["settings"]
            if refused.setting not in (None, "kind"):
                path.append(refused.setting)
            raise ValidationFailed(refused.message, path) from None
    if protection is not None:
        for index, slug in enumerate(protection.approver_teams):
            if await context.loaders.team_by_slug.load(slug) is None:
                raise NotFound(
                    f"no team '{slug}'", ["input", "protection", "approverTeams", str(index)]
                )


async def apply(
    context: Context,
    environment: str,
    provider: v.ProviderInput | None,
    protection: v.ProtectionInput | None,
) -> None:
    if provider is not None:
        await context.deployments.set_provider(environment, provider.kind, provider.settings)
    if protection is not None:
        await context.deployments.set_protection(
            environment,
            protection.required_approvals,
            protection.approver_teams,
            protection.prevent_self_approval,
        )
