"""`paved serve` in production: every line it writes is a JSON object (uvicorn's own records
included), one per request with its fields, and `/metrics` answers a loopback client."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import httpx2 as httpx
from cryptography.fernet import Fernet

from tests.e2e.test_serve_process import paved_serve
from tests.support.processes import migrated_scratch_database

ROOT = Path(__file__).resolve().parents[2]


async def test_production_logs_are_json_lines(tmp_path: Path, migrated_url: str) -> None:
    async with migrated_scratch_database(migrated_url) as dsn:
        with (
            paved_serve(
                tmp_path,
                tmp_path / "data",
                "json",
                DATABASE_URL=dsn,
                PAVED_ENV="production",
                PAVED_DEMO="false",
                PAVED_WEBHOOK_ENCRYPTION_KEY=Fernet.generate_key().decode(),
                PAVED_METRICS_TOKEN="scrape-token-81c2",
                PYTHONPATH=str(ROOT),  # this checkout's code, not the installed one's
            ) as served,
            httpx.Client(trust_env=False) as client,
        ):
            served.wait_ready(client)
            metrics = client.get(f"{served.base_url}/metrics")
            assert metrics.status_code == 200, metrics.text
            assert "paved_build_info" in metrics.text
            refused = client.post(
                f"{served.base_url}/graphql",
                json={"query": "query Who { viewer { __typename } }"},
                headers={"X-Request-Id": "req-observed-0001"},
            )
            assert refused.status_code == 401
            served.stop(signal.SIGTERM)  # the shutdown's own lines are checked too
            log = served.log()
    lines = [line for line in log.splitlines() if line.strip()]
    entries = []
    for line in lines:
        try:
            entries.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"not a JSON line: {line!r}\n{log}") from None
    assert any(entry["logger"].startswith("uvicorn") for entry in entries), log
    [request] = [e for e in entries if e.get("request_id") == "req-observed-0001"]
    assert request["logger"] == "paved.requests"
    assert (request["method"], request["path"], request["status"]) == ("POST", "/graphql", 401)
    assert "scrape-token-81c2" not in log
