"""An environment's protection (approvals, freeze) and provider. Each change also counts a new
version of the environment, like any other change to it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from providers.deployment_ports import Protection, ProviderSettings
from providers.errors import NotFound, ValidationFailed
from providers.postgres.deployments import rows
from providers.postgres.deployments.checks import provider_kind, text
from providers.postgres.writes.common import Connection, lock_row, update_row

_PATH = ["input", "environment"]
_LONGEST_REASON = 500


async def _protection(connection: Connection, environment_id: int) -> Protection:
    row = await connection.fetchrow(f"{rows.PROTECTION_SQL} WHERE e.id = $1", environment_id)
    assert row is not None
    return rows.protection(row)


async def set_frozen(
    connection: Connection, slug: str, frozen: bool, reason: str | None
) -> Protection:
    text(reason, "reason", _LONGEST_REASON)
    row = await lock_row(connection, "environments", "slug", slug, _PATH)
    values = {"frozen": frozen, "freeze_reason": reason if frozen else None}
    await update_row(connection, "environments", row["id"], values)
    return await _protection(connection, row["id"])


async def set_protection(
    connection: Connection,
    slug: str,
    required_approvals: int,
    approver_team_slugs: Sequence[str],
    prevent_self_approval: bool,
) -> Protection:
    if required_approvals < 0:
        raise ValidationFailed(
            "`requiredApprovals` must not be negative", ["input", "protection", "requiredApprovals"]
        )
    row = await lock_row(connection, "environments", "slug", slug, _PATH)
    wanted = sorted(set(approver_team_slugs))
    teams = await connection.fetch(
        "SELECT id, slug FROM teams WHERE slug = ANY($1::text[])", wanted
    )
    missing = sorted(set(wanted) - {team["slug"] for team in teams})
    if missing:
        raise NotFound(f"no team '{missing[0]}'", ["input", "protection", "approverTeams"])
    await connection.execute(
        "DELETE FROM environment_approver_teams WHERE environment_id = $1", row["id"]
    )
    await connection.execute(
        "INSERT INTO environment_approver_teams (environment_id, team_id) "
        "SELECT $1, unnest($2::bigint[])",
        row["id"], [team["id"] for team in teams],
    )  # fmt: skip
    values = {
        "required_approvals": required_approvals,
        "prevent_self_approval": prevent_self_approval,
    }
    await update_row(connection, "environments", row["id"], values)
    return await _protection(connection, row["id"])


async def set_provider(
    connection: Connection, slug: str, kind: str, settings: Mapping[str, Any]
) -> ProviderSettings:
    provider_kind(kind)
    if not isinstance(settings, Mapping):
        raise ValidationFailed(
            "`provider.settings` must be a JSON object", ["input", "provider", "settings"]
        )
    row = await lock_row(connection, "environments", "slug", slug, _PATH)
    values = {"provider_kind": kind, "provider_settings": dict(settings)}
    return rows.provider(await update_row(connection, "environments", row["id"], values))
