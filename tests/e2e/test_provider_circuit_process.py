"""A `paved serve` process whose deployment provider hangs: the first deployments wait out
their deadline and fail, then the provider's circuit opens and the next deployment waits,
QUEUED, without the provider hearing of it; once the provider answers again, the probe after
the reset delay goes through, the circuit closes and the deployment goes on. Told by the
requests the provider received and by /metrics, never by the clock."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import asyncpg
import httpx2 as httpx
from cryptography.fernet import Fernet
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.test_serve_process import Served, paved_serve
from tests.support.processes import migrated_scratch_database

SECRET_ENV = "PAVED_SECRET_TEST_CIRCUIT"


class Provider:
    """Counts the requests it receives; hangs on each (accepts, never answers) until
    `recover()`, then accepts every deployment (202, IN_PROGRESS)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests = 0
        self.recovered = threading.Event()
        self.stopping = threading.Event()

    def received(self) -> int:
        with self.lock:
            return self.requests

    def recover(self) -> None:
        self.recovered.set()


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        provider = self.server.provider
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with provider.lock:
            provider.requests += 1
        if not provider.recovered.is_set():
            provider.stopping.wait()  # hangs: the caller's deadline ends it
            return
        body = b'{"state": "IN_PROGRESS", "id": "ext-1"}'
        self.send_response(202)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, provider: Provider) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.provider = provider

    def handle_error(self, request: Any, client_address: Any) -> None:
        """The API gave up on a hung request: nothing worth printing."""


@contextmanager
def hanging_provider() -> Iterator[tuple[Provider, str]]:
    provider = Provider()
    server = _Server(provider)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield provider, f"http://127.0.0.1:{server.server_address[1]}/deploy"
    finally:
        provider.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join()


async def _eventually_async(check: Callable[[], Awaitable[Any]], within: float = 30.0) -> Any:
    """`await check()` once it is truthy, polled (a deadline against hanging only)."""
    async with asyncio.timeout(within):
        while True:
            result = await check()
            if result:
                return result
            await asyncio.sleep(0.05)


async def _graphql(
    client: httpx.AsyncClient, served: Served, query: str, **variables: Any
) -> dict[str, Any]:
    response = await client.post(
        f"{served.base_url}/graphql", json={"query": query, "variables": variables}
    )
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


async def _metric(client: httpx.AsyncClient, served: Served, name: str, **labels: str) -> float:
    text = (await client.get(f"{served.base_url}/metrics")).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


async def test_a_hanging_provider_opens_its_circuit_and_a_probe_closes_it(
    tmp_path: Path, database_url: str
) -> None:
    environment = {
        "PAVED_DEMO": "false",
        "PAVED_WEBHOOK_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "PAVED_WEBHOOK_DELIVERY": "false",
        "PAVED_PROVIDER_DEADLINE_SECONDS": "0.5",
        "PAVED_PROVIDER_BREAKER_FAILURES": "2",
        "PAVED_PROVIDER_BREAKER_RESET_SECONDS": "2",
        "PAVED_ROLLOUT_POLL_SECONDS": "0.1",
        SECRET_ENV: "whsec_circuit",
    }
    async with migrated_scratch_database(database_url) as dsn:
        database = await asyncpg.connect(dsn)
        try:
            with (
                hanging_provider() as (provider, url),
                paved_serve(
                    tmp_path, tmp_path / "data", "serve", DATABASE_URL=dsn, **environment
                ) as served,
                httpx.Client() as sync_client,
            ):
                served.wait_ready(sync_client)
                async with httpx.AsyncClient(timeout=30) as client:
                    await _setup(client, served, url)
                    circuit = {"provider": f"webhook@{url.split('/')[2]}", "kind": "webhook"}

                    async def deployed(version: str) -> int:
                        data = await _graphql(
                            client,
                            served,
                            'mutation($v: String!) { deploy(input: {service: "api", '
                            'environment: "prod", version: $v}) { errors { code } } }',
                            v=version,
                        )
                        assert data["deploy"]["errors"] == []
                        found: int = await database.fetchval(
                            "SELECT id FROM deployments WHERE version = $1", version
                        )
                        return found

                    async def state(deployment_id: int) -> tuple[str, str | None]:
                        row = await database.fetchrow(
                            "SELECT state, status_message FROM deployments WHERE id = $1",
                            deployment_id,
                        )
                        assert row is not None
                        return row["state"], row["status_message"]

                    async def finished(deployment_id: int) -> tuple[str, str | None]:
                        async def check() -> tuple[str, str | None] | None:
                            found = await state(deployment_id)
                            return found if found[0] != "QUEUED" else None

                        done: tuple[str, str | None] = await _eventually_async(check)
                        return done

                    # Two deployments reach the hanging provider and fail at their deadline.
                    for n in (1, 2):
                        done = await finished(await deployed(f"1.0.{n}"))
                        assert done == ("FAILED", "the provider did not answer within 0.5 s")
                        assert provider.received() == n
                    assert (
                        await _metric(client, served, "paved_provider_circuit_state", **circuit)
                        == 2
                    )
                    assert (
                        await _metric(
                            client, served, "paved_provider_circuit_openings_total", **circuit
                        )
                        == 1
                    )

                    # The next one is refused at once: QUEUED, and the provider never hears.
                    third = await deployed("1.0.3")

                    async def refused() -> bool:
                        return (
                            await _metric(
                                client,
                                served,
                                "paved_provider_calls_total",
                                kind="webhook",
                                operation="deploy.start",
                                outcome="circuit_open",
                            )
                            >= 1
                        )

                    await _eventually_async(refused)
                    assert await state(third) == ("QUEUED", None)
                    assert provider.received() == 2

                    # The provider answers again: after the reset delay the probe goes through.
                    provider.recover()

                    async def started() -> bool:
                        return (await state(third))[0] == "IN_PROGRESS"

                    await _eventually_async(started)
                    assert provider.received() == 3
                    assert (
                        await _metric(client, served, "paved_provider_circuit_state", **circuit)
                        == 0
                    )
                assert "Traceback" not in served.log()
        finally:
            await database.close()


async def _setup(client: httpx.AsyncClient, served: Served, url: str) -> None:
    await _graphql(
        client, served, 'mutation { createTeam(input: {slug: "t", name: "T"}) { errors { code } } }'
    )
    await _graphql(
        client,
        served,
        'mutation { createService(input: {slug: "api", name: "API", owner: "t"}) '
        "{ errors { code } } }",
    )
    data = await _graphql(
        client,
        served,
        'mutation($provider: ProviderInput!) { createEnvironment(input: {slug: "prod", '
        'name: "Prod", tier: OTHER, provider: $provider}) { errors { code message } } }',
        provider={"kind": "webhook", "settings": {"url": url, "secretEnv": SECRET_ENV}},
    )
    assert data["createEnvironment"]["errors"] == [], data
