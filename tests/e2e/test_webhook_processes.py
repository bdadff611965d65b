"""Two `paved serve` processes on one database deliver webhooks together: each event once,
never by both at the same time, and one killed with SIGKILL mid-delivery leaves nothing
undelivered (its lease expires and the other sends it)."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx2 as httpx
from cryptography.fernet import Fernet

from tests.e2e.test_serve_process import Served, paved_serve
from tests.support.processes import migrated_scratch_database
from tests.support.webhook_receiver import Answer, eventually, receiver

LEASE_SECONDS = "2"


@contextmanager
def two_replicas(tmp_path: Path, dsn: str) -> Iterator[list[Served]]:
    environment = {
        "DATABASE_URL": dsn,
        "PAVED_DEMO": "false",
        "PAVED_WEBHOOK_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "PAVED_WEBHOOK_POLL_SECONDS": "0.05",
        "PAVED_WEBHOOK_LEASE_SECONDS": LEASE_SECONDS,
    }
    with ExitStack() as stack, httpx.Client() as client:
        replicas = [
            stack.enter_context(paved_serve(tmp_path, tmp_path / name, name, **environment))
            for name in ("a", "b")
        ]
        for replica in replicas:
            replica.wait_ready(client)
        yield replicas


async def _graphql(served: Served, query: str, **variables: Any) -> dict[str, Any]:
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{served.base_url}/graphql", json={"query": query, "variables": variables}
        )
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body


async def _create_team(served: Served, slug: str) -> None:
    body = await _graphql(
        served,
        "mutation($slug: String!) { createTeam(input: {slug: $slug, name: $slug}) "
        "{ errors { code } } }",
        slug=slug,
    )
    assert body["data"]["createTeam"]["errors"] == []


async def test_two_replicas_deliver_each_event_once_and_survive_a_kill(
    tmp_path: Path, database_url: str
) -> None:
    async with migrated_scratch_database(database_url) as dsn:
        database = await asyncpg.connect(dsn)
        try:
            with two_replicas(tmp_path, dsn) as replicas, receiver() as inbox:
                created = await _graphql(
                    replicas[0],
                    "mutation($url: String!) { createWebhook(input: {url: $url, "
                    "events: [TEAM_CREATED]}) { secret errors { code message } } }",
                    url=inbox.url,
                )
                assert created["data"]["createWebhook"]["errors"] == []
                inbox.secret = created["data"]["createWebhook"]["secret"]

                # Twenty events written on either replica: each sent once, by one of them.
                await asyncio.gather(
                    *(_create_team(replicas[n % 2], f"team-{n}") for n in range(20))
                )
                await eventually(lambda: len(inbox.accepted) >= 20)
                ids = [message.headers["webhook-id"] for message in inbox.messages]
                assert len(ids) == len(set(ids)) == 20

                # The next one hangs at the receiver; whoever sends it is killed mid-delivery.
                hang = threading.Event()
                inbox.answer_next(Answer(200, b"late", hang=hang))
                await _create_team(replicas[1], "hung")
                await eventually(lambda: len(inbox.messages) == 21)
                holder = await database.fetchval(
                    "SELECT leased_by FROM webhook_deliveries WHERE leased_by IS NOT NULL"
                )
                pid = int(holder.split(":")[1])
                [victim] = [r for r in replicas if r.process.pid == pid]
                [survivor] = [r for r in replicas if r is not victim]
                os.kill(pid, signal.SIGKILL)
                victim.process.wait(10)

                # Its lease expires; the survivor sends the same message again.
                await eventually(lambda: len(inbox.accepted) == 21, within=30)
                hang.set()
                hung_id = inbox.messages[20].headers["webhook-id"]
                assert inbox.messages[21].headers["webhook-id"] == hung_id
                row: dict[str, Any] = {}
                while row.get("state") != "SUCCEEDED":  # recorded just after it answered
                    found = await database.fetchrow(
                        "SELECT state, attempt, leased_by FROM webhook_deliveries d "
                        "JOIN events e ON e.id = d.event_id WHERE e.data->>'slug' = 'hung'"
                    )
                    row = dict(found or {})
                    await asyncio.sleep(0.02)
                assert row == {"state": "SUCCEEDED", "attempt": 1, "leased_by": None}

                # A clean stop gives back what it holds: nothing stays leased.
                assert survivor.stop(signal.SIGTERM) in (0, -signal.SIGTERM)
                assert "Traceback" not in survivor.log()
                leased = await database.fetchval(
                    "SELECT count(*) FROM webhook_deliveries WHERE leased_by IS NOT NULL"
                )
                assert leased == 0
                pending = await database.fetchval(
                    "SELECT count(*) FROM webhook_deliveries WHERE state <> 'SUCCEEDED'"
                )
                assert pending == 0
        finally:
            await database.close()
