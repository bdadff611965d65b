"""The rollout runner: hands committed deployments to their provider adapter and follows them
to the end, in background tasks it owns (started and stopped with the app).

One task per deployment: `start()` for a QUEUED one, then `poll()` every `poll_seconds` until
the store holds a finished state. Each provider call runs under a deadline; a `ProviderError`,
a missed deadline or any other failure of the adapter on `start()` fails the deployment with
the provider's message, `poll()` (idempotent) is tried again on the next round and fails it
after `poll_attempts` failures in a row. A provider whose circuit is open
(`providers/circuits.py`) is not asked at all: that is no failure of the deployment, which is
started or polled again once the circuit lets a call through. What the provider reports is
stored with source `provider:<kind>`. The store is re-read before every round, so a
deployment moved by someone else (`reportDeploymentStatus`, a cancel) ends its task.

A deployment is followed on the provider it was created with (`DeploymentStore.
deployment_providers`: the kind and settings its environment had then), not on whatever its
environment has now: changing an environment's provider never moves a running rollout.

Nothing is lost or stuck: a store step that fails (the database restarting, a dropped
connection) is retried with a growing pause (`store_retry_seconds`, doubling up to
`store_retry_max_seconds`) for as long as the runner runs, with a warning each time; refusals
(`CatalogError`s) are answers, not failures, and are not retried. A WAITING_APPROVAL
deployment waits for whoever approves it to call `begin` again.

Several processes (replicas) may run on one store: each deployment is followed by the one
holding its lease (`DeploymentStore.claim_rollouts`), named by this runner's `owner`. `begin`
claims the deployment it is given; `sweep()` (at start-up, `resume_unfinished`, then every
`sweep_seconds` once `start()` ran) claims every driven deployment nobody holds or whose lease
lapsed (its process died) and reconciles it with its own provider (one whose provider cannot
be built any more is FAILED with the reason). The leases of followed deployments are renewed
every third of `lease_seconds`; a deployment whose lease was lost (renewals failed for longer
than the lease, and another process took it) stops being followed here. `stop()` releases
every lease, so another process continues at its next sweep rather than after the lease.

`start()` on the provider is called for a QUEUED deployment only, while this runner holds its
lease (checked just before the call); a deployment taken over IN_PROGRESS is polled, never
started again. A process dying between the provider accepting `start()` and IN_PROGRESS being
stored leaves a QUEUED deployment that the next holder starts again: the adapters make a
repeated start of the same deployment id harmless (the webhook's `Idempotency-Key`, Argo CD's
operation info, Kubernetes' patch of the same version).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

from domain import deadlines
from domain.background import start_background
from domain.catalog.ports import CatalogReader
from domain.deployments import states
from domain.deployments.model import (
    Deployer,
    DeploymentKind,
    DeploymentRecord,
    DeploymentState,
    DeployRequest,
    ProviderCapability,
    ProviderError,
    ProviderUnavailable,
    ProviderUpdate,
)
from domain.deployments.ports import DeploymentStore, ProviderSettings
from domain.errors import (
    CatalogError,
    NotFound,
    PreconditionFailed,
    ProviderFailure,
    ProviderPaused,
)
from domain.events.ports import EventWakeups
from resolvers.deployers_by_environment import DeployerLookup

log = logging.getLogger(__name__)

S = DeploymentState
T = TypeVar("T")
A = TypeVar("A")
Sleep = Callable[[float], Awaitable[None]]

_DRIVEN = frozenset({S.QUEUED, S.IN_PROGRESS})
_PROVIDER_OUTCOMES = frozenset({S.SUCCEEDED, S.FAILED})
_PATH = ("input", "deployment")
_NO_NEWS = "UNKNOWN"
"""`raw_status` of a QUEUED poll answer that means "nothing newer than you know" (webhook)."""


class Rollouts:
    def __init__(
        self,
        store: DeploymentStore,
        catalog: CatalogReader,
        deployers: DeployerLookup,
        *,
        call_deadline_seconds: float = 10.0,
        poll_seconds: float = 2.0,
        poll_attempts: int = 3,
        store_retry_seconds: float = 0.5,
        store_retry_max_seconds: float = 30.0,
        sleep: Sleep = asyncio.sleep,
        owner: str | None = None,
        lease_seconds: float = 15.0,
        sweep_seconds: float | None = None,
        sweep_batch: int = 100,
        released: EventWakeups | None = None,
    ) -> None:
        """`owner`: this process's name on the leases it holds (by default a random one);
        `sweep_seconds`: the pause between sweeps (by default a third of `lease_seconds`);
        `released`: notices that another process gave its leases back (it stopped): a sweep
        runs at once instead of at its time."""
        self._store = store
        self._catalog = catalog
        self._deployers = deployers
        self._deadline = call_deadline_seconds
        self._poll_seconds = poll_seconds
        self._poll_attempts = poll_attempts
        self._retry_seconds = store_retry_seconds
        self._retry_max_seconds = max(store_retry_seconds, store_retry_max_seconds)
        self._sleep = sleep
        self._owner = owner or f"rollouts-{uuid.uuid4().hex[:12]}"
        self._lease_seconds = lease_seconds
        self._renew_seconds = lease_seconds / 3
        self._sweep_seconds = sweep_seconds if sweep_seconds is not None else lease_seconds / 3
        self._sweep_batch = sweep_batch
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._claiming = 0
        self._started: set[int] = set()
        self._held_aside: set[int] = set()
        """Deployments whose lease is held here while they are not followed (being canceled)."""
        self._upkeep: list[asyncio.Task[None]] = []
        self._stopped = False
        self._released = released
        self._sweep_now = asyncio.Event()

    @property
    def owner(self) -> str:
        return self._owner

    # --- the runner ---------------------------------------------------------------------

    async def begin(self, deployment: DeploymentRecord) -> None:
        """Claim `deployment` and follow it in the background (after its transaction
        committed). Nothing happens when it is already followed (here or by another process),
        waiting for approval, finished, or recorded (CI runs those itself and reports their
        progress). When the store cannot be reached, a later sweep (of any process) takes it."""
        if not self._drivable(deployment):
            return
        try:
            claimed = await self._claimed(ids=[deployment.id])
        except Exception as error:
            log.warning(
                "deployment %d: claiming it failed (%s: %s); a sweep takes it later",
                deployment.id, type(error).__name__, error,
            )  # fmt: skip
            return
        for mine in claimed:
            self._follow_in_background(mine)

    def _drivable(self, deployment: DeploymentRecord) -> bool:
        return (
            not self._stopped
            and deployment.state in _DRIVEN
            and deployment.kind is not DeploymentKind.RECORDED
            and deployment.id not in self._tasks
            and deployment.id not in self._held_aside
        )

    def _follow_in_background(self, deployment: DeploymentRecord) -> None:
        """Follow `deployment`, whose lease this runner holds."""
        if not self._drivable(deployment):
            return
        task = start_background(self._follow(deployment.id), f"rollout-{deployment.id}")
        self._tasks[deployment.id] = task
        task.add_done_callback(lambda _: self._tasks.pop(deployment.id, None))

    async def resume_unfinished(self) -> int:
        """At start-up: the first `sweep()`."""
        return await self.sweep()

    async def sweep(self) -> int:
        """Claim and follow the QUEUED and IN_PROGRESS deployments (not those CI records
        itself) that no process holds, or whose holder let its lease lapse, each on the
        provider it was created with, whatever its environment's provider is now. How many
        this runner follows now that it did not before."""
        if self._stopped:
            return 0
        followed = 0
        while True:
            claimed = await self._claimed(limit=self._sweep_batch)
            fresh = [d for d in claimed if self._drivable(d)]
            for deployment in fresh:
                self._follow_in_background(deployment)
            followed += len(fresh)
            if len(claimed) < self._sweep_batch or not fresh:
                return followed

    def start(self) -> None:
        """Keep the leases of followed deployments and sweep, in background tasks, until
        `stop()`."""
        if self._upkeep or self._stopped:
            return
        self._upkeep = [
            start_background(self._renew_forever(), "rollout-leases"),
            start_background(self._sweep_forever(), "rollout-sweep"),
        ]
        if self._released is not None:
            self._upkeep.append(
                start_background(self._released.run(self._sweep_now.set), "rollout-released")
            )

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(self._renew_seconds)
            await self.renew()

    async def renew(self) -> None:
        """Renew the leases of the deployments followed here; stop following those whose
        lease is not ours any more (finished, or taken by another process)."""
        followed = [*self._tasks, *self._held_aside]
        if not followed:
            return
        try:
            held = await self._store.renew_rollouts(self._owner, followed, self._lease_seconds)
        except Exception as error:
            log.warning("renewing rollout leases failed: %s: %s", type(error).__name__, error)
            return
        for lost in set(followed) - held:
            task = self._tasks.get(lost)
            if task is not None:
                log.info("deployment %d: its lease is not ours any more; not followed here", lost)
                task.cancel()

    async def _sweep_forever(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._sweep_seconds):
                    await self._sweep_now.wait()
            self._sweep_now.clear()
            try:
                taken = await self.sweep()
            except Exception as error:
                log.warning("sweeping for rollouts failed: %s: %s", type(error).__name__, error)
                continue
            if taken:
                log.info("took over %d unfinished deployments", taken)

    def running(self) -> frozenset[int]:
        return frozenset(self._tasks)

    async def _claimed(
        self, ids: list[int] | None = None, limit: int = 100
    ) -> list[DeploymentRecord]:
        """The leases taken (of `ids`, or of up to `limit` driven deployments nobody holds).
        While a claim is in flight, `wait_idle` waits for the following it may start: a
        `begin` that finds its deployment taken by a sweep's claim still running has nothing
        to wait on."""
        self._claiming += 1
        try:
            return await self._store.claim_rollouts(
                self._owner, self._lease_seconds, ids=ids, limit=limit
            )
        finally:
            self._claiming -= 1

    async def wait_idle(self) -> None:
        """Until no deployment is followed here, nor about to be (tests; draining)."""
        while self._tasks or self._claiming:
            if self._tasks:
                await asyncio.wait(list(self._tasks.values()))
            else:
                await asyncio.sleep(0.005)

    async def stop(self) -> None:
        """Stop following anything and release every lease held here, so that other
        processes take the deployments over at their next sweep."""
        self._stopped = True
        await self._halt([*self._upkeep, *self._tasks.values()])
        self._upkeep = []
        await self._release(None)

    async def forget_everything(self) -> None:
        """Stop following anything and forget what was started, but keep running: for
        tests, whose database (ids included) starts afresh each time."""
        await self._halt(list(self._tasks.values()))
        self._started.clear()
        await self._release(None)

    async def _release(self, ids: list[int] | None) -> None:
        """Give up leases (`ids`, or all); when the store cannot be reached they lapse."""
        try:
            await self._store.release_rollouts(self._owner, ids)
        except Exception as error:
            log.warning(
                "releasing rollout leases failed (%s: %s); they lapse within %g s",
                type(error).__name__, error, self._lease_seconds,
            )  # fmt: skip

    async def cancel(
        self,
        deployment: DeploymentRecord,
        store: DeploymentStore | None = None,
        *,
        source: str = "api",
        message: str | None = None,
    ) -> DeploymentRecord:
        """Cancel `deployment`: at the provider first when the rollout reached it (refused with
        PRECONDITION_FAILED for an IN_PROGRESS one when the provider cannot cancel), then in
        `store` (an audited one, say; by default the runner's). A provider failure raises
        `ProviderFailure` and leaves the deployment followed as before."""
        current = await self._reread(deployment.id)
        states.check(current.state, S.CANCELED, path=_PATH)
        if current.state is S.WAITING_APPROVAL or current.kind is DeploymentKind.RECORDED:
            return await self._cancel_in(store, current, None, source, message)
        reached = bool(
            current.state is S.IN_PROGRESS or current.external_id or current.id in self._started
        )
        target = await self._target(current) if reached else None
        can_cancel = target is not None and ProviderCapability.CANCEL in target[0].capabilities
        if current.state is S.IN_PROGRESS and not can_cancel:
            raise PreconditionFailed("the provider cannot cancel", list(_PATH))
        following = self._tasks.get(current.id)
        if following is not None:
            # Held aside while canceling: its lease is still renewed, no sweep resumes it.
            self._held_aside.add(current.id)
            await self._halt([following])
        try:
            if target is None or not can_cancel:
                return await self._cancel_in(store, current, None, source, message)
            deployer, request = target
            update = await self._call(deployer.cancel(request, current.external_id), deployer)
            if update.state in _PROVIDER_OUTCOMES:
                finished = await self._apply(current, update, f"provider:{deployer.kind}")
                raise PreconditionFailed(
                    f"deployment {current.id} finished ({finished.state.value}) before it "
                    "could be canceled",
                    list(_PATH),
                )
            return await self._cancel_in(store, current, update, source, message)
        except Exception:
            if following is not None:
                self._held_aside.discard(current.id)
                self._follow_in_background(current)
            raise
        finally:
            self._held_aside.discard(current.id)

    # --- following one deployment -------------------------------------------------------

    async def _follow(self, deployment_id: int) -> None:
        """Drive the deployment, then give up its lease. A task canceled (a lost lease, a
        cancel, `stop()`) leaves the lease to whoever canceled it."""
        try:
            await self._drive(deployment_id)
        except NotFound:
            log.info("deployment %d: gone, no longer followed", deployment_id)
        except Exception:
            log.exception(
                "deployment %d: following it failed; a later sweep takes it up again",
                deployment_id,
            )
        finally:
            self._started.discard(deployment_id)
        await self._release([deployment_id])

    async def _drive(self, deployment_id: int) -> None:
        current = await self._patiently(deployment_id, "reading it", self._reread, deployment_id)
        if current.state not in _DRIVEN:
            return
        try:
            deployer, request = await self._patiently(
                deployment_id, "finding its provider", self._target, current
            )
        except ProviderFailure as failure:
            await self._fail(current, failure, f"provider:{current.provider}")
            return
        source = f"provider:{deployer.kind}"
        if current.state is S.QUEUED:
            started = await self._start(current, deployer, request, source)
            if started is None:
                return
            current = started
        failures = 0
        while current.state in _DRIVEN:
            await self._sleep(self._poll_seconds)
            current = await self._patiently(
                deployment_id, "reading it", self._reread, deployment_id
            )
            if current.state not in _DRIVEN:
                return
            try:
                update = await self._call(deployer.poll(request, current.external_id), deployer)
            except ProviderPaused as paused:
                log.info("deployment %d: not polled: %s", deployment_id, paused.message)
                continue  # the provider was not asked: not a failure of this deployment
            except ProviderFailure as failure:
                failures += 1
                if failures >= self._poll_attempts:
                    await self._fail(current, failure, source)
                    return
                log.warning("deployment %d: poll failed: %s", deployment_id, failure.message)
                continue
            failures = 0
            current = await self._apply(current, update, source, patient=True)

    async def _start(
        self,
        current: DeploymentRecord,
        deployer: Deployer,
        request: DeployRequest,
        source: str,
    ) -> DeploymentRecord | None:
        """`start()` at the provider, while this runner holds the lease; the deployment
        after, or None when it is not to be followed here any more (failed, lease lost). A
        provider whose circuit is open was not asked: the deployment stays QUEUED and is
        started once the circuit lets a call through."""
        while True:
            if not await self._patiently(current.id, "renewing its lease", self._hold, current):
                log.info("deployment %d: its lease is not ours any more; not started", current.id)
                return None
            self._started.add(current.id)
            try:
                update = await self._call(deployer.start(request), deployer)
            except ProviderPaused as paused:
                self._started.discard(current.id)
                log.info("deployment %d: not started yet: %s", current.id, paused.message)
                await self._sleep(max(paused.retry_at - time.time(), self._poll_seconds))
                current = await self._patiently(current.id, "reading it", self._reread, current.id)
                if current.state is not S.QUEUED:
                    return current
                continue
            except ProviderFailure as failure:
                await self._fail(current, failure, source)
                return None
            return await self._apply(current, update, source, patient=True)

    async def _patiently(
        self,
        deployment_id: int,
        what: str,
        step: Callable[[A], Awaitable[T]],
        argument: A,
    ) -> T:
        """`step(argument)`, a store step of a followed deployment, tried until it answers:
        refusals (`CatalogError`s, NotFound among them) are answers and pass through; any other
        failure (the database down, a dropped connection) is logged and tried again after a
        pause that doubles up to `store_retry_max_seconds`, for as long as the runner runs."""
        pause = self._retry_seconds
        attempt = 1
        while True:
            try:
                return await step(argument)
            except CatalogError:
                raise
            except Exception as error:
                log.warning(
                    "deployment %d: %s failed (attempt %d: %s: %s); trying again in %g s",
                    deployment_id, what, attempt, type(error).__name__, error, pause,
                )  # fmt: skip
            await self._sleep(pause)
            pause = min(pause * 2, self._retry_max_seconds)
            attempt += 1

    async def _call(self, call: Awaitable[T], deployer: Deployer) -> T:
        """A provider call under the deadline; its failures as `ProviderFailure`. An adapter
        that breaks its contract (raises something else) fails the call too, with a generic
        message (its own words may hold anything)."""
        try:
            async with deadlines.within(self._deadline):
                return await call
        except TimeoutError:
            raise ProviderFailure(
                f"the provider did not answer within {self._deadline:g} s"
            ) from None
        except ProviderUnavailable as closed:
            raise ProviderPaused(closed.message, closed.retry_at) from None
        except ProviderError as error:
            raise ProviderFailure(error.message) from None
        except Exception:
            log.exception("the %s provider failed unexpectedly", deployer.kind)
            raise ProviderFailure(f"the {deployer.kind} provider failed unexpectedly") from None

    async def _apply(
        self,
        current: DeploymentRecord,
        update: ProviderUpdate,
        source: str,
        *,
        patient: bool = False,
    ) -> DeploymentRecord:
        """Store what the provider reported, if it is news; the stored deployment after.
        `patient`: in a followed deployment's task, where store failures are retried
        (`_patiently`); a caller waiting for an answer (a cancel) hears of them instead."""
        if not _is_news(current, update):
            return current
        steps = [update]
        if current.state is S.QUEUED and update.state is S.SUCCEEDED:
            steps.insert(0, ProviderUpdate(S.IN_PROGRESS, update.raw_status, None))

        async def store(step: ProviderUpdate) -> DeploymentRecord:
            return await self._store.transition(
                current.id, step.state, raw_status=step.raw_status, message=step.message,
                source=source, url=update.url, external_id=update.external_id,
                log_url=update.log_url,
            )  # fmt: skip

        try:
            for step in steps:
                # A retried transition that did commit the first time is a report of the
                # state the deployment is in: accepted, and it changes nothing.
                if patient:
                    what = f"storing {step.state.value}"
                    current = await self._patiently(current.id, what, store, step)
                else:
                    current = await store(step)
        except NotFound:
            raise
        except CatalogError as refused:
            log.info("deployment %d: %s", current.id, refused.message)
            if patient:
                return await self._patiently(current.id, "reading it", self._reread, current.id)
            return await self._reread(current.id)
        return current

    async def _fail(self, current: DeploymentRecord, failure: ProviderFailure, source: str) -> None:
        log.warning("deployment %d failed at the provider: %s", current.id, failure.message)
        update = ProviderUpdate(S.FAILED, None, failure.message)
        await self._apply(current, update, source, patient=True)

    # --- helpers ------------------------------------------------------------------------

    async def _cancel_in(
        self,
        store: DeploymentStore | None,
        current: DeploymentRecord,
        update: ProviderUpdate | None,
        source: str,
        message: str | None,
    ) -> DeploymentRecord:
        return await (store or self._store).transition(
            current.id, S.CANCELED,
            raw_status=update.raw_status if update else None,
            message=message or (update.message if update else None),
            source=source,
            url=update.url if update else None,
            external_id=update.external_id if update else None,
            log_url=update.log_url if update else None,
        )  # fmt: skip

    async def _hold(self, deployment: DeploymentRecord) -> bool:
        """Whether this runner still holds `deployment`'s lease (renewed if so)."""
        held = await self._store.renew_rollouts(self._owner, [deployment.id], self._lease_seconds)
        return deployment.id in held

    async def _reread(self, deployment_id: int) -> DeploymentRecord:
        found = (await self._store.by_ids([deployment_id])).get(deployment_id)
        if found is None:
            raise NotFound(f"no deployment {deployment_id}", list(_PATH))
        return found

    async def _target(self, deployment: DeploymentRecord) -> tuple[Deployer, DeployRequest]:
        """The adapter of the provider `deployment` was created with and what to ask it;
        NotFound when something is gone, ProviderFailure when its provider cannot be built."""
        provider = await self._provider_of(deployment)
        try:
            deployer = self._deployers.for_settings(provider)
        except ProviderError as error:
            raise ProviderFailure(error.message) from None
        except Exception:
            # Not a store failure to try again: the adapter itself cannot be set up.
            log.exception("building the %s provider failed unexpectedly", provider.kind)
            raise ProviderFailure(f"the {provider.kind} provider could not be set up") from None
        services = await self._catalog.services_by_id([deployment.service_id])
        environments = await self._catalog.environments_by_id([deployment.environment_id])
        service = services.get(deployment.service_id)
        environment = environments.get(deployment.environment_id)
        if service is None or environment is None:
            raise NotFound(f"deployment {deployment.id}: its service or environment is gone")
        rollback_to = None
        if deployment.kind is DeploymentKind.ROLLBACK and deployment.rollback_to_id is not None:
            found = await self._store.by_ids([deployment.rollback_to_id])
            target = found.get(deployment.rollback_to_id)
            rollback_to = target.external_id if target else None
        request = DeployRequest(
            deployment.id, service.slug, environment.slug, deployment.version,
            deployment.commit_sha, deployment.kind, provider.settings, rollback_to,
            started_at=deployment.started_at,
        )  # fmt: skip
        return deployer, request

    async def _provider_of(self, deployment: DeploymentRecord) -> ProviderSettings:
        """The provider (kind and settings) `deployment` was created with. A deployment made
        before deployments kept their provider's settings takes its environment's, as long as
        the environment's provider is still of the deployment's kind."""
        own = (await self._store.deployment_providers([deployment.id])).get(deployment.id)
        if own is not None:
            return own
        found = await self._store.providers([deployment.environment_id])
        current = found.get(deployment.environment_id)
        if current is None:
            raise NotFound(f"deployment {deployment.id}: its environment is gone")
        if current.kind != deployment.provider:
            raise ProviderFailure(
                f"the settings of the {deployment.provider} provider this deployment was made "
                f"for are not known, and its environment's provider is now {current.kind}"
            )
        return current

    @staticmethod
    async def _halt(tasks: list[asyncio.Task[None]]) -> None:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _is_news(current: DeploymentRecord, update: ProviderUpdate) -> bool:
    if update.state is S.QUEUED and update.raw_status == _NO_NEWS:
        return False
    if update.state is not current.state:
        return True
    stored = (current.raw_status, current.status_message, current.external_id, current.url)
    reported = (update.raw_status, update.message, update.external_id, update.url)
    return any(new is not None and new != old for new, old in zip(reported, stored, strict=True))
