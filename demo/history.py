"""A few months of deployment history for the demo organisation, so the release matrix and the
metrics are interesting at first sight.

Each service ships releases along its pipeline (development -> qa -> staging -> production;
experimental services stop at staging): sometimes release candidates in development first,
then the release (deployed by a member of an owner team, or recorded by the team's CI client),
then promotions, with one approval from the platform teams in production. Some rollouts fail
(a hotfix follows within hours), a few production approvals are rejected, a couple of
production releases are rolled back, and the newest releases are still on their way, so
environments differ. A production deployment may still be waiting for its approval.

The history is planned in Python from a seeded `random.Random` (the same history relative to
the load time, every time); `demo/deployments.py` inserts it. It keeps the store's invariants:
numbers 1..n per service x environment in creation order, one SUCCEEDED deployment (the
current one) per pair that ever succeeded and at most one unfinished, `previous`,
`promotedFrom` and `rollbackOf` pointing where the store would point them, every state entered
recorded in the history, and timestamps in order.
"""

from __future__ import annotations

import contextlib
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from domain.deployments.model import (
    ApprovalDecision,
    DeploymentKind,
    DeploymentState,
    Requester,
)
from providers.postgres.deployments.creation import RECORDED_PROVIDER

SEED = 0x70617665_64657079
HISTORY_DAYS = 90
ROLLBACKS = 3
"""Production releases rolled back, at most (the first ones the dice pick)."""
PENDING_APPROVALS = 2
"""Production promotions left waiting for their approval (the first releases due there after
the present)."""
PIPELINE = ("development", "qa", "staging", "production")
EXPERIMENTAL_PIPELINE = PIPELINE[:3]
SIMULATED = "simulated"
_SIMULATED_SOURCE = f"provider:{SIMULATED}"

S = DeploymentState
K = DeploymentKind

_FAILURES = (
    "readiness probe failed: 0/3 replicas ready after 300s",
    "CrashLoopBackOff: container exited with code 1 (missing configuration key)",
    "database migration timed out waiting for a lock",
    "image pull failed: manifest unknown",
    "smoke tests failed: 5xx rate 12% on /healthz",
)
_ROLLBACK_REASONS = (
    "elevated error rate after release",
    "p99 latency doubled",
    "customer reports of failed checkouts",
)
_REJECTIONS = ("change freeze for the sale weekend", "needs a load test first")


@dataclass(frozen=True, slots=True)
class FirstRelease:
    """The first deployment of a service made from a template (its `firstVersion`, deployed to
    the template's first environment by whoever ran it, once its resources there were READY):
    where that service's history begins."""

    version: str
    requester: Requester
    at: datetime


FIRST_RELEASE_DESCRIPTION = "first deployment of a service created from a template"
"""What the provisioning runner writes on a template's first deployment."""


@dataclass(frozen=True, slots=True)
class DemoService:
    id: int
    slug: str
    tier: int | None
    lifecycle: str
    requesters: tuple[Requester, ...]
    """Members of its owner teams (primary and contributors)."""
    ci_client: Requester | None
    """The API client of its primary owner team, if any: it records development deployments."""
    first_release: FirstRelease | None = None
    """For a service made from a template during the history: its first deployment. Without
    one, the service's history spans all of `HISTORY_DAYS`."""


@dataclass(frozen=True, slots=True)
class DemoCatalog:
    services: tuple[DemoService, ...]
    environments: dict[str, int]
    approvers: dict[str, tuple[Requester, ...]]
    """Environment slug -> the members of its approver teams (for protected environments)."""


@dataclass(slots=True)
class _Event:
    state: DeploymentState
    raw_status: str | None
    message: str | None
    source: str
    at: datetime


@dataclass(slots=True)
class _Approval:
    actor: Requester
    decision: ApprovalDecision
    comment: str | None
    at: datetime


@dataclass(slots=True)
class PlannedDeployment:
    index: int
    """Position in the plan; ids are given at insertion, in this order."""
    service_id: int
    environment: str
    environment_id: int
    number: int
    version: str
    commit_sha: str | None
    kind: DeploymentKind
    state: DeploymentState
    requester: Requester
    created_at: datetime
    provider: str = SIMULATED
    committed_at: datetime | None = None
    description: str | None = None
    raw_status: str | None = None
    status_message: str | None = None
    external_id: str | None = None
    url: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    promoted_from: int | None = None
    rollback_of: int | None = None
    rollback_to: int | None = None
    previous: int | None = None
    events: list[_Event] = field(default_factory=list)
    approvals: list[_Approval] = field(default_factory=list)


@dataclass(slots=True)
class _Pair:
    count: int = 0
    current: PlannedDeployment | None = None
    free_at: datetime | None = None
    """When its last deployment finished: the next one is created after that."""


class _Stop(Exception):
    """The service's history has reached the present."""


class _Planner:
    def __init__(self, catalog: DemoCatalog, now: datetime) -> None:
        self.catalog = catalog
        self.now = now
        self.rng = random.Random(SEED)  # noqa: S311 -- demo data, not secrets
        self.deployments: list[PlannedDeployment] = []
        self.pairs: dict[tuple[int, str], _Pair] = {}
        self.ci_runs = 40_000
        self.rollbacks_left = ROLLBACKS
        self.pending_left = PENDING_APPROVALS

    # --- small helpers --------------------------------------------------------------------

    def minutes(self, low: float, high: float) -> timedelta:
        return timedelta(minutes=self.rng.uniform(low, high))

    def sha(self) -> str:
        return f"{self.rng.getrandbits(160):040x}"

    def fits(self, end: datetime) -> None:
        if end > self.now:
            raise _Stop

    def pair(self, service: DemoService, environment: str) -> _Pair:
        return self.pairs.setdefault((service.id, environment), _Pair())

    def approver(self, environment: str, requester: Requester) -> Requester:
        return self.rng.choice(
            [actor for actor in self.catalog.approvers[environment] if actor != requester]
        )

    # --- one deployment -------------------------------------------------------------------

    def create(
        self,
        service: DemoService,
        environment: str,
        version: str,
        commit_sha: str | None,
        kind: DeploymentKind,
        requester: Requester,
        at: datetime,
        *,
        description: str | None = None,
        promoted_from: PlannedDeployment | None = None,
        rollback_of: PlannedDeployment | None = None,
        rollback_to: PlannedDeployment | None = None,
    ) -> PlannedDeployment:
        pair, at = self.next_slot(service, environment, at)
        self.fits(at)
        protected = bool(self.catalog.approvers.get(environment))
        state = S.WAITING_APPROVAL if protected else S.QUEUED
        return self.add(
            pair, service, environment, _Event(state, None, "requested", "api", at),
            version=version, commit_sha=commit_sha, kind=kind, state=state, requester=requester,
            description=description,
            promoted_from=None if promoted_from is None else promoted_from.index,
            rollback_of=None if rollback_of is None else rollback_of.index,
            rollback_to=None if rollback_to is None else rollback_to.index,
        )  # fmt: skip

    def next_slot(
        self, service: DemoService, environment: str, at: datetime
    ) -> tuple[_Pair, datetime]:
        """The pair, and when its next deployment may be created: `at`, or shortly after its
        last one finished."""
        pair = self.pair(service, environment)
        if pair.free_at is not None and at <= pair.free_at:
            at = pair.free_at + self.minutes(1, 10)
        return pair, at

    def add(
        self,
        pair: _Pair,
        service: DemoService,
        environment: str,
        first: _Event,
        **details: Any,
    ) -> PlannedDeployment:
        """The pair's next deployment, created when its `first` event says, with `details`."""
        pair.count += 1
        deployment = PlannedDeployment(
            index=len(self.deployments),
            service_id=service.id,
            environment=environment,
            environment_id=self.catalog.environments[environment],
            number=pair.count,
            created_at=first.at,
            previous=None if pair.current is None else pair.current.index,
            **details,
        )
        deployment.events.append(first)
        self.deployments.append(deployment)
        return deployment

    def approve(self, deployment: PlannedDeployment, at: datetime) -> None:
        actor = self.approver(deployment.environment, deployment.requester)
        deployment.approvals.append(_Approval(actor, ApprovalDecision.APPROVED, None, at))
        deployment.state = S.QUEUED
        deployment.events.append(_Event(S.QUEUED, None, "approved (1 of 1)", "approval", at))

    def reject(self, deployment: PlannedDeployment, at: datetime) -> None:
        actor = self.approver(deployment.environment, deployment.requester)
        comment = self.rng.choice(_REJECTIONS)
        deployment.approvals.append(_Approval(actor, ApprovalDecision.REJECTED, comment, at))
        message = f"rejected by {actor.name}: {comment}"
        deployment.state = S.CANCELED
        deployment.status_message = message
        deployment.finished_at = at
        deployment.events.append(_Event(S.CANCELED, None, message, "approval", at))
        self.pairs[(deployment.service_id, deployment.environment)].free_at = at

    def run(self, deployment: PlannedDeployment, start: datetime, fails: bool) -> None:
        """QUEUED -> IN_PROGRESS -> SUCCEEDED or FAILED, as the simulated provider reports."""
        finish = start + self.minutes(2, 9)
        if finish > self.now:
            # It would still be running: leave it out (the history ends before it began).
            assert self.deployments[-1] is deployment
            self.deployments.pop()
            self.pairs[(deployment.service_id, deployment.environment)].count -= 1
            raise _Stop
        deployment.state = S.IN_PROGRESS
        deployment.started_at = start
        deployment.raw_status = "progressing"
        deployment.events.append(
            _Event(S.IN_PROGRESS, "progressing", None, _SIMULATED_SOURCE, start)
        )
        self.finish(deployment, finish, fails, _SIMULATED_SOURCE)

    def finish(self, deployment: PlannedDeployment, at: datetime, fails: bool, source: str) -> None:
        pair = self.pairs[(deployment.service_id, deployment.environment)]
        deployment.finished_at = at
        pair.free_at = at
        if fails:
            deployment.state = S.FAILED
            deployment.status_message = self.rng.choice(_FAILURES)
            deployment.raw_status = "failed"
            deployment.events.append(
                _Event(S.FAILED, "failed", deployment.status_message, source, at)
            )
            return
        replaced = pair.current
        if replaced is not None:
            rolled_back = deployment.kind is K.ROLLBACK and deployment.rollback_of == replaced.index
            replaced.state = S.ROLLED_BACK if rolled_back else S.INACTIVE
            replaced.events.append(_Event(replaced.state, None, "replaced", source, at))
        deployment.state = S.SUCCEEDED
        deployment.raw_status = "succeeded"
        deployment.events.append(_Event(S.SUCCEEDED, "succeeded", None, source, at))
        pair.current = deployment

    def record(
        self, service: DemoService, client: Requester, version: str, commit_sha: str, at: datetime
    ) -> PlannedDeployment:
        """What a CI job reports: IN_PROGRESS when it starts, then SUCCEEDED or FAILED."""
        environment = PIPELINE[0]
        pair, at = self.next_slot(service, environment, at)
        finish = at + self.minutes(3, 12)
        self.fits(finish)
        self.ci_runs += self.rng.randint(1, 40)
        deployment = self.add(
            pair, service, environment, _Event(S.IN_PROGRESS, None, "recorded", "ci", at),
            version=version, commit_sha=commit_sha, kind=K.RECORDED, state=S.IN_PROGRESS,
            requester=client, provider=RECORDED_PROVIDER,
            committed_at=at - self.minutes(8, 90), external_id=f"run-{self.ci_runs}",
            url=f"https://ci.acme.example/{service.slug}/runs/{self.ci_runs}", started_at=at,
        )  # fmt: skip
        self.finish(deployment, finish, self.rng.random() < 0.06, "ci")
        return deployment

    # --- a service's releases -------------------------------------------------------------

    def interval(self, service: DemoService) -> timedelta:
        if service.lifecycle == "DEPRECATED":
            return timedelta(days=self.rng.uniform(25, 45))
        if service.lifecycle == "EXPERIMENTAL":
            return timedelta(days=self.rng.uniform(4, 8))
        days = {1: (5, 10), 2: (7, 14)}.get(service.tier or 0, (10, 20))
        return timedelta(days=self.rng.uniform(*days))

    def soak(self, environment: str) -> timedelta:
        """How long a release waits in the previous environment before going to this one."""
        low, high = {"qa": (1, 12), "staging": (4, 36)}.get(environment, (24, 96))
        return timedelta(hours=self.rng.uniform(low, high))

    def deploy(
        self,
        service: DemoService,
        version: str,
        commit_sha: str | None,
        at: datetime,
        description: str | None,
        by: Requester | None = None,
    ) -> PlannedDeployment:
        """Into development: by `by` when given; else recorded by CI when the team has a
        client (mostly), else by a member of an owner team."""
        if by is None and service.ci_client is not None and self.rng.random() < 0.75:
            assert commit_sha is not None
            return self.record(service, service.ci_client, version, commit_sha, at)
        requester = by or self.rng.choice(service.requesters)
        deployment = self.create(
            service, PIPELINE[0], version, commit_sha, K.DEPLOY, requester, at,
            description=description,
        )  # fmt: skip
        self.run(deployment, at + self.minutes(0.1, 1), self.rng.random() < 0.08)
        return deployment

    def release(
        self,
        service: DemoService,
        version: str,
        at: datetime,
        hotfix: bool,
        opening: FirstRelease | None,
    ) -> PlannedDeployment:
        """A release into development: a template's first one (made by the provisioning
        runner: no commit, no CI), or, after release candidates now and then, the release."""
        if opening is not None:
            return self.deploy(
                service, version, None, at, FIRST_RELEASE_DESCRIPTION, opening.requester
            )
        if not hotfix and self.rng.random() < 0.25:
            for candidate in range(1, self.rng.randint(1, 2) + 1):
                self.deploy(service, f"{version}-rc.{candidate}", self.sha(), at, None)
                at += timedelta(hours=self.rng.uniform(3, 20))
        return self.deploy(service, version, self.sha(), at, f"Release {version}")

    def history(self, service: DemoService) -> None:
        rng = self.rng
        pipeline = EXPERIMENTAL_PIPELINE if service.lifecycle == "EXPERIMENTAL" else PIPELINE
        opening = service.first_release
        if opening is None:
            major, minor, patch = rng.randint(1, 4), rng.randint(0, 20), 0
            at = self.now - timedelta(days=HISTORY_DAYS) + self.interval(service) / 2
        else:
            major, minor, patch = (int(part) for part in opening.version.split("."))
            at = opening.at
        hotfix = False
        while True:
            version = f"{major}.{minor}.{patch}"
            source = self.release(service, version, at, hotfix, opening)
            opening = None
            at = source.finished_at or at
            failed = source.state is S.FAILED
            for environment in pipeline[1:]:
                if failed:
                    break
                at += self.minutes(15, 60) if hotfix else self.soak(environment)
                source, failed, rejected = self.promote(service, environment, source, at)
                at = source.finished_at or at
                if rejected:
                    break
                if (
                    environment == "production"
                    and not failed
                    and source.previous is not None
                    and self.rollbacks_left
                    and rng.random() < 0.1
                ):
                    self.rollbacks_left -= 1
                    at = self.roll_back(service, source, at)
                    failed = True
            hotfix = failed
            if hotfix:
                patch += 1
                at += self.minutes(30, 180)
            else:
                minor, patch = minor + 1, 0
                at += self.interval(service)

    def promote(
        self, service: DemoService, environment: str, source: PlannedDeployment, at: datetime
    ) -> tuple[PlannedDeployment, bool, bool]:
        """The deployment, whether it failed, whether it was rejected."""
        requester = self.rng.choice(service.requesters)
        waiting = (
            at > self.now
            and self.pending_left > 0
            and bool(self.catalog.approvers.get(environment))
        )
        if waiting:  # someone asked for it lately: it waits for its approval now
            self.pending_left -= 1
            assert source.finished_at is not None
            at = max(source.finished_at + self.minutes(5, 30), self.now - self.minutes(20, 240))
        deployment = self.create(
            service, environment, source.version, source.commit_sha, K.PROMOTION, requester, at,
            promoted_from=source,
        )  # fmt: skip
        if waiting:
            raise _Stop
        start = deployment.created_at
        if deployment.state is S.WAITING_APPROVAL:
            slow = self.rng.random() < 0.15  # the approvers were busy
            decided = start + (self.minutes(240, 2880) if slow else self.minutes(5, 120))
            if decided > self.now:
                raise _Stop  # still waiting for its approval
            if self.rng.random() < 0.02:
                self.reject(deployment, decided)
                return deployment, False, True
            self.approve(deployment, decided)
            start = decided
        self.run(deployment, start + self.minutes(0.1, 1), self.rng.random() < 0.05)
        return deployment, deployment.state is S.FAILED, False

    def roll_back(self, service: DemoService, bad: PlannedDeployment, at: datetime) -> datetime:
        """`bad` turned out wrong: redeploy the version it replaced; when that one ran."""
        assert bad.previous is not None
        target = self.deployments[bad.previous]
        requester = self.rng.choice(service.requesters)
        deployment = self.create(
            service, bad.environment, target.version, target.commit_sha, K.ROLLBACK, requester,
            at + self.minutes(20, 90), description=self.rng.choice(_ROLLBACK_REASONS),
            rollback_of=bad, rollback_to=target,
        )  # fmt: skip
        start = deployment.created_at
        if deployment.state is S.WAITING_APPROVAL:
            start += self.minutes(3, 15)
            self.fits(start)
            self.approve(deployment, start)
        self.run(deployment, start + self.minutes(0.1, 1), False)
        assert deployment.finished_at is not None
        return deployment.finished_at


def plan_history(catalog: DemoCatalog, now: datetime) -> list[PlannedDeployment]:
    """The deployments of the last `HISTORY_DAYS` days before `now` (for a service made from a
    template, since its first release), in creation order per service x environment (their
    `index` order)."""
    planner = _Planner(catalog, now)
    # Services made from a template come last: the others' histories stay as they were.
    for service in sorted(catalog.services, key=lambda s: s.first_release is not None):
        if not service.requesters:
            continue
        with contextlib.suppress(_Stop):
            planner.history(service)
    return planner.deployments
