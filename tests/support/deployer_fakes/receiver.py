"""A webhook receiver on 127.0.0.1 in a thread (http.server): verifies signatures, records
requests, answers as scripted, and queues the progress reports a real receiver would send
through `reportDeploymentStatus`."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Protocol

from domain.deployments.model import DeploymentState, ProviderUpdate
from providers.deployers.signatures import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from tests.support.deployer_fakes.local_server import FakeServer, serving


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: Any = None
    """JSON to answer; None: the receiver's usual answer."""
    delay: float = 0.0


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_valid: bool

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    secret: str
    fail_versions: str = r"-broken$"
    requests: list[Received] = field(default_factory=list)
    script: deque[Reply] = field(default_factory=deque)
    """Replies used, one per request, before the usual answers."""
    reports: list[tuple[int, ProviderUpdate]] = field(default_factory=list)
    """Progress to report, oldest first, as (deployment id, update)."""
    port: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def take_reports(self) -> list[tuple[int, ProviderUpdate]]:
        with self.lock:
            reports, self.reports = self.reports, []
        return reports

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> Reply:
        valid = verify_signature(
            self.secret,
            headers.get(TIMESTAMP_HEADER.lower(), ""),
            body,
            headers.get(SIGNATURE_HEADER.lower(), ""),
            tolerance_seconds=300,
            now=time.time(),
        )
        with self.lock:
            self.requests.append(Received(path, headers, body, valid))
            scripted = self.script.popleft() if self.script else None
        if scripted is not None:
            return scripted
        if not valid:
            return Reply(401, {"message": "bad signature"})
        payload = json.loads(body)
        deployment_id = int(payload["deploymentId"])
        if path == "/cancel":
            return Reply(200, {"state": "CANCELED"})
        outcome = (
            DeploymentState.FAILED
            if re.search(self.fail_versions, payload["version"])
            else DeploymentState.SUCCEEDED
        )
        message = "receiver refused this version" if outcome is DeploymentState.FAILED else None
        with self.lock:
            self.reports.append((deployment_id, ProviderUpdate(outcome, outcome.value, message)))
        return Reply(202, {"id": f"rcv-{deployment_id}", "state": "IN_PROGRESS"})


class Answers(Protocol):
    def answer(self, path: str, headers: dict[str, str], body: bytes) -> Reply: ...


class JsonReplies(BaseHTTPRequestHandler):
    """Answers each POST with what the fake behind the server replies, as JSON."""

    server: FakeServer[Answers]

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        headers = {name.lower(): value for name, value in self.headers.items()}
        reply = self.server.fake.answer(self.path, headers, body)
        if reply.delay:
            time.sleep(reply.delay)
        content = json.dumps(reply.body).encode() if reply.body is not None else b""
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)
        except OSError:
            pass  # the client gave up waiting

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def running_receiver(secret: str) -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(secret)
    server = FakeServer(JsonReplies, receiver)
    receiver.port = server.port
    with serving(server):
        yield receiver
