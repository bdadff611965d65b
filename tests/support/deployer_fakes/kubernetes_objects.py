"""The JSON of the fake Kubernetes API server (`kubernetes_api.py`): `Status` errors,
Deployment status fields, ReplicaSets as the deployment controller makes them, and the
patches and label selectors the API server understands."""

from __future__ import annotations

import copy
import datetime
import hashlib
import json
import re
import uuid
from typing import Any

REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
POD_TEMPLATE_HASH = "pod-template-hash"
CHANGE_CAUSE = "kubernetes.io/change-cause"

_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    415: "UnsupportedMediaType",
    422: "Invalid",
    500: "InternalError",
    503: "ServiceUnavailable",
}
_SAFE_ENCODING = "bcdfghjklmnpqrstvwxz2456789"
"""The alphabet of `pod-template-hash` values (k8s.io/apimachinery/pkg/util/rand)."""


class PatchError(ValueError):
    """A patch the API server refuses (422)."""


def status_object(code: int, message: str, *, name: str | None = None) -> dict[str, Any]:
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


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def set_counts(
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


def set_condition(status: dict[str, Any], kind: str, value: str, reason: str, message: str) -> None:
    at = now()
    conditions = [c for c in status.get("conditions", []) if c["type"] != kind]
    conditions.append(
        {
            "type": kind,
            "status": value,
            "lastUpdateTime": at,
            "lastTransitionTime": at,
            "reason": reason,
            "message": message,
        }
    )
    status["conditions"] = conditions


def condition_reason(status: dict[str, Any]) -> str | None:
    for condition in status.get("conditions", []):
        if condition["type"] == "Progressing":
            return str(condition["reason"])
    return None


# --- pod templates and ReplicaSets ----------------------------------------------------------


def without_nulls(value: Any) -> Any:
    """What the API server stores of a value: nulls are not kept (it decodes into typed
    structs), so `{"x": null}` and `{}` are the same spec."""
    if isinstance(value, dict):
        return {key: without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [without_nulls(item) for item in value]
    return value


def template_key(template: dict[str, Any]) -> str:
    """A pod template's identity, ignoring the controller's `pod-template-hash` label."""
    plain = without_nulls(copy.deepcopy(template))
    plain.get("metadata", {}).get("labels", {}).pop(POD_TEMPLATE_HASH, None)
    return json.dumps(plain, sort_keys=True)


def template_hash(template: dict[str, Any]) -> str:
    digest = hashlib.sha256(template_key(template).encode()).digest()
    return "".join(_SAFE_ENCODING[byte % len(_SAFE_ENCODING)] for byte in digest[:10])


def new_replica_set(deployment: dict[str, Any], revision: int) -> dict[str, Any]:
    """The ReplicaSet the controller makes for the Deployment's current template (the real
    shape; list items carry no `kind`/`apiVersion`)."""
    metadata = deployment["metadata"]
    name, namespace = metadata["name"], metadata["namespace"]
    pod_hash = template_hash(deployment["spec"]["template"])
    template = copy.deepcopy(deployment["spec"]["template"])
    template.setdefault("metadata", {}).setdefault("labels", {})[POD_TEMPLATE_HASH] = pod_hash
    annotations = {
        "deployment.kubernetes.io/desired-replicas": str(deployment["spec"]["replicas"]),
        "deployment.kubernetes.io/max-replicas": str(deployment["spec"]["replicas"] + 1),
        REVISION: str(revision),
    }
    cause = metadata.get("annotations", {}).get(CHANGE_CAUSE)
    if cause is not None:
        annotations[CHANGE_CAUSE] = cause
    selector = copy.deepcopy(deployment["spec"]["selector"])
    selector.setdefault("matchLabels", {})[POD_TEMPLATE_HASH] = pod_hash
    return {
        "metadata": {
            "name": f"{name}-{pod_hash}",
            "namespace": namespace,
            "uid": str(uuid.uuid4()),
            "resourceVersion": "1",
            "generation": 1,
            "creationTimestamp": now(),
            "labels": {**template["metadata"]["labels"]},
            "annotations": annotations,
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": name,
                    "uid": metadata["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {"replicas": 0, "selector": selector, "template": template},
        "status": {"replicas": 0, "observedGeneration": 1},
    }


def revision_of(replica_set: dict[str, Any]) -> int:
    return int(replica_set["metadata"]["annotations"].get(REVISION, "0"))


def scale_replica_set(replica_set: dict[str, Any], replicas: int) -> None:
    replica_set["spec"]["replicas"] = replicas
    status: dict[str, Any] = {"replicas": replicas, "observedGeneration": 1}
    if replicas:
        status.update(fullyLabeledReplicas=replicas, readyReplicas=replicas)
        status["availableReplicas"] = replicas
    replica_set["status"] = status


# --- label selectors ------------------------------------------------------------------------

_REQUIREMENT = re.compile(
    r"^\s*(?:(?P<exists>!?)(?P<bare>[A-Za-z0-9_./-]+)\s*$"
    r"|(?P<key>[A-Za-z0-9_./-]+)\s*(?P<op>==|=|!=|\s+in\s+|\s+notin\s+)\s*"
    r"(?P<value>\([^)]*\)|[A-Za-z0-9_.-]*)\s*$)"
)


def selector_matches(selector: str, labels: dict[str, str]) -> bool:
    """Whether `labels` match a `labelSelector` query; ValueError when it does not parse."""
    for requirement in _split_requirements(selector):
        matched = _REQUIREMENT.match(requirement)
        if matched is None:
            raise ValueError(f"unable to parse requirement: {requirement!r}")
        if matched["bare"] is not None:
            present = matched["bare"] in labels
            if present == bool(matched["exists"]):
                return False
            continue
        key, op, value = matched["key"], matched["op"].strip(), matched["value"]
        values = (
            {v.strip() for v in value.strip("()").split(",")} if op in {"in", "notin"} else {value}
        )
        has = labels.get(key)
        if op in {"=", "==", "in"} and has not in values:
            return False
        if op in {"!=", "notin"} and has in values:
            return False
    return True


def _split_requirements(selector: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in selector:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current)
    return parts


# --- patches --------------------------------------------------------------------------------


def strategic_merge(target: Any, patch: Any, key: str = "") -> Any:
    """A strategic merge patch, for the fields the tests touch (containers merge by name)."""
    if isinstance(patch, dict) and isinstance(target, dict):
        merged = dict(target)
        for name, value in patch.items():
            if value is None:
                merged.pop(name, None)
            else:
                merged[name] = strategic_merge(target.get(name), value, name)
        return merged
    if key == "containers" and isinstance(patch, list) and isinstance(target, list):
        merged_list = [dict(item) for item in target]
        for item in patch:
            for index, existing in enumerate(merged_list):
                if existing.get("name") == item.get("name"):
                    merged_list[index] = strategic_merge(existing, item)
                    break
            else:
                merged_list.append(item)
        return merged_list
    return copy.deepcopy(patch)


def json_patch(document: dict[str, Any], operations: list[Any]) -> dict[str, Any]:
    """RFC 6902 `add`, `replace`, `remove` and `test` on objects (and list indexes)."""
    patched = copy.deepcopy(document)
    for operation in operations:
        if not isinstance(operation, dict) or not isinstance(operation.get("path"), str):
            raise PatchError("invalid JSON patch operation")
        op, path = operation.get("op"), operation["path"]
        parent, last = _walk(patched, path)
        if op == "test":
            if _get(parent, last) != operation.get("value"):
                raise PatchError(f"testing value {path} failed")
        elif op in {"add", "replace"}:
            if "value" not in operation:
                raise PatchError(f"missing value for {op} {path}")
            value = copy.deepcopy(operation["value"])
            if op == "replace":
                _get(parent, last)
                if isinstance(parent, list):
                    parent[int(last)] = value
                    continue
            _put(parent, last, value)
        elif op == "remove":
            _get(parent, last)
            del parent[int(last) if isinstance(parent, list) else last]
        else:
            raise PatchError(f"unsupported JSON patch operation {op!r}")
    return patched


def _walk(document: Any, path: str) -> tuple[Any, str]:
    if not path.startswith("/"):
        raise PatchError(f"invalid path {path!r}")
    keys = [key.replace("~1", "/").replace("~0", "~") for key in path[1:].split("/")]
    node = document
    for key in keys[:-1]:
        node = _get(node, key)
    return node, keys[-1]


def _get(node: Any, key: str) -> Any:
    try:
        return node[int(key)] if isinstance(node, list) else node[key]
    except (KeyError, IndexError, ValueError, TypeError):
        raise PatchError(f"doc is missing path: {key}") from None


def _put(node: Any, key: str, value: Any) -> None:
    if isinstance(node, dict):
        node[key] = value
    elif isinstance(node, list):
        node.insert(len(node) if key == "-" else int(key), value)
    else:
        raise PatchError(f"doc is missing path: {key}")
