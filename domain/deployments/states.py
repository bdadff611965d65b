"""The deployment state machine, pure: which state may follow which, and who may move it.

    QUEUED ----------> IN_PROGRESS --> SUCCEEDED --> INACTIVE     (a newer one succeeded)
      |  \\                 |     \\         \\------> ROLLED_BACK  (a rollback replaced it)
      |   \\--> FAILED <----/      \\--> CANCELED
      \\--> CANCELED
    WAITING_APPROVAL --> QUEUED    (approvals reached the environment's requirement)
    WAITING_APPROVAL --> CANCELED  (canceled, or rejected by an approver)

A deployment starts in QUEUED, or WAITING_APPROVAL when its environment requires approvals.
QUEUED -> FAILED is allowed because a provider can refuse to start; QUEUED -> SUCCEEDED is not:
a runner reports IN_PROGRESS first. WAITING_APPROVAL never goes straight to IN_PROGRESS, so
nothing skips its approvals.

Some transitions are made by the platform only (`SYSTEM_ONLY`): leaving WAITING_APPROVAL for
QUEUED (the approvals decide), and SUCCEEDED -> INACTIVE / ROLLED_BACK (the store makes them when
another deployment of the same service x environment succeeds). A provider or an API client
that reports one of these is refused like any other forbidden transition.

FAILED, CANCELED, INACTIVE and ROLLED_BACK are terminal: they never change.
"""

from __future__ import annotations

from domain.deployments.model import DeploymentState
from domain.errors import PreconditionFailed

S = DeploymentState

UNFINISHED = frozenset({S.QUEUED, S.WAITING_APPROVAL, S.IN_PROGRESS})
TERMINAL = frozenset({S.FAILED, S.CANCELED, S.INACTIVE, S.ROLLED_BACK})
SUCCESSFUL = frozenset({S.SUCCEEDED, S.INACTIVE, S.ROLLED_BACK})
"""States of deployments that did succeed (and may since have been replaced)."""
FINISHED = frozenset(DeploymentState) - UNFINISHED

TRANSITIONS: dict[DeploymentState, frozenset[DeploymentState]] = {
    S.QUEUED: frozenset({S.IN_PROGRESS, S.FAILED, S.CANCELED}),
    S.WAITING_APPROVAL: frozenset({S.QUEUED, S.CANCELED}),
    S.IN_PROGRESS: frozenset({S.SUCCEEDED, S.FAILED, S.CANCELED}),
    S.SUCCEEDED: frozenset({S.INACTIVE, S.ROLLED_BACK}),
    S.FAILED: frozenset(),
    S.CANCELED: frozenset(),
    S.INACTIVE: frozenset(),
    S.ROLLED_BACK: frozenset(),
}

SYSTEM_ONLY = frozenset(
    {(S.WAITING_APPROVAL, S.QUEUED), (S.SUCCEEDED, S.INACTIVE), (S.SUCCEEDED, S.ROLLED_BACK)}
)
"""Transitions the platform makes itself; never accepted from a provider or a client."""

RECORDABLE = frozenset({S.QUEUED, S.IN_PROGRESS, S.SUCCEEDED, S.FAILED, S.CANCELED})
"""States a CI job may report a deployment it made itself in (`recordDeployment`)."""


def allowed(source: DeploymentState, target: DeploymentState, *, system: bool = False) -> bool:
    if target not in TRANSITIONS[source]:
        return False
    return system or (source, target) not in SYSTEM_ONLY


def check(
    source: DeploymentState,
    target: DeploymentState,
    *,
    system: bool = False,
    path: tuple[str, ...] = ("input", "state"),
) -> None:
    """Refuse, with PRECONDITION_FAILED naming both states, a transition that is not allowed."""
    if allowed(source, target, system=system):
        return
    if source in TERMINAL:
        reason = f"{source.value} is final"
    elif target in TRANSITIONS[source]:
        reason = "only the platform makes this change"
    else:
        reason = "not a permitted transition"
    raise PreconditionFailed(
        f"a deployment cannot go from {source.value} to {target.value}: {reason}", list(path)
    )
