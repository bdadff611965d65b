"""A fake Kubernetes API server on 127.0.0.1 in a thread (http.server), optionally over TLS:
checks the bearer token and serves GET and strategic-merge PATCH of `apps/v1` Deployments in
the real JSON shapes (zero-valued status fields left out, `metadata.generation` bumped by spec
changes, `Status` objects for errors). Tests play the deployment controller: `observe`,
`progress`, `finish`, `exceed_deadline`; `fail_next` scripts error answers."""

from __future__ import annotations

import copy
import datetime
import ipaddress
import json
import re
import ssl
import tempfile
import threading
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from tests.deployer_fakes.local_server import FakeServer, serving

_PATH = re.compile(r"^/apis/apps/v1/namespaces/([^/]+)/deployments/([^/?]+)$")
_UNSUPPORTED = (
    "the body of the request was in an unknown format - accepted media types include: "
    "application/json-patch+json, application/merge-patch+json, "
    "application/apply-patch+yaml, application/strategic-merge-patch+json"
)
_REASONS = {
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    415: "UnsupportedMediaType",
    422: "Invalid",
    500: "InternalError",
    503: "ServiceUnavailable",
}


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeKubernetesApi:
    token: str
    fail_images: str = r"-broken$"
    """`finish()` makes rollouts of matching images exceed their progress deadline."""
    deployments: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)
    script: deque[tuple[int, str, str | None]] = field(default_factory=deque)
    """Errors (status, message, method or None for any) answered, one per matching request,
    before anything else."""
    url: str = ""
    ca_file: str | None = None
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    # --- what tests do ----------------------------------------------------------------------

    def add_deployment(
        self,
        namespace: str,
        name: str,
        image: str,
        *,
        replicas: int = 3,
        containers: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """A Deployment fully rolled out at generation 1."""
        now = _now()
        deployment: dict[str, Any] = {
            "kind": "Deployment",
            "apiVersion": "apps/v1",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "uid": str(uuid.uuid4()),
                "resourceVersion": "1",
                "generation": 1,
                "creationTimestamp": now,
                "labels": {"app": name},
                "annotations": {"deployment.kubernetes.io/revision": "1"},
            },
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"creationTimestamp": None, "labels": {"app": name}},
                    "spec": {
                        "containers": containers
                        or [
                            {
                                "name": name,
                                "image": image,
                                "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                                "resources": {},
                                "terminationMessagePath": "/dev/termination-log",
                                "terminationMessagePolicy": "File",
                                "imagePullPolicy": "IfNotPresent",
                            }
                        ],
                        "restartPolicy": "Always",
                        "terminationGracePeriodSeconds": 30,
                        "dnsPolicy": "ClusterFirst",
                        "securityContext": {},
                        "schedulerName": "default-scheduler",
                    },
                },
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
                },
                "revisionHistoryLimit": 10,
                "progressDeadlineSeconds": 600,
            },
            "status": {},
        }
        with self.lock:
            self.deployments[(namespace, name)] = deployment
            self._complete(deployment)
            return copy.deepcopy(deployment)

    def deployment(self, namespace: str, name: str) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self.deployments[(namespace, name)])

    def fail_next(
        self, status: int, count: int = 1, message: str = "", *, method: str | None = None
    ) -> None:
        with self.lock:
            self.script.extend([(status, message or f"fake failure {status}", method)] * count)

    def observe(self, namespace: str, name: str) -> None:
        """The controller sees the newest generation and starts a new ReplicaSet."""
        with self.lock:
            deployment = self.deployments[(namespace, name)]
            status = deployment["status"]
            status["observedGeneration"] = deployment["metadata"]["generation"]
            status.pop("updatedReplicas", None)
            _set_condition(
                status,
                "Progressing",
                "True",
                "ReplicaSetUpdated",
                f'ReplicaSet "{name}-{_hash(deployment)}" is progressing.',
            )
            self._touch(deployment)

    def progress(
        self, namespace: str, name: str, *, updated: int, available: int, old: int | None = None
    ) -> None:
        """Part of the rollout done: `old` replicas (by default 1 until all are updated, else
        none) still running beside the updated ones."""
        with self.lock:
            deployment = self.deployments[(namespace, name)]
            wanted = deployment["spec"]["replicas"]
            if old is None:
                old = 1 if updated < wanted else 0
            _set_counts(
                deployment["status"],
                replicas=max(wanted, updated + old),
                updated=updated,
                ready=available,
                available=available,
            )
            self._touch(deployment)

    def exceed_deadline(self, namespace: str, name: str) -> None:
        with self.lock:
            deployment = self.deployments[(namespace, name)]
            deployment["status"]["observedGeneration"] = deployment["metadata"]["generation"]
            self._exceed(deployment)

    def finish(self) -> None:
        """Every Deployment reaches the end of its rollout: complete, or past its deadline
        when its image matches `fail_images`."""
        with self.lock:
            for deployment in self.deployments.values():
                status = deployment["status"]
                wanted = deployment["spec"]["replicas"]
                counts = [status.get(name, 0) for name in ("replicas", "updatedReplicas")]
                if status.get("observedGeneration") == deployment["metadata"]["generation"] and (
                    (counts == [wanted, wanted] and status.get("availableReplicas", 0) == wanted)
                    or _condition_reason(status) == "ProgressDeadlineExceeded"
                ):
                    continue
                images = [c["image"] for c in deployment["spec"]["template"]["spec"]["containers"]]
                if any(re.search(self.fail_images, image) for image in images):
                    status["observedGeneration"] = deployment["metadata"]["generation"]
                    self._exceed(deployment)
                else:
                    self._complete(deployment)

    # --- the controller's moves -------------------------------------------------------------

    def _complete(self, deployment: dict[str, Any]) -> None:
        status = deployment["status"]
        wanted = deployment["spec"]["replicas"]
        status["observedGeneration"] = deployment["metadata"]["generation"]
        _set_counts(status, replicas=wanted, updated=wanted, ready=wanted, available=wanted)
        _set_condition(
            status,
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
        )
        name = deployment["metadata"]["name"]
        _set_condition(
            status,
            "Progressing",
            "True",
            "NewReplicaSetAvailable",
            f'ReplicaSet "{name}-{_hash(deployment)}" has successfully progressed.',
        )
        self._touch(deployment)

    def _exceed(self, deployment: dict[str, Any]) -> None:
        status = deployment["status"]
        wanted = deployment["spec"]["replicas"]
        _set_counts(status, replicas=wanted + 1, updated=1, ready=wanted, available=wanted)
        name = deployment["metadata"]["name"]
        _set_condition(
            status,
            "Progressing",
            "False",
            "ProgressDeadlineExceeded",
            f'ReplicaSet "{name}-{_hash(deployment)}" has timed out progressing.',
        )
        self._touch(deployment)

    def _touch(self, deployment: dict[str, Any]) -> None:
        metadata = deployment["metadata"]
        metadata["resourceVersion"] = str(int(metadata["resourceVersion"]) + 1)

    # --- HTTP -------------------------------------------------------------------------------

    def answer(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, Any]:
        parsed: Any = None
        if body:
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
        with self.lock:
            self.requests.append(Seen(method, path, headers, parsed))
            if self.script and self.script[0][2] in {None, method}:
                status, message, _ = self.script.popleft()
                return status, _status(status, message)
            if headers.get("authorization") != f"Bearer {self.token}":
                return 401, _status(401, "Unauthorized")
            matched = _PATH.match(path)
            if matched is None:
                return 404, _status(404, "the server could not find the requested resource")
            namespace, name = matched.groups()
            deployment = self.deployments.get((namespace, name))
            if deployment is None:
                return 404, _status(404, f'deployments.apps "{name}" not found', name=name)
            if method == "GET":
                return 200, copy.deepcopy(deployment)
            content_type = headers.get("content-type", "")
            if content_type != "application/strategic-merge-patch+json":
                return 415, _status(415, _UNSUPPORTED)
            if not isinstance(parsed, dict):
                return 422, _status(422, "invalid patch")
            before = copy.deepcopy(deployment["spec"])
            patched = _strategic_merge(deployment, parsed)
            patched["status"] = deployment["status"]
            if patched["spec"] != before:
                patched["metadata"]["generation"] += 1
            self._touch(patched)
            self.deployments[(namespace, name)] = patched
            return 200, copy.deepcopy(patched)


def _strategic_merge(target: Any, patch: Any, key: str = "") -> Any:
    if isinstance(patch, dict) and isinstance(target, dict):
        merged = dict(target)
        for name, value in patch.items():
            if value is None:
                merged.pop(name, None)
            else:
                merged[name] = _strategic_merge(target.get(name), value, name)
        return merged
    if key == "containers" and isinstance(patch, list) and isinstance(target, list):
        merged_list = [dict(item) for item in target]
        for item in patch:
            for index, existing in enumerate(merged_list):
                if existing.get("name") == item.get("name"):
                    merged_list[index] = _strategic_merge(existing, item)
                    break
            else:
                merged_list.append(item)
        return merged_list
    return copy.deepcopy(patch)


def _status(code: int, message: str, *, name: str | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": _REASONS.get(code, "Unknown"),
        "code": code,
    }
    if name is not None:
        status["details"] = {"name": name, "group": "apps", "kind": "deployments"}
    return status


def _set_counts(
    status: dict[str, Any], *, replicas: int, updated: int, ready: int, available: int
) -> None:
    counts = {
        "replicas": replicas,
        "updatedReplicas": updated,
        "readyReplicas": ready,
        "availableReplicas": available,
        "unavailableReplicas": max(0, replicas - available),
    }
    for name, value in counts.items():
        if value:
            status[name] = value
        else:
            status.pop(name, None)  # the API server leaves out zeros


def _set_condition(
    status: dict[str, Any], kind: str, value: str, reason: str, message: str
) -> None:
    now = _now()
    conditions = [c for c in status.get("conditions", []) if c["type"] != kind]
    conditions.append(
        {
            "type": kind,
            "status": value,
            "lastUpdateTime": now,
            "lastTransitionTime": now,
            "reason": reason,
            "message": message,
        }
    )
    status["conditions"] = conditions


def _condition_reason(status: dict[str, Any]) -> str | None:
    for condition in status.get("conditions", []):
        if condition["type"] == "Progressing":
            return str(condition["reason"])
    return None


def _hash(deployment: dict[str, Any]) -> str:
    return f"{abs(hash(json.dumps(deployment['spec']['template'], sort_keys=True))) % 10**10:x}"


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Handler(BaseHTTPRequestHandler):
    server: FakeServer[FakeKubernetesApi]

    def do_GET(self) -> None:
        self._serve("GET")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        status, answer = self.server.fake.answer(method, self.path, headers, body)
        content = json.dumps(answer).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (and its key), which is also its own CA."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake-kube-apiserver")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "ca.crt", directory / "tls.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@contextmanager
def running_kubernetes_api(token: str, *, tls: bool = False) -> Iterator[FakeKubernetesApi]:
    api = FakeKubernetesApi(token)
    server = FakeServer(_Handler, api)
    with tempfile.TemporaryDirectory() as directory:
        scheme = "http"
        if tls:
            cert_file, key_file = _self_signed(Path(directory))
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert_file, key_file)
            server.socket = context.wrap_socket(server.socket, server_side=True)
            api.ca_file, scheme = str(cert_file), "https"
        api.url = f"{scheme}://127.0.0.1:{server.port}"
        with serving(server):
            yield api
