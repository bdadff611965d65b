"""The rollout runner on a real PostgreSQL: provider calls after commit, under a deadline,
their outcome stored with history, failures, resuming after a restart, cancel, and shutdown;
store failures retried; each deployment followed on the provider it was created with."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any

import asyncpg
import pytest

from api.observability.provider_calls import ProviderCalls
from domain import deadlines
from domain.access.model import ActorKind
from domain.deployments.model import (
    Deployer,
    DeploymentKind,
    DeploymentRecord,
    DeployRequest,
    LiveStatus,
    ProviderCapability,
    ProviderError,
    ProviderUnreachable,
    ProviderUpdate,
    Requester,
)
from domain.deployments.model import DeploymentState as S
from domain.deployments.ports import DeploymentStore, RecordedDeployment
from domain.errors import ErrorCode, PreconditionFailed
from providers.circuits import ProviderCircuits
from providers.deployers.registry import build_deployer
from providers.postgres.deployments import PostgresDeploymentStore
from providers.postgres.reads import PostgresCatalogReader
from resolvers.deployers_by_environment import DeployerFactory, DeployersByEnvironment
from resolvers.rollouts import Rollouts
from tests.support.clock import FakeClock
from tests.support.waiting import until

ADA = Requester(ActorKind.USER, 1, "Ada")
SIMULATED = {"durationSeconds": 5, "failVersions": "-broken$"}
Call = Callable[[DeployRequest], Awaitable[ProviderUpdate]]


async def never(_: float = 0) -> None:
    await asyncio.Event().wait()


class FakeDeployer:
    """A provider whose answers the test decides."""

    def __init__(
        self,
        start: Call,
        poll: Call | None = None,
        capabilities: frozenset[ProviderCapability] = frozenset({ProviderCapability.DEPLOY}),
        kind: str = "fake",
    ) -> None:
        self.kind = kind
        self._start = start
        self._poll = poll or start
        self.capabilities = capabilities
        self.calls: list[str] = []

    async def start(self, request: DeployRequest) -> ProviderUpdate:
        self.calls.append("start")
        return await self._start(request)

    async def poll(self, request: DeployRequest, external_id: str | None) -> ProviderUpdate:
        self.calls.append("poll")
        return await self._poll(request)

    async def cancel(self, request: DeployRequest, external_id: str | None) -> ProviderUpdate:
        self.calls.append("cancel")
        return ProviderUpdate(S.CANCELED, "canceled")

    async def live_status(
        self, service_slug: str, environment_slug: str, settings: Mapping[str, Any]
    ) -> LiveStatus | None:
        return None


def answer(state: S, raw: str | None = None, message: str | None = None) -> Call:
    async def call(_: DeployRequest) -> ProviderUpdate:
        return ProviderUpdate(state, raw, message)

    return call


def refuse(message: str) -> Call:
    async def call(_: DeployRequest) -> ProviderUpdate:
        raise ProviderError(message)

    return call


async def hang(_: DeployRequest) -> ProviderUpdate:
    await never()
    raise AssertionError


class Unanswered:
    """A provider call that never answers, and notes for each time it is cut off whether the
    deadline of the call did it (`deadlines.passed()`), not another cancellation."""

    def __init__(self) -> None:
        self.cut_by_deadline: list[bool] = []

    async def __call__(self, _: DeployRequest) -> ProviderUpdate:
        try:
            await never()
        except asyncio.CancelledError:
            self.cut_by_deadline.append(deadlines.passed())
            raise
        raise AssertionError


class World:
    """A store over services `api`, `web` and environment `staging` (simulated provider),
    and a factory of runners over it (each a "process": its own adapters)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.store = PostgresDeploymentStore(pool)
        self.catalog = PostgresCatalogReader(pool)
        self.clock = FakeClock()
        self.runners: list[Rollouts] = []

    async def tick(self, seconds: float) -> None:
        self.clock.advance(seconds)
        await asyncio.sleep(0)

    def runner(
        self,
        deployer: Deployer | None = None,
        *,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        deadline: float = 5.0,
        build: DeployerFactory | None = None,
        store: DeploymentStore | None = None,
        retry_first: float = 0.5,
        retry_max: float = 30.0,
    ) -> Rollouts:
        store = store or self.store
        if build is not None:
            deployers = DeployersByEnvironment(store, clock=self.clock, build=build)
        elif deployer is None:
            deployers = DeployersByEnvironment(store, clock=self.clock, build=build_deployer)
        else:
            fake = deployer
            deployers = DeployersByEnvironment(store, build=lambda *_, **__: fake)
        rollouts = Rollouts(
            store, self.catalog, deployers, call_deadline_seconds=deadline,
            poll_seconds=1, sleep=sleep or self.tick, store_retry_seconds=retry_first,
            store_retry_max_seconds=retry_max,
        )  # fmt: skip
        self.runners.append(rollouts)
        return rollouts

    async def deploy(self, version: str = "1.0.0", service: str = "api") -> DeploymentRecord:
        record, _ = await self.store.create(
            service, "staging", version, None, None, DeploymentKind.DEPLOY, ADA
        )
        return record

    async def get(self, deployment_id: int) -> DeploymentRecord:
        return (await self.store.by_ids([deployment_id]))[deployment_id]

    async def history(self, deployment_id: int) -> list[tuple[S, str]]:
        events = (await self.store.history([deployment_id]))[deployment_id]
        return [(event.state, event.source) for event in events]

    async def until(self, deployment_id: int, state: S) -> DeploymentRecord:
        for _ in range(200):
            record = await self.get(deployment_id)
            if record.state is state:
                return record
            await asyncio.sleep(0.01)
        raise AssertionError(f"deployment {deployment_id} never reached {state}")


@pytest.fixture
async def world(pool: asyncpg.Pool) -> AsyncIterator[World]:
    await pool.execute("INSERT INTO services (slug, name) VALUES ('api', 'API'), ('web', 'Web')")
    await pool.execute(
        "INSERT INTO environments (slug, name, tier) VALUES ('staging', 'Staging', 'STAGING')"
    )
    world = World(pool)
    await world.store.set_provider("staging", "simulated", SIMULATED)
    yield world
    for runner in world.runners:
        await runner.stop()
        assert not runner.running()


async def settle(rollouts: Rollouts) -> None:
    await asyncio.wait_for(rollouts.wait_idle(), 5)


async def test_a_queued_deployment_runs_to_success(world: World) -> None:
    rollouts = world.runner()
    deployment = await world.deploy()
    await rollouts.begin(deployment)
    await settle(rollouts)
    done = await world.get(deployment.id)
    assert (done.state, done.external_id) == (S.SUCCEEDED, f"sim-{deployment.id}")
    assert done.started_at is not None
    assert done.finished_at is not None
    assert await world.history(deployment.id) == [
        (S.QUEUED, "api"),
        (S.IN_PROGRESS, "provider:simulated"),
        (S.SUCCEEDED, "provider:simulated"),
    ]


async def test_a_version_matching_fail_versions_fails_with_the_message(world: World) -> None:
    rollouts = world.runner()
    deployment = await world.deploy("2.0.0-broken")
    await rollouts.begin(deployment)
    await settle(rollouts)
    done = await world.get(deployment.id)
    assert done.state is S.FAILED
    assert done.status_message == "simulated failure: version 2.0.0-broken matches failVersions"
    assert (await world.history(deployment.id))[-1] == (S.FAILED, "provider:simulated")


async def test_a_provider_error_fails_the_deployment(world: World) -> None:
    rollouts = world.runner(FakeDeployer(refuse("registry says no: image 1.0.0 not found")))
    deployment = await world.deploy()
    await rollouts.begin(deployment)
    await settle(rollouts)
    done = await world.get(deployment.id)
    assert (done.state, done.status_message) == (
        S.FAILED, "registry says no: image 1.0.0 not found",
    )  # fmt: skip
    assert await world.history(deployment.id) == [(S.QUEUED, "api"), (S.FAILED, "provider:fake")]


async def test_a_hung_provider_hits_the_deadline(world: World) -> None:
    """The call is cut by its own deadline (not by the test giving up on it), and only
    once: the deployment fails with the deadline's message, without a second try."""
    unanswered = Unanswered()
    fake = FakeDeployer(unanswered)
    rollouts = world.runner(fake, deadline=0.2)
    deployment = await world.deploy()
    await rollouts.begin(deployment)
    await settle(rollouts)
    assert unanswered.cut_by_deadline == [True]
    assert fake.calls == ["start"]
    done = await world.get(deployment.id)
    assert (done.state, done.status_message) == (
        S.FAILED, "the provider did not answer within 0.2 s",
    )  # fmt: skip
    assert await world.history(deployment.id) == [(S.QUEUED, "api"), (S.FAILED, "provider:fake")]


async def test_polls_are_retried_then_fail(world: World) -> None:
    fake = FakeDeployer(answer(S.IN_PROGRESS, "rolling"), refuse("api unavailable"))
    rollouts = world.runner(fake)
    deployment = await world.deploy()
    await rollouts.begin(deployment)
    await settle(rollouts)
    done = await world.get(deployment.id)
    assert (done.state, done.status_message) == (S.FAILED, "api unavailable")
    assert fake.calls == ["start", "poll", "poll", "poll"]


async def test_an_instant_success_passes_through_in_progress(world: World) -> None:
    rollouts = world.runner(FakeDeployer(answer(S.SUCCEEDED, "done")))
    deployment = await world.deploy()
    await rollouts.begin(deployment)
    await settle(rollouts)
    assert [state for state, _ in await world.history(deployment.id)] == [
        S.QUEUED, S.IN_PROGRESS, S.SUCCEEDED,
    ]  # fmt: skip


async def test_no_news_moves_nothing_and_a_report_elsewhere_ends_the_task(world: World) -> None:
    """The webhook way: accepted, then nothing to tell until the receiver reports through the
    API; a provider answer that conflicts with that report does not crash the task."""
    polls = [ProviderUpdate(S.QUEUED, "UNKNOWN")] * 3

    async def poll(request: DeployRequest) -> ProviderUpdate:
        if polls:
            return polls.pop()
        await world.store.transition(
            request.deployment_id, S.CANCELED, raw_status=None, message="stop", source="api"
        )
        return ProviderUpdate(S.SUCCEEDED, "late")

    rollouts = world.runner(FakeDeployer(answer(S.QUEUED, "accepted"), poll))
    deployment = await world.deploy()
    await rollouts.begin(deployment)
    await settle(rollouts)
    done = await world.get(deployment.id)
    assert (done.state, done.raw_status) == (S.CANCELED, "accepted")
    assert await world.history(deployment.id) == [
        (S.QUEUED, "api"), (S.QUEUED, "provider:fake"), (S.CANCELED, "api"),
    ]  # fmt: skip


async def test_a_restart_resumes_unfinished_deployments(world: World) -> None:
    crashed = world.runner(sleep=never)
    running = await world.deploy("1.0.0", "api")
    await crashed.begin(running)
    await world.until(running.id, S.IN_PROGRESS)
    await crashed.stop()
    queued = await world.deploy("1.0.0", "web")

    restarted = world.runner()
    assert await restarted.resume_unfinished() == 2
    await settle(restarted)
    assert (await world.get(running.id)).state is S.SUCCEEDED
    assert (await world.get(queued.id)).state is S.SUCCEEDED
    assert [state for state, _ in await world.history(running.id)] == [
        S.QUEUED, S.IN_PROGRESS, S.SUCCEEDED,
    ]  # fmt: skip


async def test_waiting_approval_is_not_started(world: World) -> None:
    await world.store.set_protection("staging", 1, [], False)
    rollouts = world.runner()
    deployment = await world.deploy()
    assert deployment.state is S.WAITING_APPROVAL
    await rollouts.begin(deployment)
    assert not rollouts.running()
    assert await rollouts.resume_unfinished() == 0


async def test_deployments_ci_records_are_left_to_ci(world: World) -> None:
    report = RecordedDeployment("api", "staging", "9.9.9", S.IN_PROGRESS, external_id="ci-1")
    recorded, _ = await world.store.record(report, Requester(ActorKind.CLIENT, 1, "ci"))
    rollouts = world.runner(FakeDeployer(hang))
    assert await rollouts.resume_unfinished() == 0
    await rollouts.begin(recorded)
    assert not rollouts.running()
    assert (await rollouts.cancel(recorded)).state is S.CANCELED


async def test_cancel_an_in_progress_deployment_at_the_provider(world: World) -> None:
    rollouts = world.runner(sleep=never)
    deployment = await world.deploy()
    await rollouts.begin(deployment)
    await world.until(deployment.id, S.IN_PROGRESS)
    canceled = await rollouts.cancel(deployment, message="canceled by Ada")
    assert (canceled.state, canceled.status_message) == (S.CANCELED, "canceled by Ada")
    assert canceled.raw_status == "canceled"
    assert not rollouts.running()
    assert (await world.history(deployment.id))[-1] == (S.CANCELED, "api")


async def test_cancel_needs_the_capability_once_in_progress(world: World) -> None:
    fake = FakeDeployer(answer(S.IN_PROGRESS, "rolling"))
    rollouts = world.runner(fake, sleep=never)
    deployment = await world.deploy()
    await rollouts.begin(deployment)
    await world.until(deployment.id, S.IN_PROGRESS)
    with pytest.raises(PreconditionFailed, match="the provider cannot cancel") as refused:
        await rollouts.cancel(deployment)
    assert refused.value.code is ErrorCode.PRECONDITION_FAILED
    assert rollouts.running() == {deployment.id}
    assert "cancel" not in fake.calls


async def test_cancel_before_the_provider_was_reached(world: World) -> None:
    fake = FakeDeployer(answer(S.IN_PROGRESS), capabilities=frozenset(ProviderCapability))
    rollouts = world.runner(fake)
    deployment = await world.deploy()
    canceled = await rollouts.cancel(deployment)
    assert canceled.state is S.CANCELED
    assert fake.calls == []
    finished = await world.deploy("1.0.1")
    await world.store.transition(finished.id, S.FAILED, raw_status=None, message=None, source="api")
    with pytest.raises(PreconditionFailed, match="FAILED is final"):
        await rollouts.cancel(finished)


def _rollout_tasks() -> set[asyncio.Task[object]]:
    return {t for t in asyncio.all_tasks() if t.get_name().startswith("rollout-")}


async def test_stop_leaves_no_task_behind(world: World) -> None:
    # Other runners (the session's app) may share this event loop: only this one's count.
    others = _rollout_tasks()
    rollouts = world.runner(sleep=never)
    deployments = [await world.deploy("1.0.0", slug) for slug in ("api", "web")]
    for deployment in deployments:
        await rollouts.begin(deployment)
    await world.until(deployments[1].id, S.IN_PROGRESS)
    assert rollouts.running() == {d.id for d in deployments}
    await rollouts.stop()
    assert not rollouts.running()
    assert not _rollout_tasks() - others
    await rollouts.begin(deployments[0])
    assert not rollouts.running()


async def test_one_adapter_per_environment_while_its_settings_stay(world: World) -> None:
    deployers = DeployersByEnvironment(world.store, clock=world.clock, build=build_deployer)
    environment_id = (await world.deploy()).environment_id
    first = (await deployers.for_environments([environment_id]))[environment_id]
    again = await deployers.for_environments([environment_id, 999])
    assert again.keys() == {environment_id}
    assert again[environment_id].deployer is first.deployer
    assert first.provider.settings == SIMULATED
    await world.store.set_provider("staging", "simulated", {"durationSeconds": 1})
    changed = (await deployers.for_environments([environment_id]))[environment_id]
    assert changed.deployer is not first.deployer
    # The earlier provider's adapter stays, for the deployments made with it, without
    # displacing the environment's current one.
    assert deployers.for_settings(first.provider) is first.deployer
    again = await deployers.for_environments([environment_id])
    assert again[environment_id].deployer is changed.deployer


# --- store failures -----------------------------------------------------------------------


class FlakyStore(PostgresDeploymentStore):
    """The real store over a database that drops connections: the next `fail[method]` calls
    of a method fail before reaching PostgreSQL; then the next `lose[method]` ones do their
    work (a transition commits) and lose the answer on the way back."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        super().__init__(pool)
        self.fail: Counter[str] = Counter()
        self.lose: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()

    def _before(self, method: str) -> None:
        if self.fail[method] > 0:
            self.fail[method] -= 1
            self.failed[method] += 1
            raise asyncpg.AdminShutdownError("terminating connection due to administrator command")

    def _after(self, method: str) -> None:
        if self.lose[method] > 0:
            self.lose[method] -= 1
            self.failed[method] += 1
            raise asyncpg.ConnectionDoesNotExistError(
                "connection was closed in the middle of operation"
            )

    async def by_ids(self, ids: Sequence[int]) -> dict[int, DeploymentRecord]:
        self._before("by_ids")
        found = await super().by_ids(ids)
        self._after("by_ids")
        return found

    async def deployment_providers(self, deployment_ids: Sequence[int]) -> dict[int, Any]:
        self._before("deployment_providers")
        return await super().deployment_providers(deployment_ids)

    async def transition(self, deployment_id: int, to_state: S, **details: Any) -> DeploymentRecord:
        self._before("transition")
        moved = await super().transition(deployment_id, to_state, **details)
        self._after("transition")
        return moved


class Pauses:
    """The runner's sleep: each pause noted, the fake clock moved on."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.seen: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seen.append(seconds)
        await self.world.tick(seconds)


async def test_store_failures_are_retried_with_a_growing_pause(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """The database goes away while a rollout runs: every store step is tried again until it
    answers, and a change that committed although its answer was lost is not made twice."""
    flaky = FlakyStore(world.pool)
    pauses = Pauses(world)
    rollouts = world.runner(store=flaky, sleep=pauses, retry_first=0.3, retry_max=2)
    deployment = await world.deploy()
    flaky.fail.update({"by_ids": 6, "deployment_providers": 1, "transition": 2})
    flaky.lose["transition"] = 1
    with caplog.at_level(logging.WARNING, logger="resolvers.rollouts"):
        await rollouts.begin(deployment)
        await settle(rollouts)
    done = await world.get(deployment.id)
    assert (done.state, done.external_id) == (S.SUCCEEDED, f"sim-{deployment.id}")
    assert await world.history(deployment.id) == [
        (S.QUEUED, "api"),
        (S.IN_PROGRESS, "provider:simulated"),
        (S.SUCCEEDED, "provider:simulated"),
    ]
    assert flaky.failed == {"by_ids": 6, "deployment_providers": 1, "transition": 3}
    reading, finding, storing = [0.3, 0.6, 1.2, 2, 2, 2], [0.3], [0.3, 0.6, 1.2]
    assert pauses.seen[:10] == pytest.approx(reading + finding + storing)
    assert set(pauses.seen[10:]) == {1}  # then only the polls' pauses
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        "reading it failed (attempt 6: AdminShutdownError" in w and "again in 2 s" in w
        for w in warnings
    ), warnings
    assert any("storing IN_PROGRESS failed (attempt 3: ConnectionDoesNotExistError" in w
               for w in warnings), warnings  # fmt: skip


async def test_a_long_outage_does_not_end_the_rollout(world: World) -> None:
    flaky = FlakyStore(world.pool)
    pauses = Pauses(world)
    rollouts = world.runner(store=flaky, sleep=pauses, retry_first=0.5, retry_max=4)
    deployment = await world.deploy()
    flaky.fail["by_ids"] = 60
    await rollouts.begin(deployment)
    for _ in range(200):
        if flaky.failed["by_ids"] >= 30:
            break
        await asyncio.sleep(0)
    assert rollouts.running() == {deployment.id}
    assert (await world.get(deployment.id)).state is S.QUEUED
    await settle(rollouts)
    assert (await world.get(deployment.id)).state is S.SUCCEEDED
    assert max(pauses.seen) == 4
    assert flaky.failed["by_ids"] == 60


async def test_an_adapter_breaking_its_contract_fails_the_deployment(world: World) -> None:
    async def crash(_: DeployRequest) -> ProviderUpdate:
        raise KeyError("status")

    rollouts = world.runner(FakeDeployer(crash))
    deployment = await world.deploy()
    await rollouts.begin(deployment)
    await settle(rollouts)
    done = await world.get(deployment.id)
    assert (done.state, done.status_message) == (S.FAILED, "the fake provider failed unexpectedly")


async def test_an_adapter_that_cannot_be_set_up_fails_the_deployment(world: World) -> None:
    def build(kind: str, settings: Mapping[str, Any], *, clock: Any = None) -> Deployer:
        raise FileNotFoundError("/var/run/secrets/token")

    rollouts = world.runner(build=build)
    deployment = await world.deploy()
    await rollouts.begin(deployment)
    await settle(rollouts)
    done = await world.get(deployment.id)
    assert (done.state, done.status_message) == (
        S.FAILED, "the simulated provider could not be set up",
    )  # fmt: skip


# --- each deployment on its own provider --------------------------------------------------

WEBHOOK = {"url": "https://hooks.invalid/deploy", "secretEnv": "PAVED_SECRET_TEST_NO_SUCH"}


def webhook_fake() -> FakeDeployer:
    """Stands in for the webhook provider: accepts, then reports progress forever."""
    return FakeDeployer(
        answer(S.IN_PROGRESS, "accepted"), capabilities=frozenset(ProviderCapability),
        kind="webhook",
    )  # fmt: skip


def real_except(world: World, fakes: Mapping[str, Deployer]) -> DeployerFactory:
    def build(kind: str, settings: Mapping[str, Any], *, clock: Any = None) -> Deployer:
        return fakes[kind] if kind in fakes else build_deployer(kind, settings, clock=world.clock)

    return build


async def test_a_running_deployment_keeps_its_provider_when_the_environment_changes(
    world: World,
) -> None:
    webhook = webhook_fake()
    gate = asyncio.Event()

    async def sleep(seconds: float) -> None:
        await gate.wait()
        await world.tick(seconds)

    rollouts = world.runner(build=real_except(world, {"webhook": webhook}), sleep=sleep)
    deployment = await world.deploy()
    await rollouts.begin(deployment)
    await world.until(deployment.id, S.IN_PROGRESS)
    await world.store.set_provider("staging", "webhook", WEBHOOK)
    gate.set()
    await settle(rollouts)
    done = await world.get(deployment.id)
    assert (done.state, done.provider) == (S.SUCCEEDED, "simulated")
    assert await world.history(deployment.id) == [
        (S.QUEUED, "api"),
        (S.IN_PROGRESS, "provider:simulated"),
        (S.SUCCEEDED, "provider:simulated"),
    ]
    assert webhook.calls == []
    # A deployment made now goes to the environment's provider as it is now.
    later = await world.deploy("1.0.1")
    await rollouts.begin(later)
    await world.until(later.id, S.IN_PROGRESS)
    assert (await world.get(later.id)).provider == "webhook"
    assert webhook.calls[0] == "start"


async def test_a_cancel_goes_to_the_provider_the_deployment_runs_on(world: World) -> None:
    webhook = webhook_fake()
    rollouts = world.runner(build=real_except(world, {"webhook": webhook}), sleep=never)
    deployment = await world.deploy()
    await rollouts.begin(deployment)
    await world.until(deployment.id, S.IN_PROGRESS)
    await world.store.set_provider("staging", "webhook", WEBHOOK)
    canceled = await rollouts.cancel(deployment)
    assert (canceled.state, canceled.raw_status) == (S.CANCELED, "canceled")
    assert webhook.calls == []


async def test_a_restart_resumes_each_deployment_on_its_own_provider(world: World) -> None:
    """Unfinished deployments of a provider kind the environment no longer has are resumed
    and reconciled with that provider."""
    crashed = world.runner(sleep=never)
    running = await world.deploy("1.0.0", "api")
    await crashed.begin(running)
    await world.until(running.id, S.IN_PROGRESS)
    await crashed.stop()
    queued = await world.deploy("1.0.0", "web")
    await world.store.set_provider("staging", "webhook", WEBHOOK)

    webhook = webhook_fake()
    restarted = world.runner(build=real_except(world, {"webhook": webhook}))
    assert await restarted.resume_unfinished() == 2
    await settle(restarted)
    for deployment in (running, queued):
        done = await world.get(deployment.id)
        assert (done.state, done.provider) == (S.SUCCEEDED, "simulated")
        assert (await world.history(deployment.id))[-1] == (S.SUCCEEDED, "provider:simulated")
    assert webhook.calls == []


async def test_deployments_made_before_they_kept_their_provider_settings(world: World) -> None:
    """Without settings of its own, a deployment takes its environment's while the kind is
    still its own; when it is not, the deployment fails with the reason instead of going to
    another provider."""
    await world.pool.execute(
        "INSERT INTO environments (slug, name, tier) VALUES ('prod', 'Prod', 'PRODUCTION')"
    )
    kept, _ = await world.store.create(
        "api", "staging", "1.0.0", None, None, DeploymentKind.DEPLOY, ADA
    )
    lost, _ = await world.store.create(
        "api", "prod", "1.0.0", None, None, DeploymentKind.DEPLOY, ADA
    )
    await world.pool.execute("UPDATE deployments SET provider_settings = NULL")
    assert await world.store.deployment_providers([kept.id, lost.id]) == {}
    await world.store.set_provider("prod", "webhook", WEBHOOK)
    webhook = webhook_fake()
    restarted = world.runner(build=real_except(world, {"webhook": webhook}))
    assert await restarted.resume_unfinished() == 2
    await settle(restarted)
    assert (await world.get(kept.id)).state is S.SUCCEEDED
    failed = await world.get(lost.id)
    assert (failed.state, failed.status_message) == (
        S.FAILED,
        "the settings of the simulated provider this deployment was made for are not known, "
        "and its environment's provider is now webhook",
    )
    assert (await world.history(lost.id))[-1] == (S.FAILED, "provider:simulated")
    assert webhook.calls == []


async def test_a_rollback_asks_the_provider_for_the_rollout_it_returns_to(world: World) -> None:
    requests: list[DeployRequest] = []

    async def remember(request: DeployRequest) -> ProviderUpdate:
        requests.append(request)
        return ProviderUpdate(S.SUCCEEDED, "done", external_id=f"rollout-{request.deployment_id}")

    rollouts = world.runner(FakeDeployer(remember))
    shipped = []
    for version in ("1.0.0", "2.0.0", "3.0.0"):
        deployment = await world.deploy(version)
        await rollouts.begin(deployment)
        await settle(rollouts)
        shipped.append(deployment)
    rollback, _ = await world.store.create(
        "api", "staging", "1.0.0", None, None, DeploymentKind.ROLLBACK, ADA,
        rollback_of_id=shipped[2].id, rollback_to_id=shipped[0].id,
    )  # fmt: skip
    await rollouts.begin(rollback)
    await settle(rollouts)
    assert requests[-1].kind is DeploymentKind.ROLLBACK
    # The rollout of 1.0.0 it returns to, not the one of 3.0.0 it replaces.
    assert requests[-1].rollback_to_external_id == f"rollout-{shipped[0].id}"
    assert (await world.get(shipped[2].id)).state is S.ROLLED_BACK


# --- a provider whose circuit is open -----------------------------------------------------


def _behind_circuit(
    fake: FakeDeployer, reset_seconds: float = 0.3
) -> tuple[Deployer, list[str], ProviderCircuits]:
    """`fake` behind a circuit that opens at its first failure and lets a probe through
    `reset_seconds` later; the outcomes of the calls, refused ones (`circuit_open`) included."""
    outcomes: list[str] = []
    circuits = ProviderCircuits(failures=1, reset_seconds=reset_seconds)
    calls = ProviderCalls(lambda kind, operation, outcome, seconds: outcomes.append(outcome), None)
    return calls.deployer(circuits.deployer(fake, {})), outcomes, circuits


async def short_sleep(seconds: float) -> None:
    await asyncio.sleep(min(seconds, 0.05))


async def test_a_deployment_waits_queued_while_its_providers_circuit_is_open(world: World) -> None:
    failures = iter([ProviderUnreachable("start failed after 3 attempts: HTTP 503")])

    async def start(_: DeployRequest) -> ProviderUpdate:
        for failure in failures:
            raise failure
        return ProviderUpdate(S.IN_PROGRESS, "rolling")

    fake = FakeDeployer(start, answer(S.SUCCEEDED, "done"))
    deployer, outcomes, _ = _behind_circuit(fake)
    rollouts = world.runner(deployer, sleep=short_sleep)
    first = await world.deploy()
    await rollouts.begin(first)
    assert (await world.until(first.id, S.FAILED)).status_message == (
        "start failed after 3 attempts: HTTP 503"
    )
    second = await world.deploy("1.0.1")
    await rollouts.begin(second)
    await until(lambda: "circuit_open" in outcomes)
    assert (await world.get(second.id)).state is S.QUEUED
    assert fake.calls == ["start"]
    await world.until(second.id, S.SUCCEEDED)
    assert fake.calls == ["start", "start", "poll"]
    assert await world.history(second.id) == [
        (S.QUEUED, "api"),
        (S.IN_PROGRESS, "provider:fake"),
        (S.SUCCEEDED, "provider:fake"),
    ]


async def test_polls_refused_by_an_open_circuit_are_no_failed_attempts(world: World) -> None:
    polls = iter([ProviderUnreachable("poll failed after 3 attempts: HTTP 502")])

    async def poll(_: DeployRequest) -> ProviderUpdate:
        for failure in polls:
            raise failure
        return ProviderUpdate(S.SUCCEEDED, "done")

    fake = FakeDeployer(answer(S.IN_PROGRESS, "rolling"), poll)
    deployer, outcomes, circuits = _behind_circuit(fake, reset_seconds=3600)
    rollouts = world.runner(deployer, sleep=short_sleep)
    deployment = await world.deploy()
    await rollouts.begin(deployment)
    # One failed poll, then more refused ones than the runner's poll attempts (3).
    await until(lambda: outcomes.count("circuit_open") >= 4)
    assert (await world.get(deployment.id)).state is S.IN_PROGRESS
    circuits.forget()
    await world.until(deployment.id, S.SUCCEEDED)
    assert fake.calls == ["start", "poll", "poll"]
