"""A fake Kubernetes API server on 127.0.0.1 in a thread (http.server), optionally over TLS:
checks the bearer token and serves, in the real JSON shapes (zero-valued status fields left
out, `metadata.generation` bumped by spec changes, `Status` objects for errors):

- GET of an `apps/v1` Deployment, and its PATCH as a strategic merge patch or a JSON patch;
- GET of the `apps/v1` ReplicaSets of a namespace (`ReplicaSetList`), with `labelSelector`;
- custom resources added with `add_custom_resource` (POST, GET, PATCH as a merge patch or a
  server-side apply, DELETE), and Crossplane's claim controller played by `reconcile`,
  `mark_ready`, `mark_failed`, `finish_deletions` and `finish_claims`
  (`custom_objects.py`).

Over TLS it can also take client certificates (`client_certificates=True`), as the API server
does: a request whose certificate the client CA signed is that certificate's user (its common
name) without any token.

It plays the deployment controller's bookkeeping at once: every new pod template gets its
ReplicaSet (owned by the Deployment, named `<deployment>-<pod-template-hash>`, annotated with the
next `deployment.kubernetes.io/revision`), a template equal to an older ReplicaSet's brings that
one back as the newest revision, and ReplicaSets beyond `revisionHistoryLimit` are pruned. Tests
play the rest of the controller: `observe`, `progress`, `finish`, `exceed_deadline`;
`fail_next` scripts error answers, `delay_next` slow ones."""

from __future__ import annotations

import copy
import datetime
import ipaddress
import json
import re
import ssl
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.deployer_fakes.custom_objects import CustomObjects, Resource
from tests.support.deployer_fakes.kubernetes_objects import (
    REVISION,
    REVISION_HISTORY,
    PatchError,
    condition_reason,
    json_patch,
    new_replica_set,
    now,
    revision_of,
    scale_replica_set,
    selector_matches,
    set_condition,
    set_counts,
    status_object,
    strategic_merge,
    template_hash,
    template_key,
    without_nulls,
)
from tests.support.deployer_fakes.local_server import FakeServer, serving

_DEPLOYMENT = re.compile(r"^/apis/apps/v1/namespaces/([^/]+)/deployments/([^/]+)$")
_REPLICA_SETS = re.compile(r"^/apis/apps/v1/namespaces/([^/]+)/replicasets$")
_CUSTOM = re.compile(r"^/apis/([^/]+)/([^/]+)/namespaces/([^/]+)/([^/]+)(?:/([^/]+))?$")
_PATCH_TYPES = ("application/strategic-merge-patch+json", "application/json-patch+json")
_UNSUPPORTED = (
    "the body of the request was in an unknown format - accepted media types include: "
    "application/json-patch+json, application/merge-patch+json, "
    "application/apply-patch+yaml, application/strategic-merge-patch+json"
)


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    user: str | None = None
    """The common name of the client certificate the request came with, if any."""


@dataclass
class FakeKubernetesApi:
    token: str
    fail_images: str = r"-broken$"
    """`finish()` makes rollouts of matching images exceed their progress deadline."""
    deployments: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    replica_sets: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    """By namespace and name."""
    requests: list[Seen] = field(default_factory=list)
    script: deque[tuple[int, str, str | None]] = field(default_factory=deque)
    """Errors (status, message, method or None for any) answered, one per matching request,
    before anything else."""
    custom: CustomObjects = field(default_factory=CustomObjects)
    """Custom resources and their objects (Crossplane claims)."""
    delays: deque[float] = field(default_factory=deque)
    """Seconds to wait before answering, one per request, before anything else."""
    url: str = ""
    ca_file: str | None = None
    client_cert_file: str | None = None
    client_key_file: str | None = None
    """A client certificate (and its key) the server accepts, with `client_certificates`."""
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
        revision_history_limit: int = 10,
    ) -> dict[str, Any]:
        """A Deployment fully rolled out at generation 1, with its first ReplicaSet."""
        created = now()
        deployment: dict[str, Any] = {
            "kind": "Deployment",
            "apiVersion": "apps/v1",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "uid": str(uuid.uuid4()),
                "resourceVersion": "1",
                "generation": 1,
                "creationTimestamp": created,
                "labels": {"app": name},
                "annotations": {},
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
                "revisionHistoryLimit": revision_history_limit,
                "progressDeadlineSeconds": 600,
            },
            "status": {},
        }
        with self.lock:
            self.deployments[(namespace, name)] = deployment
            self._roll_replica_set(deployment)
            self._complete(deployment)
            return copy.deepcopy(deployment)

    def patch_by_hand(self, namespace: str, name: str, patch: dict[str, Any]) -> None:
        """Someone else's strategic merge patch (`kubectl patch`), rolled out at once."""
        with self.lock:
            deployment = self.deployments[(namespace, name)]
            content_type = "application/strategic-merge-patch+json"
            status, answer = self._patch(deployment, content_type, patch)
            assert status == 200, answer
            self._complete(self.deployments[(namespace, name)])

    def owned_replica_sets(self, namespace: str, name: str) -> list[dict[str, Any]]:
        """The Deployment's ReplicaSets, oldest revision first."""
        with self.lock:
            uid = self.deployments[(namespace, name)]["metadata"]["uid"]
            owned = [
                copy.deepcopy(replica_set)
                for (space, _), replica_set in self.replica_sets.items()
                if space == namespace
                and replica_set["metadata"]["ownerReferences"][0]["uid"] == uid
            ]
        return sorted(owned, key=revision_of)

    def deployment(self, namespace: str, name: str) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self.deployments[(namespace, name)])

    def fail_next(
        self, status: int, count: int = 1, message: str = "", *, method: str | None = None
    ) -> None:
        with self.lock:
            self.script.extend([(status, message or f"fake failure {status}", method)] * count)

    def delay_next(self, seconds: float, count: int = 1) -> None:
        with self.lock:
            self.delays.extend([seconds] * count)

    def take_delay(self) -> float:
        with self.lock:
            return self.delays.popleft() if self.delays else 0.0

    # --- custom resources and Crossplane's claim controller ---------------------------------

    def add_custom_resource(self, api_version: str, kind: str, plural: str | None = None) -> None:
        """Serve a custom resource, as installing its CRD does."""
        group, version = api_version.split("/")
        resource = Resource(group, version, kind, plural or f"{kind.lower()}s")
        with self.lock:
            self.custom.resources[(group, resource.plural)] = resource

    def claims(self) -> list[dict[str, Any]]:
        """Every custom object, by group, plural, namespace and name."""
        with self.lock:
            return [copy.deepcopy(found) for _, found in sorted(self.custom.objects.items())]

    def claim(self, namespace: str, name: str) -> dict[str, Any] | None:
        with self.lock:
            key = self._claim_key(namespace, name)
            return copy.deepcopy(self.custom.objects[key]) if key else None

    def reconcile(self, namespace: str, name: str) -> None:
        with self.lock:
            self.custom.reconcile(self._existing_claim(namespace, name))

    def mark_ready(self, namespace: str, name: str, **status: Any) -> None:
        with self.lock:
            self.custom.mark_ready(self._existing_claim(namespace, name), **status)

    def mark_failed(
        self, namespace: str, name: str, message: str, *, for_seconds: float = 0
    ) -> None:
        with self.lock:
            key = self._existing_claim(namespace, name)
            self.custom.mark_failed(key, message, for_seconds=for_seconds)

    def finish_deletions(self) -> None:
        with self.lock:
            self.custom.finish_deletions()

    def finish_claims(self, fail_parameters: str = "broken") -> None:
        with self.lock:
            self.custom.finish(fail_parameters)

    def _claim_key(self, namespace: str, name: str) -> tuple[str, str, str, str] | None:
        found = [key for key in self.custom.objects if key[2:] == (namespace, name)]
        return found[0] if found else None

    def _existing_claim(self, namespace: str, name: str) -> tuple[str, str, str, str]:
        key = self._claim_key(namespace, name)
        assert key is not None, f"no custom object {namespace}/{name}"
        return key

    def observe(self, namespace: str, name: str) -> None:
        """The controller sees the newest generation and starts a new ReplicaSet."""
        with self.lock:
            deployment = self.deployments[(namespace, name)]
            status = deployment["status"]
            status["observedGeneration"] = deployment["metadata"]["generation"]
            status.pop("updatedReplicas", None)
            set_condition(
                status,
                "Progressing",
                "True",
                "ReplicaSetUpdated",
                f'ReplicaSet "{name}-{template_hash(deployment["spec"]["template"])}" is progressing.',
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
            set_counts(
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
                    or condition_reason(status) == "ProgressDeadlineExceeded"
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
        set_counts(status, replicas=wanted, updated=wanted, ready=wanted, available=wanted)
        set_condition(
            status,
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
        )
        name = deployment["metadata"]["name"]
        set_condition(
            status,
            "Progressing",
            "True",
            "NewReplicaSetAvailable",
            f'ReplicaSet "{name}-{template_hash(deployment["spec"]["template"])}" has successfully progressed.',
        )
        self._scale_replica_sets(deployment)
        self._touch(deployment)

    def _exceed(self, deployment: dict[str, Any]) -> None:
        status = deployment["status"]
        wanted = deployment["spec"]["replicas"]
        set_counts(status, replicas=wanted + 1, updated=1, ready=wanted, available=wanted)
        name = deployment["metadata"]["name"]
        set_condition(
            status,
            "Progressing",
            "False",
            "ProgressDeadlineExceeded",
            f'ReplicaSet "{name}-{template_hash(deployment["spec"]["template"])}" has timed out progressing.',
        )
        self._touch(deployment)

    def _roll_replica_set(self, deployment: dict[str, Any]) -> None:
        """The controller's answer to a new pod template: the ReplicaSet of an equal older
        template becomes the newest revision, else a new ReplicaSet is made; then old ones
        beyond `revisionHistoryLimit` go."""
        metadata = deployment["metadata"]
        namespace, uid = metadata["namespace"], metadata["uid"]
        owned = [
            replica_set
            for (space, _), replica_set in self.replica_sets.items()
            if space == namespace and replica_set["metadata"]["ownerReferences"][0]["uid"] == uid
        ]
        newest = max((revision_of(replica_set) for replica_set in owned), default=0)
        key = template_key(deployment["spec"]["template"])
        current = next((rs for rs in owned if template_key(rs["spec"]["template"]) == key), None)
        if current is None:
            current = new_replica_set(deployment, newest + 1)
            self.replica_sets[(namespace, current["metadata"]["name"])] = current
        elif revision_of(current) != newest:
            annotations = current["metadata"]["annotations"]
            history = [h for h in annotations.get(REVISION_HISTORY, "").split(",") if h]
            annotations[REVISION_HISTORY] = ",".join([*history, annotations[REVISION]])
            annotations[REVISION] = str(newest + 1)
            self._touch(current)
        metadata.setdefault("annotations", {})[REVISION] = current["metadata"]["annotations"][
            REVISION
        ]
        old = sorted((rs for rs in owned if rs is not current), key=revision_of)
        limit = deployment["spec"].get("revisionHistoryLimit", 10)
        for replica_set in old[: max(0, len(old) - limit)]:
            del self.replica_sets[(namespace, replica_set["metadata"]["name"])]

    def _scale_replica_sets(self, deployment: dict[str, Any]) -> None:
        """All replicas on the current template's ReplicaSet, none on the others."""
        metadata = deployment["metadata"]
        current = f"{metadata['name']}-{template_hash(deployment['spec']['template'])}"
        for (namespace, name), replica_set in self.replica_sets.items():
            owner = replica_set["metadata"]["ownerReferences"][0]["uid"]
            if namespace == metadata["namespace"] and owner == metadata["uid"]:
                wanted = deployment["spec"]["replicas"] if name == current else 0
                scale_replica_set(replica_set, wanted)

    def _touch(self, deployment: dict[str, Any]) -> None:
        metadata = deployment["metadata"]
        metadata["resourceVersion"] = str(int(metadata["resourceVersion"]) + 1)

    # --- HTTP -------------------------------------------------------------------------------

    def answer(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes,
        user: str | None = None,
    ) -> tuple[int, Any]:
        """`user`: the client certificate's, verified by the TLS handshake."""
        parsed: Any = None
        if body:
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
        with self.lock:
            self.requests.append(Seen(method, path, headers, parsed, user))
            if self.script and self.script[0][2] in {None, method}:
                status, message, _ = self.script.popleft()
                return status, status_object(status, message)
            if user is None and headers.get("authorization") != f"Bearer {self.token}":
                return 401, status_object(401, "Unauthorized")
            url = urlsplit(path)
            listing = _REPLICA_SETS.match(url.path)
            if listing is not None and method == "GET":
                return self._list_replica_sets(listing[1], parse_qs(url.query))
            matched = _DEPLOYMENT.match(url.path)
            custom = _CUSTOM.match(url.path) if matched is None else None
            resource = self.custom.resource(custom[1], custom[4]) if custom else None
            if custom is not None and resource is not None and resource.version == custom[2]:
                return self.custom.answer(
                    method,
                    resource,
                    custom[3],
                    custom[5],
                    parse_qs(url.query),
                    headers.get("content-type", ""),
                    parsed,
                )
            if matched is None:
                return 404, status_object(404, "the server could not find the requested resource")
            namespace, name = matched.groups()
            deployment = self.deployments.get((namespace, name))
            if deployment is None:
                message = f'deployments.apps "{name}" not found'
                return 404, status_object(404, message, name=name)
            if method == "GET":
                return 200, copy.deepcopy(deployment)
            if method != "PATCH":
                return 405, status_object(405, "the server does not allow this method")
            return self._patch(deployment, headers.get("content-type", ""), parsed)

    def _list_replica_sets(self, namespace: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        selector = (query.get("labelSelector") or [""])[0]
        try:
            items = [
                copy.deepcopy(replica_set)
                for (space, _), replica_set in sorted(self.replica_sets.items())
                if space == namespace
                and selector_matches(selector, replica_set["metadata"].get("labels", {}))
            ]
        except ValueError as error:
            return 400, status_object(400, f"unable to parse requirement: {error}")
        listing = {
            "kind": "ReplicaSetList",
            "apiVersion": "apps/v1",
            "metadata": {"resourceVersion": str(len(self.requests))},
            "items": items,
        }
        return 200, listing

    def _patch(self, deployment: dict[str, Any], content_type: str, patch: Any) -> tuple[int, Any]:
        if content_type not in _PATCH_TYPES:
            return 415, status_object(415, _UNSUPPORTED)
        try:
            if content_type == "application/json-patch+json":
                if not isinstance(patch, list):
                    raise PatchError("a JSON patch is a list of operations")
                patched = json_patch(deployment, patch)
            elif isinstance(patch, dict):
                patched = strategic_merge(deployment, patch)
            else:
                raise PatchError("invalid patch")
        except PatchError as error:
            return 422, status_object(422, str(error))
        patched["status"] = deployment["status"]
        template_metadata = patched["spec"]["template"].setdefault("metadata", {})
        template_metadata["creationTimestamp"] = None  # how the API server writes it
        template_changed = template_key(patched["spec"]["template"]) != template_key(
            deployment["spec"]["template"]
        )
        if without_nulls(patched["spec"]) != without_nulls(deployment["spec"]):
            patched["metadata"]["generation"] += 1
        self._touch(patched)
        metadata = patched["metadata"]
        self.deployments[(metadata["namespace"], metadata["name"])] = patched
        if template_changed:
            self._roll_replica_set(patched)
        return 200, copy.deepcopy(patched)


class _Handler(BaseHTTPRequestHandler):
    server: FakeServer[FakeKubernetesApi]

    def do_GET(self) -> None:
        self._serve("GET")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        delay = self.server.fake.take_delay()
        if delay:
            time.sleep(delay)
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        status, answer = self.server.fake.answer(
            method, self.path, headers, body, _certificate_user(self.connection)
        )
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


def _certificate_user(connection: object) -> str | None:
    """The common name of the client's certificate, which the handshake verified."""
    if not isinstance(connection, ssl.SSLSocket):
        return None
    subject: Any = (connection.getpeercert() or {}).get("subject", ())
    names = dict(attribute for attributes in subject for attribute in attributes)
    user = names.get("commonName")
    return user if isinstance(user, str) else None


def _client_certificate(directory: Path) -> tuple[Path, Path, Path]:
    """A client CA, and a client certificate it signed (with its key) for the user
    `paved-deployer`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake-kube-client-ca")])
    user = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "paved"),
            x509.NameAttribute(NameOID.COMMON_NAME, "paved-deployer"),
        ]
    )

    def signed(subject: x509.Name, public_key: Any, *, ca: bool) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_name)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if ca:
            usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
            builder = builder.add_extension(usage, critical=True)
        else:
            client_auth = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH])
            builder = builder.add_extension(client_auth, critical=False)
        return builder.sign(ca_key, hashes.SHA256())

    files = directory / "client-ca.crt", directory / "client.crt", directory / "client.key"
    files[0].write_bytes(
        signed(ca_name, ca_key.public_key(), ca=True).public_bytes(serialization.Encoding.PEM)
    )
    files[1].write_bytes(
        signed(user, key.public_key(), ca=False).public_bytes(serialization.Encoding.PEM)
    )
    files[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


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
def running_kubernetes_api(
    token: str, *, tls: bool = False, client_certificates: bool = False
) -> Iterator[FakeKubernetesApi]:
    """`client_certificates` (over TLS only): client certificates are taken too."""
    api = FakeKubernetesApi(token)
    server = FakeServer(_Handler, api)
    with tempfile.TemporaryDirectory() as directory:
        scheme = "http"
        if tls:
            cert_file, key_file = _self_signed(Path(directory))
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert_file, key_file)
            if client_certificates:
                client_ca, client_cert, client_key = _client_certificate(Path(directory))
                context.verify_mode = ssl.CERT_OPTIONAL
                context.load_verify_locations(client_ca)
                api.client_cert_file, api.client_key_file = str(client_cert), str(client_key)
            server.socket = context.wrap_socket(server.socket, server_side=True)
            api.ca_file, scheme = str(cert_file), "https"
        api.url = f"{scheme}://127.0.0.1:{server.port}"
        with serving(server):
            yield api
