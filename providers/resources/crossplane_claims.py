"""Crossplane claims as the crossplane provider writes and reads them, pure: the claim's name,
the object it applies, and what a claim's conditions say about the resource.

A claim's `status.conditions` are Crossplane's (`type`, `status` "True"/"False"/"Unknown",
`reason`, `message`, `lastTransitionTime`, and in recent versions `observedGeneration`):
`Synced` says whether Crossplane could reconcile the claim's spec (`ReconcileSuccess`,
`ReconcileError`), `Ready` whether the composed resources are available (`Available`,
`Creating`, `Unavailable`, `Deleting`). A condition with an `observedGeneration` older than the
claim's `metadata.generation` speaks of an earlier spec and is not taken.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from domain.deployments.model import ProviderError
from domain.resources.model import ProvisionRequest, ResourceHealth, ResourceState, SecretRef
from providers.deployers.http_errors import short

SOURCE: Final = "crossplane"
MAX_NAME: Final = 63
SECRET_STORE: Final = "kubernetes"  # noqa: S105 (where secrets are, not one)
MANAGED_BY: Final = "app.kubernetes.io/managed-by"
RESOURCE_ID: Final = "paved.dev/resource-id"
SERVICE: Final = "paved.dev/service"
ENVIRONMENT: Final = "paved.dev/environment"
RESOURCE: Final = "paved.dev/resource"
_NOT_IN_A_NAME: Final = re.compile(r"[^a-z0-9-]+")
_NOT_IN_A_LABEL: Final = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class ClaimKind:
    """Which custom resource the claims are: `<group>/<version>`, `kind`, and its plural."""

    group: str
    version: str
    kind: str
    plural: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"


@dataclass(frozen=True, slots=True)
class Claim:
    """Where one resource's claim is, and the Secret its connection details go to."""

    namespace: str
    name: str

    @property
    def connection_secret(self) -> str:
        return f"{self.name}-conn"

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


def kubernetes_name(text: str) -> str:
    """`text` as a DNS label: lowercase, runs of other characters as one `-`, at most 63
    characters (a longer one is cut and ends with 8 hex digits of its SHA-256, so that two
    long names stay apart). `ProviderError` when nothing is left."""
    name = _NOT_IN_A_NAME.sub("-", text.lower()).strip("-")
    name = re.sub("-{2,}", "-", name)
    if len(name) > MAX_NAME:
        digest = hashlib.sha256(name.encode()).hexdigest()[:8]
        name = f"{name[: MAX_NAME - 9].rstrip('-')}-{digest}"
    if not name:
        raise ProviderError(f"{text[:60]!r} gives no Kubernetes name")
    return name


def label_value(text: str) -> str:
    """`text` as a label value: at most 63 of `A-Za-z0-9._-`, beginning and ending with a
    letter or digit (empty when none is left)."""
    value = _NOT_IN_A_LABEL.sub("-", text)[:MAX_NAME]
    return re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "", value)


def claim_object(
    kind: ClaimKind, claim: Claim, request: ProvisionRequest, composition: str | None
) -> dict[str, Any]:
    """The whole claim this provider owns, as server-side apply takes it: fields it no
    longer sends (a parameter removed) are removed from the claim."""
    spec: dict[str, Any] = {
        "parameters": dict(request.parameters),
        "writeConnectionSecretToRef": {"name": claim.connection_secret},
    }
    if composition is not None:
        spec["compositionRef"] = {"name": composition}
    return {
        "apiVersion": kind.api_version,
        "kind": kind.kind,
        "metadata": {
            "name": claim.name,
            "namespace": claim.namespace,
            "labels": {
                MANAGED_BY: "paved",
                RESOURCE_ID: str(request.resource_id),
                SERVICE: label_value(request.service_slug),
                ENVIRONMENT: label_value(request.environment_slug),
                RESOURCE: label_value(request.name),
            },
        },
        "spec": spec,
    }


def owner_of(found: Mapping[str, Any]) -> str | None:
    """The resource id a claim is labelled with (None: not made by this provider)."""
    labels = _mapping(_mapping(found.get("metadata")).get("labels"))
    owner = labels.get(RESOURCE_ID)
    return owner if isinstance(owner, str) and labels.get(MANAGED_BY) == "paved" else None


def uid(found: Mapping[str, Any]) -> str | None:
    value = _mapping(found.get("metadata")).get("uid")
    return value if isinstance(value, str) and value else None


def deleting(found: Mapping[str, Any]) -> bool:
    """Whether the claim's deletion was asked for (it waits for its finalizers)."""
    return bool(_mapping(found.get("metadata")).get("deletionTimestamp"))


def generation(found: Mapping[str, Any]) -> int:
    value = _mapping(found.get("metadata")).get("generation")
    return value if isinstance(value, int) and not isinstance(value, bool) else 1


def in_progress(found: Mapping[str, Any]) -> ResourceState:
    """UPDATING once the claim's spec changed after it was made (its generation moved on),
    else PROVISIONING."""
    return ResourceState.UPDATING if generation(found) > 1 else ResourceState.PROVISIONING


@dataclass(frozen=True, slots=True)
class Reading:
    """What a claim says: a state and the words for it."""

    state: ResourceState
    message: str | None


def reading(found: Mapping[str, Any], *, now: float, fail_after: float) -> Reading:
    """The state a claim is in. Being deleted: DELETING. `Synced` False: FAILED, with its
    reason and message, once it has been so for `fail_after` seconds (Crossplane retries, and
    some errors pass), and in progress before that. `Ready` True: READY. Else in progress,
    with the words of `Ready` (or of `Synced`)."""
    conditions = _conditions(found)
    ready, synced = conditions.get("Ready"), conditions.get("Synced")
    if deleting(found):
        return Reading(ResourceState.DELETING, _words(ready) or "the claim is being deleted")
    if synced is not None and synced.get("status") == "False":
        words = _words(synced) or "Synced is False"
        since = _timestamp(synced.get("lastTransitionTime"))
        if since is None or now - since >= fail_after:
            return Reading(ResourceState.FAILED, words)
        return Reading(in_progress(found), f"{words} (Crossplane retries)")
    if ready is not None and ready.get("status") == "True":
        return Reading(ResourceState.READY, _words(ready))
    message = _words(ready) or _words(synced) or "waiting for Crossplane to reconcile the claim"
    return Reading(in_progress(found), message)


def health(found: Mapping[str, Any] | None, claim: Claim, observed_at: datetime) -> ResourceHealth:
    """Healthy when `Ready` and `Synced` are both True (and it is not being deleted)."""
    if found is None:
        return ResourceHealth(False, observed_at, SOURCE, f"no claim {claim}")
    conditions = _conditions(found)
    ready, synced = conditions.get("Ready"), conditions.get("Synced")
    being_deleted = deleting(found)
    healthy = (
        not being_deleted
        and ready is not None
        and ready.get("status") == "True"
        and synced is not None
        and synced.get("status") == "True"
    )
    said = [
        f"{name}: {_words(condition) or condition.get('status')}"
        for name, condition in (("Ready", ready), ("Synced", synced))
        if condition is not None
    ]
    message = "; ".join(said) or "no conditions yet"
    if being_deleted:
        message = f"being deleted; {message}"
    return ResourceHealth(healthy, observed_at, SOURCE, short(message))


def outputs(
    found: Mapping[str, Any], claim: Claim, status_outputs: Mapping[str, str]
) -> dict[str, Any]:
    """The claim's place, and the `statusOutputs` the class names (output name -> dotted
    path under `status`) whose value is a string, number or boolean."""
    values: dict[str, Any] = {"claim": claim.name, "namespace": claim.namespace}
    status = _mapping(found.get("status"))
    for output, path in status_outputs.items():
        value: Any = status
        for part in path.split("."):
            value = _mapping(value).get(part)
        if isinstance(value, str):
            values[output] = short(value, 500)
        elif isinstance(value, bool | int | float):
            values[output] = value
    return values


def connection_refs(claim: Claim) -> tuple[SecretRef, ...]:
    """The Secret Crossplane writes the connection details to (every key of it)."""
    return (SecretRef(name=claim.connection_secret, store=SECRET_STORE, key=None),)


def _conditions(found: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The conditions by type, those of an earlier generation left out."""
    current = generation(found)
    listed = _mapping(found.get("status")).get("conditions")
    by_type: dict[str, Mapping[str, Any]] = {}
    for condition in listed if isinstance(listed, list) else []:
        if not isinstance(condition, Mapping) or not isinstance(condition.get("type"), str):
            continue
        observed = condition.get("observedGeneration")
        if isinstance(observed, int) and observed < current:
            continue
        by_type[condition["type"]] = condition
    return by_type


def _words(condition: Mapping[str, Any] | None) -> str | None:
    """`<reason>: <message>`, or either alone, on one bounded line."""
    if condition is None:
        return None
    parts = [
        text.strip()
        for text in (condition.get("reason"), condition.get("message"))
        if isinstance(text, str) and text.strip()
    ]
    return short(": ".join(parts)) if parts else None


def _timestamp(value: object) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
