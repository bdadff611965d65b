"""A resource webhook receiver on 127.0.0.1 in a thread (http.server), written as a platform
team would: it verifies each request's signature, does the work of an `Idempotency-Key` once
(a repeat is answered as the first was, and changes nothing), answers as scripted, and queues
the reports it would send through `reportResourceStatus`."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from domain.resources.model import ResourceState, ResourceUpdate, SecretRef
from providers.deployers.signatures import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from tests.support.deployer_fakes.local_server import FakeServer, serving
from tests.support.deployer_fakes.receiver import JsonReplies, Received, Reply

REFUSED = "the receiver does not offer this size"


@dataclass
class ResourceReceiver:
    secret: str
    fail_parameters: str = "broken"
    """Builds whose parameters (as JSON) match end FAILED with `REFUSED`."""
    requests: list[Received] = field(default_factory=list)
    script: deque[Reply] = field(default_factory=deque)
    """Replies used, one per request, before the usual answers."""
    done: dict[str, Reply] = field(default_factory=dict)
    """The answer to each Idempotency-Key whose work was done."""
    reports: list[tuple[int, ResourceUpdate]] = field(default_factory=list)
    """What it would report through `reportResourceStatus`, oldest first."""
    healthy: bool = True
    port: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def take_reports(self) -> list[tuple[int, ResourceUpdate]]:
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
            if payload["action"] == "status":
                return Reply(200, {"healthy": self.healthy, "message": "all good"})
            key = headers.get("idempotency-key", "")
            if key in self.done:
                return self.done[key]
            self.done[key] = reply = self._work(payload)
            return reply

    def _work(self, payload: dict[str, Any]) -> Reply:
        resource = payload["resource"]
        resource_id = int(resource["id"])
        if payload["action"] == "delete":
            self.reports.append((resource_id, ResourceUpdate(ResourceState.DELETED)))
            return Reply(202, {"state": "DELETING"})
        parameters = json.dumps(resource["parameters"], sort_keys=True, separators=(",", ":"))
        if re.search(self.fail_parameters, parameters):
            self.reports.append((resource_id, ResourceUpdate(ResourceState.FAILED, REFUSED)))
        else:
            host = f"{resource['name']}.{resource['service']}.{resource['environment']}.example"
            credentials = SecretRef(f"{resource['service']}-{resource['name']}", "vault", "dsn")
            ready = ResourceUpdate(ResourceState.READY, None, {"host": host}, (credentials,))
            self.reports.append((resource_id, ready))
        return Reply(202, {"state": "PROVISIONING", "message": "accepted"})

    @property
    def effects(self) -> int:
        """How many actions it carried out (repeats of a key not counted)."""
        with self.lock:
            return len(self.done)


@contextmanager
def running_resource_receiver(secret: str) -> Iterator[ResourceReceiver]:
    receiver = ResourceReceiver(secret)
    server = FakeServer(JsonReplies, receiver)
    receiver.port = server.port
    with serving(server):
        yield receiver
