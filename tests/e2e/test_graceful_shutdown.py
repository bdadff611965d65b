"""SIGTERM with requests in flight (issue 15), on `paved serve` as a real process: every request
accepted before the signal gets its whole answer, the writes it acknowledged are stored, new
connections are refused from the moment shutdown begins, the rollouts this process followed
(one of them with its provider call cut short) are released and continued by the next process,
and the process ends without a traceback. And `/readyz` answers 503 once shutdown began.

What keeps the requests in flight is real: a table lock held by the test (reads and writes wait
for it in PostgreSQL) and a provider that holds its answer until the test lets it go."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import asyncpg
import httpx2 as httpx

from api.bootstrap import Overrides
from api.observability.metrics import pool_waiting
from tests.e2e.test_serve_process import Served, paved_serve
from tests.support.deployer_fakes.local_server import FakeServer, serving
from tests.support.graphql import GraphQLClient
from tests.support.processes import migrated_scratch_database
from tests.support.served import served_app, served_settings

SEED = (
    "INSERT INTO teams (slug, name) VALUES ('ops', 'Ops');"
    "INSERT INTO services (slug, name) VALUES ('api', 'api'), ('web', 'web'), ('db', 'db');"
    "INSERT INTO service_owners (service_id, team_id, role) "
    "SELECT id, (SELECT id FROM teams), 'PRIMARY' FROM services;"
)
WAIT = 60.0
DEPLOYMENT = "deployment { id state }"
TEAMS = "{ teams { totalCount } }"


# --- a provider that holds its answers ------------------------------------------------------


@dataclass
class Gate:
    """A webhook receiver: `/start` answers at once, except for the services in `held_starts`
    (their first start only, held until the test ends); `/cancel` waits until `released`.
    Counts what it received."""

    held_starts: frozenset[str] = frozenset()
    port: int = 0
    released: threading.Event = field(default_factory=threading.Event)
    ended: threading.Event = field(default_factory=threading.Event)
    received: Counter[tuple[str, str]] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def seen(self, call: str, service: str) -> int:
        with self.lock:
            return self.received[(call, service)]

    def answer(self, call: str, payload: dict[str, Any]) -> dict[str, Any]:
        service = str(payload["service"])
        with self.lock:
            self.received[(call, service)] += 1
            first = self.received[(call, service)] == 1
        if call == "cancel":
            self.released.wait(WAIT)
        elif service in self.held_starts and first:
            self.ended.wait(WAIT)
        if call == "cancel":
            return {"state": "CANCELED"}
        return {"id": f"gate-{payload['deploymentId']}", "state": "IN_PROGRESS"}


class _GateHandler(BaseHTTPRequestHandler):
    server: FakeServer[Gate]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        content = json.dumps(self.server.fake.answer(self.path.strip("/"), json.loads(body)))
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content.encode())
        except OSError:
            pass  # the app gave up on this call (its shutdown cancelled it)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def running_gate(held_starts: frozenset[str]) -> Iterator[Gate]:
    gate = Gate(held_starts)
    server = FakeServer(_GateHandler, gate)
    gate.port = server.port
    try:
        with serving(server):
            yield gate
    finally:
        gate.released.set()
        gate.ended.set()


# --- helpers -------------------------------------------------------------------------------


async def until(what: str, check: Any) -> None:
    deadline = time.monotonic() + WAIT
    while not await check():
        assert time.monotonic() < deadline, f"still not {what} after {WAIT:.0f} s"
        await asyncio.sleep(0.05)


def serve_environment(dsn: str, **more: str) -> dict[str, str]:
    return {
        "DATABASE_URL": dsn,
        "PAVED_DEMO": "false",
        "PAVED_SECRET_GATE": "gate-signing-secret",
        # Long enough for everything in flight (and never reached): what ends the requests
        # is the test letting them go, not a limit.
        "PAVED_SHUTDOWN_SECONDS": "60",
        "PAVED_REQUEST_TIMEOUT_SECONDS": "120",
        "PAVED_PROVIDER_DEADLINE_SECONDS": "120",
        "PAVED_STATEMENT_TIMEOUT_MS": "120000",
        "PAVED_POOL_TIMEOUT_SECONDS": "120",
        "PAVED_MAX_CONCURRENT_PER_ACTOR": "20",
        # Rollouts are polled rarely: nothing but the test's requests waits on its lock.
        "PAVED_ROLLOUT_POLL_SECONDS": "3600",
        "PAVED_ROLLOUT_LEASE_SECONDS": "600",
        **more,
    }


async def rows(db: asyncpg.Connection) -> dict[str, asyncpg.Record]:
    found = await db.fetch(
        "SELECT s.slug, d.state, d.lease_owner FROM deployments d "
        "JOIN services s ON s.id = d.service_id"
    )
    return {row["slug"]: row for row in found}


async def waiting_on_teams(db: asyncpg.Connection) -> Counter[str]:
    """The statements waiting for the test's lock on `teams`: writes (inserting a team) and
    reads."""
    found = await db.fetch(
        "SELECT a.query FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.relation = 'teams'::regclass AND NOT l.granted"
    )
    return Counter(
        "write" if "INSERT INTO teams" in " ".join(str(row["query"]).split()) else "read"
        for row in found
    )


def marker(served: Served) -> str:
    """How a lease owner names `served`'s process (hostname-pid-random)."""
    return f"-{served.process.pid}-"


def wait_for_log(served: Served, text: str) -> None:
    deadline = time.monotonic() + WAIT
    while text not in served.log():
        assert time.monotonic() < deadline, f"never logged {text!r}; {served.describe()}"
        time.sleep(0.02)


# --- the process ---------------------------------------------------------------------------


async def test_sigterm_answers_every_request_in_flight_and_hands_the_rollouts_over(
    database_url: str, tmp_path: Path
) -> None:
    async with migrated_scratch_database(database_url, SEED) as dsn:
        db = await asyncpg.connect(dsn)
        try:
            with running_gate(frozenset({"db"})) as gate:
                await asyncio.to_thread(_first_process_stopped_in_flight, tmp_path, dsn, gate)
                after = await rows(db)
                # Nothing left held by the stopped process; the cut start left its deployment
                # QUEUED, for whoever comes next to start again.
                assert [row["lease_owner"] for row in after.values()] == [None, None, None]
                assert after["api"]["state"] == "CANCELED"
                assert after["web"]["state"] == "IN_PROGRESS"
                assert after["db"]["state"] == "QUEUED"
                teams = await db.fetch("SELECT slug FROM teams WHERE slug LIKE 'late-%'")
                assert sorted(row["slug"] for row in teams) == ["late-1", "late-2"]
                await asyncio.to_thread(_second_process_continues, tmp_path, dsn, gate)
        finally:
            await db.close()


def _first_process_stopped_in_flight(tmp_path: Path, dsn: str, gate: Gate) -> None:
    loop = asyncio.new_event_loop()
    with (
        paved_serve(tmp_path, tmp_path / "data", "first", **serve_environment(dsn)) as served,
        httpx.Client(trust_env=False) as client,
    ):
        served.wait_ready(client)
        try:
            loop.run_until_complete(_in_flight_then_sigterm(served, gate, dsn))
        finally:
            loop.close()
        code = served.process.wait(WAIT)
        # uvicorn re-raises SIGTERM once it has shut down.
        assert code in {0, -signal.SIGTERM.value}, served.describe()
        log = served.log()
        assert "Traceback" not in log, served.describe()
        assert "Application shutdown complete" in log, served.describe()
        assert "ERROR" not in log, served.describe()


async def _in_flight_then_sigterm(served: Served, gate: Gate, dsn: str) -> None:
    db = await asyncpg.connect(dsn)
    try:
        async with httpx.AsyncClient(base_url=served.base_url, timeout=WAIT) as http:
            gql = GraphQLClient(http)
            made = await gql.mutate(
                "createEnvironment", "environment { slug }", slug="gated", name="Gated",
                tier="STAGING", provider={"kind": "webhook", "settings": {
                    "url": f"{gate.url}/start", "cancelUrl": f"{gate.url}/cancel",
                    "secretEnv": "PAVED_SECRET_GATE", "timeoutSeconds": 60}},
            )  # fmt: skip
            assert made["errors"] == [], made
            deployed = {}
            for service in ("api", "web", "db"):
                answer = await gql.mutate("deploy", DEPLOYMENT, service=service,
                                          environment="gated", version="1")  # fmt: skip
                assert answer["errors"] == [], answer
                deployed[service] = answer["deployment"]["id"]

            async def started() -> bool:
                found = await rows(db)
                return (
                    found["api"]["state"] == found["web"]["state"] == "IN_PROGRESS"
                    and gate.seen("start", "db") == 1
                )

            await until("started (db's start held by the provider)", started)

            # In flight: a cancel waiting for its provider, and two writes and a read
            # waiting for a lock on `teams`. The second write has an idempotency key: its
            # own transaction, where a second new team without one would wait in the process
            # to be committed with the first (write batches), out of the lock's sight.
            cancel = asyncio.create_task(
                gql.mutate("cancelDeployment", DEPLOYMENT, deployment=deployed["api"])
            )
            await until("the cancel at the provider", _async(lambda: gate.seen("cancel", "api")))
            locker = await asyncpg.connect(dsn)
            try:
                transaction = locker.transaction()
                await transaction.start()
                await locker.execute("LOCK TABLE teams IN ACCESS EXCLUSIVE MODE")
                writes = [
                    asyncio.create_task(
                        gql.mutate("createTeam", "team { slug }", slug=slug, name=slug, **key)
                    )
                    for slug, key in (("late-1", {}), ("late-2", {"idempotencyKey": "late"}))
                ]
                read = asyncio.create_task(http.post("/graphql", json={"query": TEAMS}))

                async def all_waiting() -> bool:
                    waiting = await waiting_on_teams(db)
                    return waiting == Counter(write=2, read=1)

                await until("the writes and the read waiting for the lock", all_waiting)

                served.process.send_signal(signal.SIGTERM)
                await asyncio.to_thread(wait_for_log, served, "Shutting down")
                # From now on nobody new gets in (a client of its own: a new connection)...
                async with httpx.AsyncClient(base_url=served.base_url, timeout=WAIT) as fresh:
                    try:
                        refused = await fresh.get("/readyz")
                    except httpx.ConnectError:
                        pass
                    else:
                        raise AssertionError(f"a new connection was served: {refused.text}")
                # ...while everything accepted before is still in flight.
                assert not any(task.done() for task in (cancel, *writes, read))
                await transaction.rollback()
            finally:
                await locker.close()
            gate.released.set()
            canceled = await cancel
            written = await asyncio.gather(*writes)
            listed = await read
    finally:
        await db.close()

    assert canceled["errors"] == [], canceled
    assert canceled["deployment"]["state"] == "CANCELED"
    assert [w["errors"] for w in written] == [[], []], written
    assert sorted(w["team"]["slug"] for w in written) == ["late-1", "late-2"]
    assert listed.status_code == 200, listed.text
    assert "errors" not in listed.json(), listed.text
    assert listed.json()["data"]["teams"]["totalCount"] >= 1


def _async(check: Any) -> Any:
    async def checked() -> bool:
        return bool(check())

    return checked


def _second_process_continues(tmp_path: Path, dsn: str, gate: Gate) -> None:
    loop = asyncio.new_event_loop()
    with (
        paved_serve(tmp_path, tmp_path / "data", "second", **serve_environment(dsn)) as served,
        httpx.Client(trust_env=False) as client,
    ):
        served.wait_ready(client)
        try:
            loop.run_until_complete(_picked_up(served, gate, dsn))
        finally:
            loop.close()
        served.process.send_signal(signal.SIGTERM)
        try:
            served.process.wait(WAIT)
        except subprocess.TimeoutExpired:
            raise AssertionError(served.describe()) from None
        assert "Traceback" not in served.log(), served.describe()


async def _picked_up(served: Served, gate: Gate, dsn: str) -> None:
    db = await asyncpg.connect(dsn)
    try:
        # The cut start is made again here (same deployment, its Idempotency-Key), and
        # both unfinished deployments are followed by this process.
        async def taken_over() -> bool:
            found = await rows(db)
            return gate.seen("start", "db") == 2 and all(
                marker(served) in (found[s]["lease_owner"] or "")
                and found[s]["state"] == "IN_PROGRESS"
                for s in ("web", "db")
            )

        await until("taken over by the next process", taken_over)
        assert gate.seen("start", "web") == 1  # followed, never started twice
        async with httpx.AsyncClient(base_url=served.base_url, timeout=WAIT) as http:
            gql = GraphQLClient(http)
            ids = await gql("{ deployments(first: 10) { nodes { id state service { slug } } } }")
            by_service = {
                node["service"]["slug"]: node["id"] for node in ids["deployments"]["nodes"]
            }
            for service in ("web", "db"):
                reported = await gql.mutate("reportDeploymentStatus", DEPLOYMENT,
                                            deployment=by_service[service], state="SUCCEEDED")  # fmt: skip
                assert reported["errors"] == [], reported
                assert reported["deployment"]["state"] == "SUCCEEDED"
    finally:
        await db.close()


# --- readiness -----------------------------------------------------------------------------


async def test_readiness_answered_once_shutdown_began_is_503(migrated_url: str) -> None:
    """A `/readyz` waiting for a connection when shutdown begins answers 503, although the
    database then answers: a load balancer takes this replica out at once."""
    settings = served_settings(
        migrated_url, pool_min_size=2, pool_max_size=2, pool_timeout_seconds=60,
        ready_timeout_seconds=60, event_poll_seconds=3600,
    )  # fmt: skip
    quiet = Overrides(
        rollout_sweep_seconds=3600, provisioning_sweep_seconds=3600, event_prune_seconds=3600
    )
    async with served_app(settings, quiet) as served:
        base = served.url.removesuffix("/graphql")
        async with httpx.AsyncClient(base_url=base, timeout=WAIT) as http:
            assert (await http.get("/readyz")).status_code == 200
            pool = served.container.pool
            locker = await asyncpg.connect(migrated_url)
            try:
                await locker.execute("SELECT pg_advisory_lock(7215)")
                holders = [
                    asyncio.create_task(pool.execute("SELECT pg_advisory_xact_lock(7215)"))
                    for _ in range(2)
                ]
                await until("the pool taken", _async(lambda: pool.get_idle_size() == 0))
                ready = asyncio.create_task(http.get("/readyz"))
                await until("readiness waiting", _async(lambda: pool_waiting(pool) == 1))
                await served.shutdown()
                await until(
                    "shutdown begun", _async(lambda: getattr(served.app.state, "draining", False))
                )
                await locker.execute("SELECT pg_advisory_unlock(7215)")
                answer = await ready
                await asyncio.gather(*holders)
            finally:
                await locker.close()
    assert answer.status_code == 503, answer.text
    assert answer.json() == {"status": "shutting down"}


async def test_a_request_cut_off_by_the_end_of_the_grace_is_told_to_retry(
    database_url: str, tmp_path: Path
) -> None:
    """A request still running when the shutdown's grace ends is answered 503 UNAVAILABLE
    with Retry-After (a client may retry it, a write with its idempotency key), never the
    server's bare 500."""
    async with migrated_scratch_database(database_url, SEED) as dsn:
        db = await asyncpg.connect(dsn)
        locker = await asyncpg.connect(dsn)
        try:
            environment = serve_environment(dsn, PAVED_SHUTDOWN_SECONDS="1")
            with paved_serve(tmp_path, tmp_path / "data", "cut", **environment) as served:
                with httpx.Client(trust_env=False) as client:
                    served.wait_ready(client)
                async with (
                    httpx.AsyncClient(base_url=served.base_url, timeout=WAIT) as http,
                    locker.transaction(),
                ):
                    await locker.execute("LOCK TABLE teams IN ACCESS EXCLUSIVE MODE")
                    read = asyncio.create_task(http.post("/graphql", json={"query": TEAMS}))

                    async def waiting() -> bool:
                        return sum((await waiting_on_teams(db)).values()) == 1

                    await until("the read waiting for the lock", waiting)
                    served.process.send_signal(signal.SIGTERM)
                    cut = await read
                served.process.wait(WAIT)
        finally:
            await locker.close()
            await db.close()
    assert cut.status_code == 503, cut.text
    assert cut.headers["Retry-After"] == "1"
    assert [e["extensions"]["code"] for e in cut.json()["errors"]] == ["UNAVAILABLE"]
