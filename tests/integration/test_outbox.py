"""The outbox: exactly one event per committed change, none for a refused or rolled-back one,
in commit order per subject, with the change's actor and request id."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from typing import Any

import asyncpg

from api.bootstrap import build_ports
from api.settings import Settings
from domain.access.model import LOCAL_ADMIN
from resolvers import catalog_mutations as m
from resolvers.auditing import Outcome
from resolvers.context import Context

SERVICES = [f"svc-{index}" for index in range(10)]


def _context(pool: asyncpg.Pool, request_id: str) -> Context:
    return Context.for_request(build_ports(Settings(), pool), LOCAL_ADMIN, request_id)


async def _events(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    """In the order readers read them."""
    return await pool.fetch("SELECT * FROM events ORDER BY tx, id")


async def test_two_hundred_concurrent_mutations_leave_one_event_per_committed_change(
    pool: asyncpg.Pool,
) -> None:
    setup = _context(pool, "setup")
    for team in ("pay", "web"):
        assert not (await m.create_team(setup, {"slug": team, "name": team})).errors
    for slug in SERVICES:
        created = await m.create_service(setup, {"slug": slug, "name": slug, "owner": "pay"})
        assert not created.errors
    before = len(await _events(pool))

    rng = random.Random(11)
    attempts: list[tuple[str, str, Any]] = []
    for index in range(200):
        service = rng.choice(SERVICES)
        kind = rng.choice(["update", "update", "update", "invalid", "conflict", "rollback"])
        request_id = f"r{index}"
        data: dict[str, Any]
        if kind == "update":
            data = {"service": service, "name": f"name-{index}"}
            attempts.append((kind, request_id, (m.update_service, data)))
        elif kind == "invalid":
            data = {"service": service, "name": ""}
            attempts.append((kind, request_id, (m.update_service, data)))
        elif kind == "conflict":
            data = {"service": service, "name": f"x-{index}", "expectedVersion": 10_000}
            attempts.append((kind, request_id, (m.update_service, data)))
        else:
            # The old owners are deleted before the unknown team is found: the transaction
            # rolls back with work already done in it.
            owners = [{"team": "web", "role": "PRIMARY"}, {"team": "nobody", "role": "CONTRIBUTOR"}]
            data = {"service": service, "owners": owners}
            attempts.append((kind, request_id, (m.set_service_owners, data)))

    async def attempt(request_id: str, use_case: Any, data: dict[str, Any]) -> Outcome[Any]:
        outcome: Outcome[Any] = await use_case(_context(pool, request_id), data)
        return outcome

    outcomes = await asyncio.gather(
        *(attempt(request_id, *call) for _, request_id, call in attempts)
    )
    committed = {
        request_id: outcome
        for (_, request_id, _), outcome in zip(attempts, outcomes, strict=True)
        if not outcome.errors
    }
    assert {kind for (kind, request_id, _) in attempts if request_id in committed} == {"update"}
    assert len(committed) == sum(1 for kind, _, _ in attempts if kind == "update")

    events = (await _events(pool))[before:]
    assert len(events) == len(committed)
    assert sorted(event["request_id"] for event in events) == sorted(committed)
    assert {event["type"] for event in events} == {"SERVICE_UPDATED"}
    assert all(event["actor_kind"] == "local-admin" for event in events)

    # Commit order per subject: the names each service's events report, in event order, are
    # the names its versions took, in version order.
    by_version: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for request_id, outcome in committed.items():
        record = outcome.value
        assert record is not None
        by_version[record.slug].append((record.version, record.name))
        assert request_id
    by_event: dict[int, list[str]] = defaultdict(list)
    for event in events:
        by_event[event["subject_id"]].append(event["data"]["name"]["new"])
    ids = {row["slug"]: row["id"] for row in await pool.fetch("SELECT id, slug FROM services")}
    for slug, versions in by_version.items():
        assert by_event[ids[slug]] == [name for _, name in sorted(versions)], slug


async def test_an_update_that_only_counts_a_version_still_has_its_event(
    pool: asyncpg.Pool,
) -> None:
    context = _context(pool, "r")
    await m.create_team(context, {"slug": "pay", "name": "Pay"})
    await m.create_service(context, {"slug": "ledger", "name": "Ledger", "owner": "pay"})
    before = len(await _events(pool))
    same = await m.update_service(context, {"service": "ledger", "name": "Ledger"})
    assert not same.errors
    assert same.value is not None
    assert same.value.version == 2
    [event] = (await _events(pool))[before:]
    assert (event["type"], event["data"]) == ("SERVICE_UPDATED", {})
