"""Migration 0004 on a database that already holds deployments: the unfinished ones get their
environment's provider settings when its provider kind is still theirs; the rest stay NULL."""

from __future__ import annotations

import json

import asyncpg
import pytest

from providers.postgres import migrations
from providers.postgres.migrations import apply_migrations, bundled_migrations
from tests.support.processes import scratch_database

_DEPLOYMENT = (
    "INSERT INTO deployments (service_id, environment_id, number, version, kind, state, "
    "provider, requested_by_kind, requested_by_name) "
    "VALUES ($1, $2, $3, '1', $4, $5, $6, 'user', 'Ada') RETURNING id"
)
HOOKS = {"url": "https://hooks", "secretEnv": "X"}


async def test_unfinished_deployments_take_their_environments_settings(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = [m for m in bundled_migrations() if m.version < "0004"]
    assert len(before) < len(bundled_migrations())
    async with scratch_database(database_url) as dsn:
        connection = await asyncpg.connect(dsn)
        try:
            monkeypatch.setattr(migrations, "bundled_migrations", lambda: before)
            await apply_migrations(connection)
            monkeypatch.undo()
            await connection.execute(
                "INSERT INTO services (slug, name) VALUES ('api', 'API'), ('web', 'Web')"
            )
            staging = await connection.fetchval(
                "INSERT INTO environments (slug, name, tier, provider_kind, provider_settings) "
                "VALUES ('staging', 'S', 'STAGING', 'webhook', $1::text::jsonb) RETURNING id",
                json.dumps(HOOKS),
            )
            made = {
                name: await connection.fetchval(
                    _DEPLOYMENT, service, staging, number, kind, state, provider
                )
                for name, service, number, kind, state, provider in (
                    ("running", 1, 1, "DEPLOY", "IN_PROGRESS", "webhook"),
                    ("finished", 1, 2, "DEPLOY", "SUCCEEDED", "webhook"),
                    ("recorded", 1, 3, "RECORDED", "CANCELED", "recorded"),
                    ("queued, another kind", 2, 1, "DEPLOY", "QUEUED", "simulated"),
                )
            }
            await apply_migrations(connection)
            rows = await connection.fetch(
                "SELECT id, provider_settings::text AS settings FROM deployments"
            )
            settings = {
                row["id"]: None if row["settings"] is None else json.loads(row["settings"])
                for row in rows
            }
            assert {name: settings[made[name]] for name in made} == {
                "running": HOOKS,
                "finished": None,
                "recorded": None,
                "queued, another kind": None,
            }
            with pytest.raises(asyncpg.CheckViolationError):
                await connection.execute("UPDATE deployments SET provider_settings = '[]'")
        finally:
            await connection.close()
