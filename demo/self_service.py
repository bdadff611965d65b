"""Acme's self-service infrastructure: the resource classes the platform team offers, the
golden-path template `python-http-service`, the services made from it and what became of their
resources; `demo/resources.py` loads it through the resource store.

Classes: `postgres` and `bucket` on the simulated provider, offered in every environment, and
`redis` on Crossplane (staging and production, approved by the platform team) pointing at a
cluster the demo does not have: its resource failed with the adapter's own message, and asking
its live health shows the provider error.

The production rules ("high availability is required in production", "a production bucket is
never public") are not in the classes' JSON Schemas: a class's schema validates the parameters
alone and cannot see the environment, and the template needs ONE database class valid in every
environment (a template asks for each of its resources in each of its environments, so a
`postgres-production` class restricted to production could not be part of it). So the rules
are written in the classes' and the parameters' descriptions, kept by production's approval
(every production request waits for a platform or SRE approver, never its requester), and by
the template, which asks for a highly available database and a private bucket everywhere.
The plan checks that the demo's own data keeps them (`_check_production_rules`).

For the same reason the template's bucket is in every environment, not only in production:
the template cannot ask for a resource in some of its environments. One team removed its
development bucket since (the demo's DELETED resource).

Every resource ends where no provider works on it (READY, FAILED, DELETED, WAITING_APPROVAL):
at the first start the provisioning runner has nothing to pick up. The timeline is relative to
the load time and deterministic (a seeded `random.Random`); its steps follow what the
provisioning runner and the simulated provider do (the provider's messages, its
`durationSeconds`), except the failed bucket's message, which a real cloud would give (as the
deployment history's failures do).
"""

from __future__ import annotations

import enum
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from demo.acme import MEMBERSHIPS, PROTECTIONS
from domain.catalog.services import Lifecycle, ServiceDraft
from domain.resources import parameters as p
from domain.resources.model import ResourceState

SEED = 0x70617665_72657363
S = ResourceState


@dataclass(frozen=True, slots=True)
class DemoClass:
    slug: str
    name: str
    type: str
    description: str
    provider_kind: str
    provider_settings: Mapping[str, Any]
    parameters_schema: Mapping[str, Any]
    defaults: Mapping[str, Any]
    age: timedelta
    """How long before the load it was created."""
    environments: tuple[str, ...] = ()
    requires_approval: bool = False
    approver_teams: tuple[str, ...] = ()


_SIZE = {
    "enum": ["S", "M", "L"],
    "description": "S: 2 vCPU and 4 GiB; M: 4 vCPU and 16 GiB; L: 8 vCPU and 32 GiB.",
}

POSTGRES = DemoClass(
    slug="postgres",
    name="PostgreSQL",
    type="postgres",
    description=(
        "A managed PostgreSQL database with daily backups kept for 14 days. High availability "
        "is required in production: production requests are approved by platform or SRE only "
        "with highAvailability on."
    ),
    provider_kind="simulated",
    provider_settings={"durationSeconds": 30},
    parameters_schema={
        "type": "object",
        "properties": {
            "size": _SIZE,
            "version": {
                "type": "integer",
                "minimum": 15,
                "maximum": 17,
                "description": "The PostgreSQL major version.",
            },
            "highAvailability": {
                "type": "boolean",
                "description": "A standby in a second zone with automatic failover; "
                "required in production.",
            },
        },
        "required": ["size", "version", "highAvailability"],
    },
    defaults={"size": "S", "version": 16, "highAvailability": False},
    age=timedelta(days=80, hours=3),
)
BUCKET = DemoClass(
    slug="bucket",
    name="Object storage bucket",
    type="bucket",
    description=(
        "An object storage bucket, encrypted at rest. Never publicly readable in production: "
        "production requests are approved by platform or SRE only with publicRead off."
    ),
    provider_kind="simulated",
    provider_settings={"durationSeconds": 5},
    parameters_schema={
        "type": "object",
        "properties": {
            "versioning": {
                "type": "boolean",
                "description": "Keep every version of every object.",
            },
            "publicRead": {
                "type": "boolean",
                "description": "Anyone may read its objects; forbidden in production.",
            },
        },
        "required": ["versioning", "publicRead"],
    },
    defaults={"versioning": False, "publicRead": False},
    age=timedelta(days=80, hours=2, minutes=40),
)
CROSSPLANE_TOKEN_ENV = "PAVED_SECRET_CROSSPLANE_TOKEN"  # noqa: S105 (a variable's name)
REDIS = DemoClass(
    slug="redis",
    name="Redis (Crossplane)",
    type="redis",
    description=(
        "A Redis instance composed by Crossplane on the platform cluster (which this demo does "
        "not have: requests fail with the provider's error). Requests need a platform approval."
    ),
    provider_kind="crossplane",
    provider_settings={
        "apiUrl": "https://crossplane.platform.acme.example:6443",
        "tokenEnv": CROSSPLANE_TOKEN_ENV,
        "apiVersion": "cache.platform.acme.example/v1alpha1",
        "kind": "RedisInstance",
        "namespace": "claims-{environment}",
    },
    parameters_schema={
        "type": "object",
        "properties": {
            "size": _SIZE,
            "persistence": {
                "type": "boolean",
                "description": "Append-only file on a persistent volume.",
            },
        },
        "required": ["size", "persistence"],
    },
    defaults={"size": "S", "persistence": False},
    age=timedelta(days=12, hours=5),
    environments=("staging", "production"),
    requires_approval=True,
    approver_teams=("platform",),
)
CLASSES: tuple[DemoClass, ...] = (POSTGRES, BUCKET, REDIS)
_BY_SLUG = {c.slug: c for c in CLASSES}

CROSSPLANE_FAILURE = f"kubernetes token: environment variable {CROSSPLANE_TOKEN_ENV} is not set"
"""What the crossplane adapter answers when asked to apply a claim without its token (the
demo's case): the FAILED resource's message, and its live health's error."""


@dataclass(frozen=True, slots=True)
class DemoTemplateResource:
    resource_class: str
    name: str
    parameters: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DemoTemplate:
    slug: str
    name: str
    description: str
    parameters_schema: Mapping[str, Any]
    service: Mapping[str, Any]
    environments: tuple[str, ...]
    resources: tuple[DemoTemplateResource, ...]
    first_version: str | None
    age: timedelta


TEMPLATE = DemoTemplate(
    slug="python-http-service",
    name="Python HTTP service",
    description=(
        "A Python HTTP service with a PostgreSQL database (highly available) and a private "
        "bucket in every environment; 0.1.0 is deployed to development once its resources "
        "there are ready."
    ),
    parameters_schema={
        "type": "object",
        "properties": {
            "size": {**_SIZE, "default": "S", "description": "The database's size."},
        },
    },
    service={"lifecycle": "EXPERIMENTAL", "tier": 3, "tags": ["python", "http"]},
    environments=("development", "qa", "staging", "production"),
    resources=(
        DemoTemplateResource("postgres", "database", {"size": "${size}", "highAvailability": True}),
        DemoTemplateResource("bucket", "assets", {"versioning": True, "publicRead": False}),
    ),
    first_version="0.1.0",
    age=timedelta(days=75, hours=22),
)

Place = tuple[str, str]
"""(environment, resource name)."""


@dataclass(frozen=True, slots=True)
class DemoRun:
    """A service made from the template by `requester`, `age` before the load, and what
    became of its resources."""

    slug: str
    name: str
    owner: str
    description: str
    requester: str
    age: timedelta
    parameters: Mapping[str, Any] = field(default_factory=dict)
    approver: str | None = None
    """Who approved its production resources, `approval_delay` after the run; None: they
    still wait."""
    approval_delay: timedelta = timedelta(hours=1)
    failures: Mapping[Place, str] = field(default_factory=dict)
    """Resources whose provisioning failed, with the provider's message."""
    deletions: Mapping[Place, timedelta] = field(default_factory=dict)
    """Resources deleted since, how long after the run."""


RUNS: tuple[DemoRun, ...] = (
    DemoRun(
        slug="returns-api",
        name="Returns API",
        owner="checkout",
        description="Return requests, shipping labels and refunds for online orders.",
        requester="jess-carter",
        age=timedelta(days=41, hours=5, minutes=17),
        parameters={"size": "M"},
        approver="alice-nguyen",
        approval_delay=timedelta(hours=1, minutes=24),
        deletions={("development", "assets"): timedelta(days=20, hours=2, minutes=9)},
    ),
    DemoRun(
        slug="loyalty-service",
        name="Loyalty Service",
        owner="commerce",
        description="Points, tiers and rewards of Acme's loyalty programme.",
        requester="marco-rossi",
        age=timedelta(days=18, hours=6, minutes=40),
        approver="bob-okafor",
        approval_delay=timedelta(hours=3, minutes=10),
        failures={
            ("production", "assets"): (
                "BucketAlreadyExists: the bucket name 'loyalty-service-production-assets' is "
                "taken (bucket names are shared by every account)"
            ),
        },
    ),
    DemoRun(
        slug="gift-cards",
        name="Gift Cards",
        owner="payments",
        description="Issues gift cards, redeems them at checkout and keeps their balances.",
        requester="erin-walsh",
        age=timedelta(hours=4, minutes=12),
        parameters={"size": "S"},
    ),
)


@dataclass(frozen=True, slots=True)
class DemoRequest:
    """One resource asked for on its own (`requestResource`)."""

    service: str
    environment: str
    resource_class: str
    name: str
    requester: str
    age: timedelta
    parameters: Mapping[str, Any] = field(default_factory=dict)
    approver: str | None = None
    approval_delay: timedelta = timedelta(hours=1)
    failure: str | None = None
    """The provider refused it at once with this message."""


REQUESTS: tuple[DemoRequest, ...] = (
    DemoRequest(
        service="cart-service",
        environment="staging",
        resource_class="redis",
        name="session-cache",
        requester="kofi-mensah",
        age=timedelta(days=6, hours=2, minutes=31),
        parameters={"size": "M", "persistence": True},
        approver="dmitri-volkov",
        approval_delay=timedelta(minutes=35),
        failure=CROSSPLANE_FAILURE,
    ),
)


# --- the plan -------------------------------------------------------------------------------


class Action(enum.Enum):
    REQUEST = "request"
    """Asked for (`request`, or a template run): REQUESTED or WAITING_APPROVAL."""
    APPROVE = "approve"
    """Approved by `actor` (`decide`): REQUESTED."""
    REPORT = "report"
    """The provider's answer (`transition`), with its message."""
    DELETE = "delete"
    """Deletion asked for (`request_delete`): DELETING."""


@dataclass(frozen=True, slots=True)
class Step:
    at: datetime
    action: Action
    state: ResourceState
    """The state it leads to."""
    message: str | None = None
    actor: str | None = None


@dataclass(frozen=True, slots=True)
class PlannedResource:
    service: str
    environment: str
    name: str
    resource_class: DemoClass
    parameters: Mapping[str, Any]
    """Final: the class's defaults applied, checked by its schema."""
    requester: str
    required_approvals: int
    steps: tuple[Step, ...]

    @property
    def requested_at(self) -> datetime:
        return self.steps[0].at

    @property
    def state(self) -> ResourceState:
        return self.steps[-1].state


@dataclass(frozen=True, slots=True)
class PlannedRun:
    run: DemoRun
    at: datetime
    service: ServiceDraft
    resources: tuple[PlannedResource, ...]


@dataclass(frozen=True, slots=True)
class SelfServicePlan:
    now: datetime
    runs: tuple[PlannedRun, ...]
    requests: tuple[PlannedResource, ...]

    def resources(self) -> tuple[PlannedResource, ...]:
        return (*(r for run in self.runs for r in run.resources), *self.requests)


def required_approvals(resource_class: DemoClass, environment: str) -> int:
    """Whichever asks more: the class (one approval) or the environment's protection."""
    protection = PROTECTIONS.get(environment)
    by_environment = protection.required_approvals if protection is not None else 0
    return p.required_approvals(resource_class.requires_approval, by_environment)


def approver_teams(resource_class: DemoClass, environment: str) -> set[str]:
    protection = PROTECTIONS.get(environment)
    return set(resource_class.approver_teams) | set(
        protection.approver_teams if protection is not None else ()
    )


def final_parameters(resource_class: DemoClass, given: Mapping[str, Any]) -> dict[str, Any]:
    final, problems = p.resolved(
        resource_class.parameters_schema, resource_class.defaults, given, ["parameters"]
    )
    if problems:
        raise ValueError(f"demo resource of class {resource_class.slug}: {problems[0].message}")
    return final


def service_from_template(run: DemoRun, values: Mapping[str, Any]) -> ServiceDraft:
    """The service a run makes: the template's service defaults, its own slug, name, owner and
    description."""
    defaults = p.substitute(dict(TEMPLATE.service), values)
    return ServiceDraft(
        slug=run.slug,
        name=run.name,
        owner=run.owner,
        description=run.description,
        lifecycle=Lifecycle(defaults["lifecycle"]),
        tier=defaults["tier"],
        tags=tuple(defaults["tags"]),
    )


def template_values(given: Mapping[str, Any]) -> dict[str, Any]:
    """A run's template parameters: the schema's defaults, then those given, checked."""
    schema = TEMPLATE.parameters_schema
    values, problems = p.resolved(schema, p.schema_defaults(schema), given, ["parameters"])
    if problems:
        raise ValueError(f"demo template run: {problems[0].message}")
    return values


class _Planner:
    def __init__(self, now: datetime) -> None:
        self.now = now
        self.rng = random.Random(SEED)  # noqa: S311 -- demo data, not secrets

    def seconds(self, low: float, high: float) -> timedelta:
        return timedelta(seconds=self.rng.uniform(low, high))

    def trail(
        self,
        resource_class: DemoClass,
        approvals: int,
        at: datetime,
        approval: tuple[str, datetime] | None,
        failure: str | None = None,
        deleted_at: datetime | None = None,
    ) -> tuple[Step, ...]:
        """A resource's steps as the runner and the provider make them: asked for at `at`,
        approved (when it needs to be) as `approval` says, provisioned, failed with `failure`
        (the simulated provider after its duration, crossplane's at once), deleted."""
        first = S.WAITING_APPROVAL if approvals else S.REQUESTED
        steps = [Step(at, Action.REQUEST, first)]
        if approvals:
            if approval is None:
                return tuple(steps)
            approver, at = approval
            steps.append(Step(at, Action.APPROVE, S.REQUESTED, actor=approver))
        started = at + self.seconds(0.05, 0.4)
        if resource_class.provider_kind != "simulated":
            assert failure is not None, "the demo has no cluster: its requests fail"
            return (*steps, Step(started, Action.REPORT, S.FAILED, failure))
        duration = float(resource_class.provider_settings["durationSeconds"])
        steps.append(
            Step(
                started, Action.REPORT, S.PROVISIONING,
                f"simulated provisioning (takes {duration:g} s)",
            )
        )  # fmt: skip
        done = at + timedelta(seconds=duration) + self.seconds(0.1, 1.0)
        if failure is not None:
            return (*steps, Step(done, Action.REPORT, S.FAILED, failure))
        steps.append(Step(done, Action.REPORT, S.READY, "available"))
        if deleted_at is not None:
            steps.append(Step(deleted_at, Action.DELETE, S.DELETING))
            gone = deleted_at + timedelta(seconds=duration) + self.seconds(0.1, 1.0)
            steps.append(Step(gone, Action.REPORT, S.DELETED, "simulated resource deleted"))
        return tuple(steps)

    def run(self, run: DemoRun) -> PlannedRun:
        at = self.now - run.age
        values = template_values(run.parameters)
        made: list[PlannedResource] = []
        approved_at = at + run.approval_delay
        for environment in TEMPLATE.environments:
            for entry in TEMPLATE.resources:
                resource_class = _BY_SLUG[entry.resource_class]
                approvals = required_approvals(resource_class, environment)
                approval = None
                if approvals and run.approver is not None:  # one after the other
                    approved_at += self.seconds(10, 70)
                    approval = (run.approver, approved_at)
                deleted = run.deletions.get((environment, entry.name))
                steps = self.trail(
                    resource_class, approvals, at, approval,
                    run.failures.get((environment, entry.name)),
                    None if deleted is None else at + deleted,
                )  # fmt: skip
                made.append(
                    PlannedResource(
                        run.slug, environment, entry.name, resource_class,
                        final_parameters(resource_class, p.substitute(entry.parameters, values)),
                        run.requester, approvals, steps,
                    )
                )  # fmt: skip
        service = service_from_template(run, values)
        return PlannedRun(run, at, service, tuple(made))

    def request(self, asked: DemoRequest) -> PlannedResource:
        at = self.now - asked.age
        resource_class = _BY_SLUG[asked.resource_class]
        approvals = required_approvals(resource_class, asked.environment)
        approval = None
        if asked.approver is not None:
            approval = (asked.approver, at + asked.approval_delay)
        steps = self.trail(resource_class, approvals, at, approval, asked.failure)
        return PlannedResource(
            asked.service, asked.environment, asked.name, resource_class,
            final_parameters(resource_class, asked.parameters), asked.requester, approvals, steps,
        )  # fmt: skip


def _check_production_rules(resource: PlannedResource) -> None:
    """The rules the classes' descriptions state, which their schemas cannot."""
    if resource.environment != "production":
        return
    kind = resource.resource_class.type
    if kind == "postgres" and not resource.parameters["highAvailability"]:
        raise ValueError(f"{resource.service}: a production database is highly available")
    if kind == "bucket" and resource.parameters["publicRead"]:
        raise ValueError(f"{resource.service}: a production bucket is never public")


def _check_approver(resource: PlannedResource) -> None:
    for step in resource.steps:
        if step.actor is None:
            continue
        teams = approver_teams(resource.resource_class, resource.environment)
        if step.actor == resource.requester or not teams & set(MEMBERSHIPS[step.actor]):
            raise ValueError(f"{step.actor} may not approve {resource.service}'s {resource.name}")


def plan_self_service(now: datetime) -> SelfServicePlan:
    """The template runs and the requests of the demo, with every step of their resources
    until `now`."""
    planner = _Planner(now)
    plan = SelfServicePlan(
        now,
        tuple(planner.run(run) for run in RUNS),
        tuple(planner.request(asked) for asked in REQUESTS),
    )
    for resource in plan.resources():
        _check_production_rules(resource)
        _check_approver(resource)
        if resource.steps[-1].at >= now:
            raise ValueError(f"{resource.service}'s {resource.name} would end after the load")
    return plan
