"""The deployment state machine over every pair of states, for reports and for the platform."""

from __future__ import annotations

import itertools

import pytest

from domain.deployments import states
from domain.deployments.model import DeploymentState as S
from domain.errors import ErrorCode, PreconditionFailed

# (from, to): True when anyone may report it, "system" when only the platform makes it.
ALLOWED: dict[tuple[S, S], bool | str] = {
    (S.QUEUED, S.IN_PROGRESS): True,
    (S.QUEUED, S.FAILED): True,
    (S.QUEUED, S.CANCELED): True,
    (S.WAITING_APPROVAL, S.CANCELED): True,
    (S.WAITING_APPROVAL, S.QUEUED): "system",
    (S.IN_PROGRESS, S.SUCCEEDED): True,
    (S.IN_PROGRESS, S.FAILED): True,
    (S.IN_PROGRESS, S.CANCELED): True,
    (S.SUCCEEDED, S.INACTIVE): "system",
    (S.SUCCEEDED, S.ROLLED_BACK): "system",
}
PAIRS = list(itertools.product(S, S))


@pytest.mark.parametrize(("source", "target"), PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_every_pair(source: S, target: S) -> None:
    expected = ALLOWED.get((source, target), False)
    assert states.allowed(source, target, system=True) is bool(expected)
    assert states.allowed(source, target) is (expected is True)
    if expected is True:
        states.check(source, target)
        return
    with pytest.raises(PreconditionFailed) as caught:
        states.check(source, target)
    assert caught.value.code is ErrorCode.PRECONDITION_FAILED
    assert f"from {source.value} to {target.value}" in caught.value.message
    assert caught.value.path == ("input", "state")
    if expected == "system":
        states.check(source, target, system=True)
        assert "only the platform" in caught.value.message


def test_terminal_states_never_change() -> None:
    for terminal in states.TERMINAL:
        assert not any(states.allowed(terminal, target, system=True) for target in S)
        with pytest.raises(PreconditionFailed, match="is final"):
            states.check(terminal, S.QUEUED, system=True)


def test_the_groups_partition_the_states() -> None:
    assert set(S) == states.UNFINISHED | states.FINISHED
    assert not states.UNFINISHED & states.FINISHED
    assert states.TERMINAL < states.FINISHED
    assert {S.SUCCEEDED, S.INACTIVE, S.ROLLED_BACK} == states.SUCCESSFUL
    assert S.WAITING_APPROVAL not in states.RECORDABLE
