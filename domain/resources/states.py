"""The resource state machine, pure: which state may follow which, and who may move it.

    REQUESTED --> PROVISIONING --> READY --> UPDATING --> READY
        |              |             |           |
        |              \\--> FAILED <-----------/
        |                     |   \\--> UPDATING  (asked again with new parameters)
        \\-------------------------> DELETING --> DELETED
    WAITING_APPROVAL --> REQUESTED   (approvals reached what the class and environment ask)
    WAITING_APPROVAL --> FAILED      (rejected)
    REQUESTED / WAITING_APPROVAL --> DELETED   (withdrawn before anything was built)

A resource starts REQUESTED, or WAITING_APPROVAL when its class or environment asks for
approvals. Only the platform leaves WAITING_APPROVAL (`SYSTEM_ONLY`): the approvals decide, so
nothing skips them. DELETED is final; a FAILED resource may be asked again (updated) or
deleted. Any state but DELETED may be deleted (DELETING, or DELETED at once when nothing
was built yet).
"""

from __future__ import annotations

from domain.errors import PreconditionFailed
from domain.resources.model import ResourceState

S = ResourceState

TRANSITIONS: dict[ResourceState, frozenset[ResourceState]] = {
    S.REQUESTED: frozenset({S.PROVISIONING, S.READY, S.FAILED, S.DELETED}),
    S.WAITING_APPROVAL: frozenset({S.REQUESTED, S.FAILED, S.DELETED}),
    S.PROVISIONING: frozenset({S.READY, S.FAILED, S.DELETING}),
    S.READY: frozenset({S.UPDATING, S.DELETING}),
    S.UPDATING: frozenset({S.READY, S.FAILED, S.DELETING}),
    S.FAILED: frozenset({S.UPDATING, S.DELETING, S.DELETED}),
    S.DELETING: frozenset({S.DELETED, S.FAILED}),
    S.DELETED: frozenset(),
}

SYSTEM_ONLY = frozenset({(S.WAITING_APPROVAL, S.REQUESTED), (S.WAITING_APPROVAL, S.FAILED)})
"""Transitions the platform makes itself (approvals, rejections); never reported."""

DRIVEN = frozenset({S.REQUESTED, S.PROVISIONING, S.UPDATING, S.DELETING})
"""States a provider is working in: the runner holds a lease on resources in them."""

REPORTABLE = frozenset({S.PROVISIONING, S.READY, S.UPDATING, S.FAILED, S.DELETING, S.DELETED})
"""States a provider (or its API client, `reportResourceStatus`) may report."""

LIVE = frozenset(ResourceState) - {S.DELETED}
"""Resources that still count: their name is taken, their service cannot be deleted."""


def allowed(source: ResourceState, target: ResourceState, *, system: bool = False) -> bool:
    if target not in TRANSITIONS[source]:
        return False
    return system or (source, target) not in SYSTEM_ONLY


def check(
    source: ResourceState,
    target: ResourceState,
    *,
    system: bool = False,
    path: tuple[str, ...] = ("input", "state"),
) -> None:
    """Refuse, with PRECONDITION_FAILED naming both states, a transition that is not allowed."""
    if allowed(source, target, system=system):
        return
    if source is S.DELETED:
        reason = "DELETED is final"
    elif target in TRANSITIONS[source]:
        reason = "only the platform makes this change"
    else:
        reason = "not a permitted transition"
    raise PreconditionFailed(
        f"a resource cannot go from {source.value} to {target.value}: {reason}", list(path)
    )
