"""A fake Argo CD API server on 127.0.0.1 in a thread (http.server), speaking the JSON shapes
of the v2 REST endpoints the argocd adapter uses, with a bearer token checked on every call.

It plays the API server and the application controller at once: a sync or rollback starts an
operation (`status.operationState`, phase Running) at once; `finish()` ends every running
operation as the controller would (versions matching `fail_versions` fail, terminated ones end
"Operation terminated"); tests may also drive phase, health and history by hand.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote

from tests.support.deployer_fakes.local_server import FakeServer, serving

_PATH = re.compile(r"^/api/v1/applications/(?P<name>[^/?]+)(?P<suffix>/[a-z]+)?$")


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: Any = None


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


def error_body(message: str, code: int) -> dict[str, Any]:
    """Argo CD's error answer (grpc-gateway)."""
    return {"error": message, "code": code, "message": message}


@dataclass
class FakeArgoCD:
    token: str
    fail_versions: str = r"-broken$"
    apps: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Received] = field(default_factory=list)
    script: deque[Reply] = field(default_factory=deque)
    """Replies used, one per request, before the usual answers."""
    port: int = 0
    clock: float = 1_750_000_000.0
    """Seconds of the controller's clock; every operation starts a second after the last."""
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add_app(
        self,
        name: str,
        *,
        mode: str = "helm",
        version: str = "0.9.0",
        image: str = "ghcr.io/acme/payments",
        automated: bool = False,
    ) -> dict[str, Any]:
        source: dict[str, Any] = {
            "repoURL": "https://git.example.com/acme/deploy.git",
            "path": f"apps/{name}",
            "targetRevision": "main",
        }
        if mode == "helm":
            source["helm"] = {
                "parameters": [
                    {"name": "replicaCount", "value": "2"},
                    {"name": "image.tag", "value": version},
                ]
            }
        else:
            source["kustomize"] = {"images": ["busybox:1.36", f"{image}:{version}"]}
        app: dict[str, Any] = {
            "metadata": {"name": name, "namespace": "argocd", "resourceVersion": "1"},
            "spec": {
                "project": "default",
                "source": source,
                "destination": {"server": "https://kubernetes.default.svc", "namespace": name},
                "syncPolicy": {"automated": {"prune": False}} if automated else {},
            },
            "status": {
                "sync": {"status": "Synced", "revision": "0" * 40},
                "health": {"status": "Healthy"},
                "history": [],
                "summary": {"images": [f"{image}:{version}"]},
            },
        }
        with self.lock:
            self.apps[name] = app
            self._record_history(app, copy.deepcopy(source))
        return app

    def finish(self) -> None:
        """End every running or terminating operation, as the controller would."""
        with self.lock:
            for app in self.apps.values():
                state = app["status"].get("operationState")
                if state is None or state["phase"] not in {"Running", "Terminating"}:
                    continue
                app.pop("operation", None)
                state["finishedAt"] = self._now()
                if state["phase"] == "Terminating":
                    state["phase"], state["message"] = "Failed", "Operation terminated"
                    continue
                source = state["operation"]["sync"].get("source") or app["spec"]["source"]
                version = _version_of(source)
                if version is not None and re.search(self.fail_versions, version):
                    state["phase"] = "Failed"
                    state["message"] = (
                        "one or more objects failed to apply, reason: Deployment.apps is "
                        f"invalid: image tag {version} was refused"
                    )
                    app["status"]["health"] = {"status": "Degraded", "message": "sync failed"}
                    continue
                state["phase"], state["message"] = (
                    "Succeeded",
                    "successfully synced (all tasks run)",
                )
                app["status"]["sync"]["status"] = "Synced"
                app["status"]["health"] = {"status": "Healthy"}
                self._record_history(app, copy.deepcopy(source), state["startedAt"])
                if version is not None:
                    image = app["status"]["summary"]["images"][0].rpartition(":")[0]
                    app["status"]["summary"]["images"] = [f"{image}:{version}"]

    def set_operation(self, name: str, phase: str, message: str = "") -> None:
        with self.lock:
            state = self.apps[name]["status"]["operationState"]
            state["phase"], state["message"] = phase, message

    def set_health(self, name: str, status: str, message: str | None = None) -> None:
        with self.lock:
            health: dict[str, Any] = {"status": status}
            if message is not None:
                health["message"] = message
            self.apps[name]["status"]["health"] = health

    def set_sync(self, name: str, status: str) -> None:
        with self.lock:
            self.apps[name]["status"]["sync"]["status"] = status

    def answer(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        with self.lock:
            self.requests.append(Received(method, path, headers, body))
            if self.script:
                return self.script.popleft()
            if headers.get("authorization") != f"Bearer {self.token}":
                return Reply(401, error_body("no session information", 16))
            match = _PATH.match(path)
            if match is None:
                return Reply(404, error_body("Not Found", 5))
            name, suffix = unquote(match["name"]), match["suffix"] or ""
            app = self.apps.get(name)
            if app is None:
                message = f'applications.argoproj.io "{name}" not found'
                return Reply(404, error_body(message, 5))
            handler = {
                ("GET", ""): self._get,
                ("PATCH", ""): self._patch,
                ("POST", "/sync"): self._sync,
                ("POST", "/rollback"): self._rollback,
                ("DELETE", "/operation"): self._terminate,
            }.get((method, suffix))
            if handler is None:
                return Reply(405, error_body("Method Not Allowed", 12))
            return handler(app, body if isinstance(body, dict) else {})

    def _get(self, app: dict[str, Any], body: dict[str, Any]) -> Reply:
        return Reply(200, app)

    def _patch(self, app: dict[str, Any], body: dict[str, Any]) -> Reply:
        if body.get("patchType") != "merge" or not isinstance(body.get("patch"), str):
            return Reply(400, error_body("unsupported patch type", 3))
        patch = json.loads(body["patch"])
        patched = _merge(app, patch)
        spec_changed = patched["spec"] != app["spec"]
        app.clear()
        app.update(patched)
        app["metadata"]["resourceVersion"] = str(int(app["metadata"]["resourceVersion"]) + 1)
        if spec_changed:
            app["status"]["sync"]["status"] = "OutOfSync"
        return Reply(200, app)

    def _sync(self, app: dict[str, Any], body: dict[str, Any]) -> Reply:
        if (busy := self._busy(app)) is not None:
            return busy
        operation = {
            "sync": {"revision": body.get("revision") or "HEAD", "prune": bool(body.get("prune"))},
            "info": body.get("infos") or [],
            "initiatedBy": {"username": "paved"},
        }
        return self._start(app, operation)

    def _rollback(self, app: dict[str, Any], body: dict[str, Any]) -> Reply:
        if app["spec"].get("syncPolicy", {}).get("automated") is not None:
            message = "rollback cannot be initiated when auto-sync is enabled"
            return Reply(400, error_body(message, 9))
        if (busy := self._busy(app)) is not None:
            return busy
        entry = next((h for h in app["status"]["history"] if h["id"] == body.get("id")), None)
        if entry is None:
            name = app["metadata"]["name"]
            message = f"application {name} does not have deployment with id {body.get('id')}"
            return Reply(400, error_body(message, 3))
        operation = {
            "sync": {
                "revision": entry["revision"],
                "prune": bool(body.get("prune")),
                "source": copy.deepcopy(entry["source"]),
            },
            "initiatedBy": {"username": "paved"},
        }
        return self._start(app, operation)

    def _terminate(self, app: dict[str, Any], body: dict[str, Any]) -> Reply:
        state = app["status"].get("operationState")
        if state is None or state["phase"] != "Running":
            message = "Unable to terminate operation. No operation is in progress"
            return Reply(400, error_body(message, 9))
        state["phase"] = "Terminating"
        return Reply(200, {})

    def _busy(self, app: dict[str, Any]) -> Reply | None:
        state = app["status"].get("operationState")
        if state is not None and state["phase"] in {"Running", "Terminating"}:
            return Reply(400, error_body("another operation is already in progress", 9))
        return None

    def _start(self, app: dict[str, Any], operation: dict[str, Any]) -> Reply:
        app["operation"] = operation
        app["status"]["operationState"] = {
            "operation": copy.deepcopy(operation),
            "phase": "Running",
            "message": "",
            "startedAt": self._tick(),
        }
        app["status"]["health"] = {"status": "Progressing"}
        return Reply(200, app)

    def _record_history(
        self, app: dict[str, Any], source: dict[str, Any], started_at: str | None = None
    ) -> None:
        history = app["status"]["history"]
        now = started_at or self._tick()
        history.append(
            {
                "id": len(history),
                "revision": f"{len(history):040x}",
                "deployStartedAt": now,
                "deployedAt": now,
                "source": source,
            }
        )

    def _tick(self) -> str:
        self.clock += 1
        return self._now()

    def _now(self) -> str:
        return datetime.fromtimestamp(self.clock, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _version_of(source: dict[str, Any]) -> str | None:
    for parameter in source.get("helm", {}).get("parameters", []):
        if parameter["name"] == "image.tag":
            return str(parameter["value"])
    images = source.get("kustomize", {}).get("images", [])
    return str(images[-1]).rpartition(":")[2] if images else None


def _merge(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = _merge(merged.get(key), value)
    return merged


class _Handler(BaseHTTPRequestHandler):
    server: FakeServer[FakeArgoCD]

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        reply = self.server.fake.answer(self.command, self.path, headers, raw)
        with self.server.fake.lock:
            content = json.dumps(reply.body).encode() if reply.body is not None else b""
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)
        except OSError:
            pass

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def running_argocd(token: str) -> Iterator[FakeArgoCD]:
    fake = FakeArgoCD(token)
    server = FakeServer(_Handler, fake)
    fake.port = server.port
    with serving(server):
        yield fake
