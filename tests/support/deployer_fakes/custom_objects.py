"""Custom resources as the fake Kubernetes API server (`kubernetes_api.py`) serves them, and
Crossplane's claim controller as tests play it.

The API server's part, in its JSON shapes: objects of the custom resources added with
`add_custom_resource` under `/apis/<group>/<version>/namespaces/<ns>/<plural>[/<name>]`;
`metadata.uid`, `resourceVersion` (bumped by every change), `generation` (bumped by spec
changes) and `creationTimestamp`; POST (201, 409 `AlreadyExists`), GET, PATCH as a JSON merge
patch (`application/merge-patch+json`) or a server-side apply (`application/apply-patch+yaml`
with `fieldManager`: creates the object (201) or updates it, removing the fields the same
manager applied before and applies no more), DELETE (a `preconditions.uid` that does not match:
409 `Conflict`; an object with finalizers gets a `deletionTimestamp` and stays until they are
removed), and `Status` objects for errors.

Crossplane's part (`reconcile`, `mark_ready`, `mark_failed`, `finish_deletions`): the claim
controller's finalizer, `spec.resourceRef`, and the `Synced` and `Ready` conditions with the
reasons and messages Crossplane writes (with `observedGeneration`, as recent versions do).
"""

from __future__ import annotations

import copy
import datetime
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from tests.support.deployer_fakes.kubernetes_objects import now, status_object

CLAIM_FINALIZER = "finalizer.apiextensions.crossplane.io"
MERGE_PATCH = "application/merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
Answer = tuple[int, Any]
COMPOSE_ERROR = (
    'cannot compose resources: cannot apply composed resource "instance": '
    'RDSInstance.database.aws.upbound.io "payments-db-x7k2p" is invalid: '
    "spec.forProvider.instanceClass: Unsupported value"
)
"""A `Synced` False message as Crossplane words it."""


@dataclass(frozen=True)
class Resource:
    """A custom resource the server serves (its CRD)."""

    group: str
    version: str
    kind: str
    plural: str


def _status(code: int, reason: str, message: str, resource: Resource, name: str) -> Any:
    status = status_object(code, message)
    status["reason"] = reason
    status["details"] = {"name": name, "group": resource.group, "kind": resource.plural}
    return status


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge, `null` removes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    merged = dict(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = merge_patch(merged.get(name), value)
    return merged


def _leaves(value: Any, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """The paths of a value's fields that are not objects (lists count as one field)."""
    if not isinstance(value, dict) or not value:
        return {prefix} if prefix else set()
    return {path for key, item in value.items() for path in _leaves(item, (*prefix, key))}


def _remove(document: dict[str, Any], path: tuple[str, ...]) -> None:
    node: Any = document
    for key in path[:-1]:
        node = node.get(key) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node.pop(path[-1], None)


@dataclass
class CustomObjects:
    resources: dict[tuple[str, str], Resource] = field(default_factory=dict)
    """By group and plural."""
    objects: dict[tuple[str, str, str, str], dict[str, Any]] = field(default_factory=dict)
    """By group, plural, namespace and name."""
    applied: dict[tuple[str, str, str, str, str], Any] = field(default_factory=dict)
    """What each field manager applied last, by object and manager."""

    def resource(self, group: str, plural: str) -> Resource | None:
        return self.resources.get((group, plural))

    # --- the API server -------------------------------------------------------------------

    def answer(
        self,
        method: str,
        resource: Resource,
        namespace: str,
        name: str | None,
        query: dict[str, list[str]],
        content_type: str,
        body: Any,
    ) -> Answer:
        if name is None:
            if method == "POST":
                return self._create(resource, namespace, body)
            return 405, status_object(405, "the server does not allow this method")
        key = (resource.group, resource.plural, namespace, name)
        found = self.objects.get(key)
        if method == "PATCH" and content_type == APPLY_PATCH:
            return self._apply(resource, key, query, body)
        if found is None:
            message = f'{resource.plural}.{resource.group} "{name}" not found'
            return 404, _status(404, "NotFound", message, resource, name)
        if method == "GET":
            return 200, copy.deepcopy(found)
        if method == "PATCH":
            if content_type != MERGE_PATCH:
                return 415, status_object(415, f"unsupported patch type {content_type!r}")
            if not isinstance(body, dict):
                return 422, _status(422, "Invalid", "invalid merge patch", resource, name)
            return 200, self._change(found, merge_patch(found, body))
        if method == "DELETE":
            return self._delete(resource, key, found, body)
        return 405, status_object(405, "the server does not allow this method")

    def _create(self, resource: Resource, namespace: str, body: Any) -> Answer:
        problem = self._invalid(resource, body, None)
        if problem is not None:
            return problem
        name = body["metadata"]["name"]
        key = (resource.group, resource.plural, namespace, name)
        if key in self.objects:
            message = f'{resource.plural}.{resource.group} "{name}" already exists'
            return 409, _status(409, "AlreadyExists", message, resource, name)
        self.objects[key] = self._new(body, namespace)
        return 201, copy.deepcopy(self.objects[key])

    def _apply(
        self,
        resource: Resource,
        key: tuple[str, str, str, str],
        query: dict[str, list[str]],
        body: Any,
    ) -> Answer:
        manager = (query.get("fieldManager") or [""])[0]
        if not manager:
            message = (
                'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
                "is required for apply patch"
            )
            return 422, _status(422, "Invalid", message, resource, key[3])
        problem = self._invalid(resource, body, key[3])
        if problem is not None:
            return problem
        applied = copy.deepcopy(body)
        found = self.objects.get(key)
        self.applied[(*key, manager)], before = applied, self.applied.get((*key, manager))
        if found is None:
            self.objects[key] = self._new(applied, key[2])
            return 201, copy.deepcopy(self.objects[key])
        changed = copy.deepcopy(found)
        for path in _leaves(before) - _leaves(applied):
            if path[0] in {"metadata", "spec"}:
                _remove(changed, path)
        return 200, self._change(found, merge_patch(changed, applied))

    def _delete(
        self, resource: Resource, key: tuple[str, str, str, str], found: dict[str, Any], body: Any
    ) -> Answer:
        metadata = found["metadata"]
        wanted = ((body or {}).get("preconditions") or {}).get("uid")
        if wanted and wanted != metadata["uid"]:
            message = (
                f"Precondition failed: UID in precondition: {wanted}, UID in object meta: "
                f"{metadata['uid']}"
            )
            return 409, _status(409, "Conflict", message, resource, key[3])
        if metadata.get("finalizers"):
            if "deletionTimestamp" not in metadata:
                metadata["deletionTimestamp"] = now()
                metadata["deletionGracePeriodSeconds"] = 0
                metadata["generation"] += 1  # as the API server does when deletion starts
                self._touch(found)
            return 200, copy.deepcopy(found)
        del self.objects[key]
        success = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": {
                "name": key[3],
                "group": resource.group,
                "kind": resource.plural,
                "uid": metadata["uid"],
            },
        }
        return 200, success

    def _invalid(self, resource: Resource, body: Any, name: str | None) -> Answer | None:
        wanted = f"{resource.group}/{resource.version}"
        if not isinstance(body, dict) or not isinstance(body.get("metadata"), dict):
            return 400, status_object(400, "the body of the request is not an object")
        if (body.get("apiVersion"), body.get("kind")) != (wanted, resource.kind):
            message = f"the API version in the data ({body.get('apiVersion')}) does not match"
            return 400, status_object(400, message)
        given = body["metadata"].get("name")
        if not isinstance(given, str) or (name is not None and given != name):
            return 400, status_object(400, "the name of the object does not match the URL")
        return None

    def _new(self, body: dict[str, Any], namespace: str) -> dict[str, Any]:
        created = copy.deepcopy(body)
        metadata = created["metadata"]
        metadata.update(
            namespace=namespace,
            uid=str(uuid.uuid4()),
            resourceVersion="1",
            generation=1,
            creationTimestamp=now(),
        )
        created.setdefault("spec", {})
        return created

    def _change(self, found: dict[str, Any], changed: dict[str, Any]) -> dict[str, Any]:
        """`found` becomes `changed` (its identity and status kept), in place."""
        for kept in ("uid", "creationTimestamp", "resourceVersion", "generation", "namespace"):
            changed["metadata"][kept] = found["metadata"][kept]
        if "status" in found:
            changed["status"] = found["status"]
        if changed.get("spec") != found.get("spec"):
            changed["metadata"]["generation"] += 1
        if changed != found:
            self._touch(changed)
        found.clear()
        found.update(changed)
        return copy.deepcopy(found)

    def _touch(self, found: dict[str, Any]) -> None:
        metadata = found["metadata"]
        metadata["resourceVersion"] = str(int(metadata["resourceVersion"]) + 1)

    # --- Crossplane's claim controller ----------------------------------------------------

    def reconcile(self, key: tuple[str, str, str, str]) -> None:
        """The controller took the claim up: its finalizer, its composite, Synced, and Ready
        False while the composed resources are created."""
        claim = self.objects[key]
        metadata = claim["metadata"]
        if CLAIM_FINALIZER not in metadata.setdefault("finalizers", []):
            metadata["finalizers"].append(CLAIM_FINALIZER)
        claim["spec"].setdefault(
            "resourceRef",
            {
                "apiVersion": claim["apiVersion"].replace(".", ".x", 1),
                "kind": f"X{claim['kind']}",
                "name": f"{metadata['name']}-{uuid.uuid4().hex[:5]}",
            },
        )
        self.set_condition(claim, "Synced", "True", "ReconcileSuccess")
        self.set_condition(claim, "Ready", "False", "Creating", "Unready resources: instance")
        self._touch(claim)

    def mark_ready(self, key: tuple[str, str, str, str], **status: Any) -> None:
        """The composed resources are available and the connection Secret is written;
        `status`: fields the composition publishes (`address=...`)."""
        claim = self.objects[key]
        if "resourceRef" not in claim["spec"]:
            self.reconcile(key)
        self.set_condition(claim, "Synced", "True", "ReconcileSuccess")
        self.set_condition(claim, "Ready", "True", "Available")
        claim["status"]["connectionDetails"] = {"lastPublishedTime": now()}
        claim["status"].update(status)
        self._touch(claim)

    def mark_failed(
        self, key: tuple[str, str, str, str], message: str, *, for_seconds: float = 0
    ) -> None:
        """Crossplane cannot reconcile the claim, since `for_seconds` ago."""
        claim = self.objects[key]
        since = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=for_seconds)
        at = since.strftime("%Y-%m-%dT%H:%M:%SZ")
        self.set_condition(claim, "Synced", "False", "ReconcileError", message, at=at)
        self._touch(claim)

    def finish_deletions(self) -> None:
        """The controller deleted what each claim being deleted composed, and let it go."""
        for key, claim in list(self.objects.items()):
            if "deletionTimestamp" in claim["metadata"]:
                del self.objects[key]

    def finish(self, fail_parameters: str) -> None:
        """Every claim reaches its end: READY, or FAILED (for long) when its parameters (as
        canonical JSON) match `fail_parameters`; claims being deleted are gone."""
        self.finish_deletions()
        for key, claim in self.objects.items():
            parameters = json.dumps(
                claim["spec"].get("parameters"), sort_keys=True, separators=(",", ":")
            )
            if re.search(fail_parameters, parameters):
                self.reconcile(key)
                self.mark_failed(key, COMPOSE_ERROR, for_seconds=3600)
            else:
                self.mark_ready(key)

    def set_condition(
        self,
        claim: dict[str, Any],
        kind: str,
        value: str,
        reason: str,
        message: str | None = None,
        *,
        at: str | None = None,
    ) -> None:
        """A condition as Crossplane writes it: its transition time moves only when its
        status does."""
        status = claim.setdefault("status", {})
        conditions = status.setdefault("conditions", [])
        old = next((c for c in conditions if c["type"] == kind), None)
        transition = at or (old["lastTransitionTime"] if old and old["status"] == value else now())
        condition: dict[str, Any] = {
            "type": kind,
            "status": value,
            "lastTransitionTime": transition,
            "reason": reason,
            "observedGeneration": claim["metadata"]["generation"],
        }
        if message:
            condition["message"] = message
        status["conditions"] = [c for c in conditions if c["type"] != kind] + [condition]
