"""An environment's protection (approvals, freeze) and provider. Each change also counts a new
version of the environment, like any other change to it.

`create_environment` / `update_environment` write the environment together with its provider
and protection, in the caller's (audited) transaction and as one version: a refusal of any
part leaves nothing written."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from domain.catalog.changes import EnvironmentDraft, EnvironmentPatch
from domain.catalog.records import EnvironmentRecord
from domain.deployments.ports import (
    Protection,
    ProtectionChoice,
    ProviderChoice,
    ProviderSettings,
)
from domain.errors import NotFound, ValidationFailed
from domain.events import describe
from domain.events.changes import changed_fields
from domain.events.model import EventType, SubjectKind
from providers.postgres.deployments import rows
from providers.postgres.deployments.checks import provider_kind, text
from providers.postgres.outbox import emit
from providers.postgres.writes import environments
from providers.postgres.writes.common import (
    ENVIRONMENTS,
    Connection,
    lock_row,
    touch,
    update_row,
)

_LONGEST_REASON = 500


async def _protection(connection: Connection, environment_id: int) -> Protection:
    row = await connection.fetchrow(f"{rows.PROTECTION_SQL} WHERE e.id = $1", environment_id)
    assert row is not None
    return rows.protection(row)


async def set_frozen(
    connection: Connection, slug: str, frozen: bool, reason: str | None
) -> Protection:
    text(reason, "reason", _LONGEST_REASON)
    row = await lock_row(connection, ENVIRONMENTS, slug)
    values = {"frozen": frozen, "freeze_reason": reason if frozen else None}
    await update_row(connection, ENVIRONMENTS, row["id"], values)
    type_ = EventType.ENVIRONMENT_FROZEN if frozen else EventType.ENVIRONMENT_UNFROZEN
    data = {"environment": slug, "reason": values["freeze_reason"], "wasFrozen": row["frozen"]}
    emit(describe.about(type_, _KIND, row["id"], data))
    return await _protection(connection, row["id"])


async def set_protection(
    connection: Connection,
    slug: str,
    required_approvals: int,
    approver_team_slugs: Sequence[str],
    prevent_self_approval: bool,
) -> Protection:
    choice = ProtectionChoice(required_approvals, tuple(approver_team_slugs), prevent_self_approval)
    _check_protection(choice)
    row = await lock_row(connection, ENVIRONMENTS, slug)
    before = await _settings(connection, row["id"])
    await _write_protection(connection, row["id"], choice)
    await touch(connection, ENVIRONMENTS, row["id"])
    await _emit_settings_changes(connection, row["id"], before, {})
    return await _protection(connection, row["id"])


async def set_provider(
    connection: Connection, slug: str, kind: str, settings: Mapping[str, Any]
) -> ProviderSettings:
    choice = ProviderChoice(kind, settings)
    _check_provider(choice)
    row = await lock_row(connection, ENVIRONMENTS, slug)
    before = await _settings(connection, row["id"])
    await _write_provider(connection, row["id"], choice)
    updated = rows.provider(await touch(connection, ENVIRONMENTS, row["id"]))
    await _emit_settings_changes(connection, row["id"], before, {})
    return updated


async def create_environment(
    connection: Connection,
    draft: EnvironmentDraft,
    provider: ProviderChoice | None,
    protection: ProtectionChoice | None,
) -> EnvironmentRecord:
    """The environment, then its provider and protection, in the caller's transaction: one
    version (the first) for all of it."""
    _check_settings(provider, protection)
    created = await environments.create_environment(connection, draft)
    await _write_settings(connection, created.id, provider, protection)
    return created


async def update_environment(
    connection: Connection,
    slug: str,
    expected_version: int | None,
    patch: EnvironmentPatch,
    provider: ProviderChoice | None,
    protection: ProtectionChoice | None,
) -> EnvironmentRecord:
    """The environment's own fields, provider and protection, in the caller's transaction: one
    new version for all of it."""
    _check_settings(provider, protection)
    before, updated = await environments.patch_environment(
        connection, slug, expected_version, patch
    )
    settings = await _settings(connection, updated.id)
    await _write_settings(connection, updated.id, provider, protection)
    await _emit_settings_changes(connection, updated.id, settings, changed_fields(before, updated))
    return updated


_KIND = SubjectKind.ENVIRONMENT
_SETTINGS_SQL = """
SELECT e.provider_kind AS "providerKind", md5(e.provider_settings::text) AS "providerSettings",
       e.required_approvals AS "requiredApprovals",
       e.prevent_self_approval AS "preventSelfApproval",
       ARRAY(SELECT t.slug FROM environment_approver_teams a JOIN teams t ON t.id = a.team_id
             WHERE a.environment_id = e.id ORDER BY t.slug) AS "approverTeams"
FROM environments e WHERE e.id = $1
"""


async def _settings(connection: Connection, environment_id: int) -> dict[str, Any]:
    """The provider and protection, as an event describes them (settings only by a digest:
    whether they changed, not what they say)."""
    row = await connection.fetchrow(_SETTINGS_SQL, environment_id)
    assert row is not None
    return dict(row)


async def _emit_settings_changes(
    connection: Connection,
    environment_id: int,
    before: dict[str, Any],
    changes: dict[str, dict[str, Any]],
) -> None:
    """ENVIRONMENT_UPDATED with `changes` and whatever of the provider and protection
    changed since `before`."""
    after = await _settings(connection, environment_id)
    for name, old in before.items():
        if after[name] != old:
            hidden = name == "providerSettings"
            changes[name] = {"changed": True} if hidden else {"old": old, "new": after[name]}
    emit(describe.about(EventType.ENVIRONMENT_UPDATED, _KIND, environment_id, changes))


# --- the parts ----------------------------------------------------------------------------


def _check_settings(provider: ProviderChoice | None, protection: ProtectionChoice | None) -> None:
    if provider is not None:
        _check_provider(provider)
    if protection is not None:
        _check_protection(protection)


def _check_provider(provider: ProviderChoice) -> None:
    provider_kind(provider.kind)
    if not isinstance(provider.settings, Mapping):
        raise ValidationFailed(
            "`provider.settings` must be a JSON object", ["input", "provider", "settings"]
        )


def _check_protection(protection: ProtectionChoice) -> None:
    if protection.required_approvals < 0:
        raise ValidationFailed(
            "`requiredApprovals` must not be negative", ["input", "protection", "requiredApprovals"]
        )


async def _write_settings(
    connection: Connection,
    environment_id: int,
    provider: ProviderChoice | None,
    protection: ProtectionChoice | None,
) -> None:
    if provider is not None:
        await _write_provider(connection, environment_id, provider)
    if protection is not None:
        await _write_protection(connection, environment_id, protection)


async def _write_provider(
    connection: Connection, environment_id: int, provider: ProviderChoice
) -> None:
    await connection.execute(
        "UPDATE environments SET provider_kind = $2, provider_settings = $3 WHERE id = $1",
        environment_id, provider.kind, dict(provider.settings),
    )  # fmt: skip


async def _write_protection(
    connection: Connection, environment_id: int, protection: ProtectionChoice
) -> None:
    """The approver teams are looked up (and kept from being deleted) in the change's own
    transaction: one deleted since the caller checked it is NOT_FOUND, and nothing of the
    change is written."""
    wanted = sorted(set(protection.approver_team_slugs))
    teams = await connection.fetch(
        "SELECT id, slug FROM teams WHERE slug = ANY($1::text[]) FOR KEY SHARE", wanted
    )
    missing = sorted(set(wanted) - {team["slug"] for team in teams})
    if missing:
        raise NotFound(f"no team '{missing[0]}'", ["input", "protection", "approverTeams"])
    await connection.execute(
        "DELETE FROM environment_approver_teams WHERE environment_id = $1", environment_id
    )
    await connection.execute(
        "INSERT INTO environment_approver_teams (environment_id, team_id) "
        "SELECT $1, unnest($2::bigint[])",
        environment_id, [team["id"] for team in teams],
    )  # fmt: skip
    await connection.execute(
        "UPDATE environments SET required_approvals = $2, prevent_self_approval = $3 "
        "WHERE id = $1",
        environment_id, protection.required_approvals, protection.prevent_self_approval,
    )  # fmt: skip
