"""An environment's provider and protection, as createEnvironment/updateEnvironment set them.

Both are checked in full before anything is written (unknown provider kinds, settings the
adapter refuses, among them secrets outside the allow-list and addresses the server's provider
policy refuses, approver teams that do not exist), so a client hears of every mistake it can
fix; then the environment, its provider and its protection are written by the deployment store
in ONE transaction, the audited one (`DeploymentStore.create_environment` /
`update_environment`): a part refused at write time (an approver team deleted meanwhile)
leaves nothing written and no ACCEPTED record.
"""

from __future__ import annotations

from domain.deployments.model import InvalidProviderSettings
from domain.deployments.ports import ProtectionChoice, ProviderChoice
from domain.errors import NotFound, ValidationFailed
from resolvers import validation as v
from resolvers.context import Context


async def check(
    context: Context, provider: v.ProviderInput | None, protection: v.ProtectionInput | None
) -> None:
    if provider is not None:
        try:
            await context.deployer_kinds.check(provider.kind, provider.settings)
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


def provider_choice(provider: v.ProviderInput | None) -> ProviderChoice | None:
    return None if provider is None else ProviderChoice(provider.kind, provider.settings)


def protection_choice(protection: v.ProtectionInput | None) -> ProtectionChoice | None:
    if protection is None:
        return None
    return ProtectionChoice(
        protection.required_approvals,
        tuple(protection.approver_teams),
        protection.prevent_self_approval,
    )
