"""A provider for tests with several app processes: the state lives in an HTTP server in the
test's process (`CountingProvider`), the adapter that talks to it in each app process
(`CountingDeployer`), so the test counts every `start()` whichever process made it.

`start` answers IN_PROGRESS; `poll` answers IN_PROGRESS until the test calls `finish()`, then
SUCCEEDED; `cancel` answers CANCELED after `cancel_delay` seconds (a slow in-flight request).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx2 as httpx

from domain.deployments.model import (
    DeploymentState,
    DeployRequest,
    LiveStatus,
    ProviderCapability,
    ProviderUpdate,
)
from tests.support.deployer_fakes.local_server import FakeServer, serving

_PATH = re.compile(r"^/(?P<call>start|poll|cancel)/(?P<id>[0-9]+)$")


@dataclass
class CountingProvider:
    cancel_delay: float = 0.0
    port: int = 0
    calls: dict[str, Counter[int]] = field(
        default_factory=lambda: {"start": Counter(), "poll": Counter(), "cancel": Counter()}
    )
    finished: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def finish(self) -> None:
        """From now on every poll answers SUCCEEDED."""
        with self.lock:
            self.finished = True

    def counts(self, call: str) -> Counter[int]:
        with self.lock:
            return Counter(self.calls[call])

    def answer(self, call: str, deployment_id: int) -> dict[str, Any]:
        with self.lock:
            self.calls[call][deployment_id] += 1
            finished = self.finished
        if call == "cancel":
            time.sleep(self.cancel_delay)
            return {"state": "CANCELED"}
        if call == "poll" and finished:
            return {"state": "SUCCEEDED"}
        return {"state": "IN_PROGRESS", "id": f"counted-{deployment_id}"}


class _Handler(BaseHTTPRequestHandler):
    server: FakeServer[CountingProvider]

    def do_POST(self) -> None:
        match = _PATH.match(self.path)
        if match is None:
            self.send_error(404)
            return
        content = json.dumps(self.server.fake.answer(match["call"], int(match["id"]))).encode()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def running_counting_provider(cancel_delay: float = 0.0) -> Iterator[CountingProvider]:
    provider = CountingProvider(cancel_delay=cancel_delay)
    server = FakeServer(_Handler, provider)
    provider.port = server.port
    with serving(server):
        yield provider


class CountingDeployer:
    """The adapter of an app process: every call goes to the `CountingProvider` at `url`."""

    kind = "simulated"
    capabilities = frozenset({ProviderCapability.DEPLOY, ProviderCapability.CANCEL})

    def __init__(self, url: str) -> None:
        self._url = url

    async def start(self, request: DeployRequest) -> ProviderUpdate:
        return await self._call("start", request)

    async def poll(self, request: DeployRequest, external_id: str | None) -> ProviderUpdate:
        return await self._call("poll", request)

    async def cancel(self, request: DeployRequest, external_id: str | None) -> ProviderUpdate:
        return await self._call("cancel", request)

    async def live_status(
        self, service_slug: str, environment_slug: str, settings: Mapping[str, Any]
    ) -> LiveStatus | None:
        return None

    async def _call(self, call: str, request: DeployRequest) -> ProviderUpdate:
        async with httpx.AsyncClient(base_url=self._url, timeout=30) as client:
            response = await client.post(f"/{call}/{request.deployment_id}")
        response.raise_for_status()
        answer = response.json()
        return ProviderUpdate(
            DeploymentState(answer["state"]), answer["state"], None, answer.get("id")
        )


def counting_factory(url: str) -> Callable[..., CountingDeployer]:
    """A `DeployerFactory` that answers every provider kind with a `CountingDeployer`."""

    def build(kind: str, settings: Mapping[str, Any], **_: Any) -> CountingDeployer:
        return CountingDeployer(url)

    return build
