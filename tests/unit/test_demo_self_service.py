"""The demo's self-service infrastructure as planned (`demo/self_service.py`): valid classes and
template, resources whose histories follow the state machine to a state no provider works on,
the production rules kept, before any database sees it."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from demo.acme import CONTRIBUTORS, ENVIRONMENTS, MEMBERSHIPS, PROTECTIONS, SERVICES
from demo.resources import check_class
from demo.self_service import (
    CLASSES,
    CROSSPLANE_FAILURE,
    CROSSPLANE_TOKEN_ENV,
    REDIS,
    RUNS,
    TEMPLATE,
    Action,
    DemoClass,
    PlannedResource,
    approver_teams,
    plan_self_service,
)
from domain.deployments.model import ProviderError
from domain.resources import parameters as p
from domain.resources import states
from domain.resources.model import ProvisionRequest, ResourceState
from providers.resources.crossplane import CrossplaneProvisioner

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
S = ResourceState


def resources() -> tuple[PlannedResource, ...]:
    return plan_self_service(NOW).resources()


def test_planning_is_deterministic() -> None:
    assert plan_self_service(NOW) == plan_self_service(NOW)


@pytest.mark.parametrize("demo_class", CLASSES, ids=lambda c: c.slug)
def test_classes_pass_what_saving_a_class_checks(demo_class: DemoClass) -> None:
    check_class(demo_class)


def test_the_issue_s_classes() -> None:
    by_slug = {c.slug: c for c in CLASSES}
    postgres, bucket = by_slug["postgres"], by_slug["bucket"]
    assert (postgres.provider_kind, bucket.provider_kind) == ("simulated", "simulated")
    schema = postgres.parameters_schema
    ok = {"size": "M", "version": 17, "highAvailability": True}
    assert p.validate(schema, ok, []) == []
    for wrong in ({"size": "XL"}, {"version": 14}, {"version": 18}, {"highAvailability": "y"}):
        assert p.validate(schema, {**ok, **wrong}, []), wrong
    assert p.validate(bucket.parameters_schema, {"versioning": True, "publicRead": False}, []) == []
    assert p.validate(bucket.parameters_schema, {"versioning": 1, "publicRead": False}, [])
    # Offered everywhere, so that the template may ask for them in every environment.
    assert postgres.environments == bucket.environments == ()
    assert REDIS.provider_kind == "crossplane"
    assert REDIS.provider_settings["tokenEnv"].startswith("PAVED_SECRET_")


def test_the_template_is_valid_in_each_of_its_environments() -> None:
    by_slug = {c.slug: c for c in CLASSES}
    assert set(TEMPLATE.environments) == {e.slug for e in ENVIRONMENTS}
    p.check_schema(TEMPLATE.parameters_schema, [])
    for entry in TEMPLATE.resources:
        allowed = by_slug[entry.resource_class].environments
        assert not allowed or set(TEMPLATE.environments) <= set(allowed)
        assert p.placeholders(entry.parameters) <= set(TEMPLATE.parameters_schema["properties"])
    assert TEMPLATE.first_version == "0.1.0"


def test_histories_follow_the_state_machine_and_end_where_nothing_is_driven() -> None:
    planned = resources()
    assert len(planned) == len(RUNS) * len(TEMPLATE.environments) * len(TEMPLATE.resources) + 1
    for resource in planned:
        steps = resource.steps
        assert steps[0].action is Action.REQUEST
        first = S.WAITING_APPROVAL if resource.required_approvals else S.REQUESTED
        assert steps[0].state is first
        for before, after in itertools.pairwise(steps):
            assert states.allowed(before.state, after.state, system=True)
            assert before.at < after.at
        assert resource.state not in states.DRIVEN
        assert NOW - timedelta(days=90) < steps[0].at
        assert steps[-1].at < NOW
    found = {r.state for r in planned}
    assert found == {S.READY, S.FAILED, S.DELETED, S.WAITING_APPROVAL}


def test_production_waits_for_an_approver_who_is_not_the_requester() -> None:
    for resource in resources():
        needed = resource.required_approvals
        protected = resource.environment in PROTECTIONS or resource.resource_class.requires_approval
        assert (needed > 0) == protected
        approvals = [step for step in resource.steps if step.action is Action.APPROVE]
        if resource.state is S.WAITING_APPROVAL:
            assert approvals == []
            continue
        assert len(approvals) == (1 if needed else 0)
        for step in approvals:
            assert step.actor is not None
            assert step.actor != resource.requester
            teams = approver_teams(resource.resource_class, resource.environment)
            assert teams & set(MEMBERSHIPS[step.actor])


def test_requesters_belong_to_the_owner_teams() -> None:
    owners = {s.slug: {s.owner, *CONTRIBUTORS.get(s.slug, ())} for s in SERVICES}
    owners |= {run.slug: {run.owner} for run in RUNS}
    for resource in resources():
        assert owners[resource.service] & set(MEMBERSHIPS[resource.requester])


def test_the_production_rules_are_kept() -> None:
    production = [r for r in resources() if r.environment == "production"]
    assert {r.resource_class.type for r in production} >= {"postgres", "bucket"}
    for resource in production:
        if resource.resource_class.type == "postgres":
            assert resource.parameters["highAvailability"] is True
        if resource.resource_class.type == "bucket":
            assert resource.parameters["publicRead"] is False


def test_the_first_environment_of_every_run_gets_ready() -> None:
    """So the template's first deployment was made, and the history can begin with it."""
    first = TEMPLATE.environments[0]
    for run in plan_self_service(NOW).runs:
        there = [r for r in run.resources if r.environment == first]
        assert there
        assert all(any(step.state is S.READY for step in r.steps) for r in there)


async def test_the_crossplane_failure_is_what_the_adapter_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(CROSSPLANE_TOKEN_ENV, raising=False)
    adapter = CrossplaneProvisioner(REDIS.provider_settings)
    request = ProvisionRequest(
        1, "session-cache", "cart-service", "staging", REDIS.slug, REDIS.type, {"size": "S"}
    )
    with pytest.raises(ProviderError) as refused:
        await adapter.apply(request)
    assert str(refused.value) == CROSSPLANE_FAILURE
    (crossplane,) = [r for r in resources() if r.resource_class is REDIS]
    assert crossplane.state is S.FAILED
    assert crossplane.steps[-1].message == CROSSPLANE_FAILURE
