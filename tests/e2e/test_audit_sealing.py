"""The server seals audit records shortly after commit and says so on `/metrics`: the lag
from append to seal, the unsealed count, the head's seal_seq; its log carries the head."""

from __future__ import annotations

import asyncio
import logging
import uuid

import asyncpg
import pytest

from api.bootstrap import Overrides
from tests.e2e.test_observability_metrics import scrape, settings_for, value
from tests.support.app import in_process_client, started_app
from tests.support.graphql import GraphQLClient


async def test_a_mutations_audit_record_is_sealed_and_measured(
    migrated_url: str, pool: asyncpg.Pool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="resolvers.audit_sealing")
    settings = settings_for(migrated_url, audit_seal_poll_seconds=0.02)
    overrides = Overrides(rollout_takeover_notices=False)
    slug = f"sealed-{uuid.uuid4().hex[:8]}"
    async with started_app(settings, overrides) as app, in_process_client(app) as http:
        created = await GraphQLClient(http).mutate(
            "createTeam", "team { slug }", slug=slug, name="S"
        )
        assert created["errors"] == []
        seq = None
        for _ in range(3000):  # only against hanging: the sealer looks every 20 ms
            seq = await pool.fetchval(
                "SELECT seal_seq FROM audit_events WHERE targets @> ARRAY[$1::text]",
                f"Team:{slug}",
            )
            if seq is not None:
                break
            await asyncio.sleep(0.01)
        assert seq is not None
        samples = await scrape(http)
        assert value(samples, "paved_audit_seal_lag_seconds_count") >= 1
        assert value(samples, "paved_audit_seal_head") >= seq
        assert ("paved_audit_unsealed", ()) in samples
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("audit seal ")]
    assert lines
    head = await pool.fetchrow(
        "SELECT seal_seq, hash FROM audit_events WHERE seal_seq IS NOT NULL"
        " ORDER BY seal_seq DESC LIMIT 1"
    )
    assert head is not None
    assert lines[-1].startswith(f"audit seal {head['seal_seq']}:{head['hash']} at ")
