"""The provisioning runner: hands committed resources to their provider adapter and follows
them until the provider is done, in background tasks it owns (started and stopped with the
app). It works like the rollout runner (`resolvers/rollouts.py`), on the same terms:

- One task per resource in a driven state (`states.DRIVEN`), held under a lease in the store
  (`ResourceStore.claim`), so with several replicas on one database exactly one drives each
  resource; leases are renewed every third of `lease_seconds`; `sweep()` (at start-up, then
  every `sweep_seconds`) takes up resources nobody holds or whose holder died; `stop()`
  releases them so another replica continues at once.
- REQUESTED: `apply()`, then polled. UPDATING and DELETING were set by the API before the
  provider heard of them, so every drive of one calls `apply()` / `delete()` first (the
  adapters' calls are idempotent: a repeat after a takeover is harmless); PROVISIONING is
  only polled. A provider that has nothing to say (`poll()` answers None: its status comes
  back through `reportResourceStatus`) is asked again every `poll_seconds` until the
  resource leaves the driven states.
- Every provider call runs under a deadline; a failure of `apply()`/`delete()` FAILs the
  resource with the provider's message; `poll()` is tried again and fails it after
  `poll_attempts` failures in a row. A provider whose circuit is open was not asked: that
  fails nothing, the call is made again once the circuit lets one through. A store step
  that fails (the database restarting) is retried with a growing pause for as long as the
  runner runs.
- A resource becoming READY may complete its service's first deployment (a template's
  `firstVersion`): `ready()` asks the store for the first deployments now due and creates
  them (each exactly once: the store hands each out once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from cachetools import FIFOCache

from domain import deadlines
from domain.background import start_background
from domain.catalog.ports import CatalogReader
from domain.deployments.model import (
    DeploymentKind,
    DeploymentRecord,
    ProviderError,
    ProviderUnavailable,
)
from domain.deployments.ports import DeploymentStore
from domain.errors import CatalogError, NotFound, ProviderFailure, ProviderPaused
from domain.events.ports import EventWakeups
from domain.resources import states
from domain.resources.model import (
    Provisioner,
    ProvisionRequest,
    ResourceClassRecord,
    ResourceHealth,
    ResourceRecord,
    ResourceState,
    ResourceUpdate,
)
from domain.resources.outputs import without_secrets
from domain.resources.ports import ProvisionerKinds, ResourceStore

log = logging.getLogger(__name__)

T = TypeVar("T")
S = ResourceState
_LIVE_ENTRIES = 10_000


class DeploymentStarter(Protocol):
    async def begin(self, deployment: DeploymentRecord) -> None: ...


@dataclass(frozen=True, slots=True)
class ProvisioningTimings:
    lease_seconds: float = 15.0
    poll_seconds: float = 1.0
    sweep_seconds: float = 5.0
    deadline_seconds: float = 10.0
    poll_attempts: int = 5
    live_deadline_seconds: float = 2.0
    live_cache_seconds: float = 5.0
    store_retry_seconds: float = 0.5
    store_retry_max_seconds: float = 10.0


class Provisioning:
    def __init__(
        self,
        store: ResourceStore,
        kinds: ProvisionerKinds,
        reader: CatalogReader,
        deployments: DeploymentStore,
        *,
        owner: str,
        rollouts: DeploymentStarter | None = None,
        timings: ProvisioningTimings = ProvisioningTimings(),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        released: EventWakeups | None = None,
    ) -> None:
        """`released`: notices that another process gave its leases back (it stopped): a
        sweep runs at once instead of at its time."""
        self._store = store
        self._kinds = kinds
        self._reader = reader
        self._deployments = deployments
        self._rollouts = rollouts
        self._owner = owner
        self._timings = timings
        self._sleep = sleep
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._claiming = 0
        self._background: list[asyncio.Task[None]] = []
        self._stopping = False
        self._clock = clock
        self._released = released
        self._sweep_now = asyncio.Event()
        self._live: FIFOCache[int, tuple[float, ResourceHealth | ProviderFailure | None]] = (
            FIFOCache(maxsize=_LIVE_ENTRIES)
        )

    @property
    def owner(self) -> str:
        return self._owner

    # --- what the use cases call -------------------------------------------------------------

    async def begin(self, resource: ResourceRecord) -> None:
        """Take the lease of a resource a provider must work on now, and drive it."""
        if self._stopping or resource.id in self._tasks:
            return
        for record in await self._claimed([resource.id]):
            self._drive_in_background(record.id)

    async def ready(self, resource: ResourceRecord) -> list[DeploymentRecord]:
        """A resource is READY: make its service's first deployments that are now due."""
        return await self.first_deployments(resource.service_id)

    async def first_deployments(self, service_id: int) -> list[DeploymentRecord]:
        made: list[DeploymentRecord] = []
        for due in await self._store.due_first_deployments(service_id):
            service = (await self._reader.services_by_id([due.service_id])).get(due.service_id)
            environment = (await self._reader.environments_by_id([due.environment_id])).get(
                due.environment_id
            )
            if service is None or environment is None:
                continue
            try:
                deployment, created = await self._deployments.create(
                    service.slug, environment.slug, due.version, None,
                    "first deployment of a service created from a template",
                    DeploymentKind.DEPLOY, due.requester,
                )  # fmt: skip
            except CatalogError as refused:
                log.warning(
                    "service %s: its first deployment to %s was refused: %s",
                    service.slug, environment.slug, refused.message,
                )  # fmt: skip
                continue
            made.append(deployment)
            if created and self._rollouts is not None:
                await self._rollouts.begin(deployment)
        return made

    async def live(
        self,
        resource: ResourceRecord,
        resource_class: ResourceClassRecord,
        service_slug: str,
        environment_slug: str,
    ) -> ResourceHealth | None:
        """The provider's view of the resource now, under the live deadline; `ProviderFailure`
        when it cannot say. Answers (failures too) are reused for `live_cache_seconds`, so a
        page asking again, or a provider that is down, costs one call per resource and
        period; no SQL (the caller's loaders found what it needs)."""
        now = self._clock()
        cached = self._live.get(resource.id)
        if cached is not None and cached[0] > now:
            outcome = cached[1]
        else:
            outcome = await self._live_now(resource, resource_class, service_slug, environment_slug)
            self._live[resource.id] = (now + self._timings.live_cache_seconds, outcome)
        if isinstance(outcome, ProviderFailure):
            raise outcome
        return outcome

    async def _live_now(
        self,
        resource: ResourceRecord,
        resource_class: ResourceClassRecord,
        service_slug: str,
        environment_slug: str,
    ) -> ResourceHealth | ProviderFailure | None:
        try:
            provisioner = self._built(resource_class)
            request = _request(resource, resource_class, service_slug, environment_slug)
            return await self._call(
                provisioner.live(request), provisioner, self._timings.live_deadline_seconds
            )
        except ProviderFailure as failure:
            return failure

    # --- the background ----------------------------------------------------------------------

    async def resume_unfinished(self) -> int:
        return await self.sweep()

    async def sweep(self) -> int:
        """Take up every driven resource nobody holds (or whose holder's lease lapsed)."""
        if self._stopping:
            return 0
        started = 0
        for record in await self._claimed():
            if record.id not in self._tasks:
                self._drive_in_background(record.id)
                started += 1
        return started

    def start(self) -> None:
        self._background = [
            start_background(self._sweep_forever(), "resource-sweep"),
            start_background(
                self._forever(self._renew, self._timings.lease_seconds / 3), "resource-leases"
            ),
        ]
        if self._released is not None:
            self._background.append(
                start_background(self._released.run(self._sweep_now.set), "resource-released")
            )

    async def _sweep_forever(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._timings.sweep_seconds):
                    await self._sweep_now.wait()
            self._sweep_now.clear()
            try:
                taken = await self.sweep()
            except Exception as error:
                log.warning("sweeping for resources failed: %s: %s", type(error).__name__, error)
                continue
            if taken:
                log.info("took over %d resources a provider works on", taken)

    async def stop(self) -> None:
        """Stop driving and release every lease: another replica continues at once."""
        self._stopping = True
        tasks = [*self._background, *self._tasks.values()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        with contextlib.suppress(Exception):
            await self._store.release(self._owner)

    async def forget_everything(self) -> None:
        """Stop driving everything and forget it, leases included (tests whose ids restart)."""
        self._live.clear()
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        with contextlib.suppress(Exception):
            await self._store.release(self._owner)

    async def _claimed(self, ids: list[int] | None = None) -> list[ResourceRecord]:
        """The leases taken (of `ids`, or of every driven resource nobody holds). While a
        claim is in flight, `wait_idle` waits for the driving it may start: a `begin` that
        finds its resource taken by a sweep's claim still running has nothing to wait on."""
        self._claiming += 1
        try:
            return await self._store.claim(self._owner, self._timings.lease_seconds, ids=ids)
        finally:
            self._claiming -= 1

    async def wait_idle(self) -> None:
        """Until no resource is being driven here, nor about to be (tests)."""
        while self._tasks or self._claiming:
            if self._tasks:
                await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)
            else:
                await asyncio.sleep(0.005)

    @property
    def driving(self) -> frozenset[int]:
        return frozenset(self._tasks)

    async def _forever(self, step: Callable[[], Awaitable[object]], every: float) -> None:
        while True:
            await self._sleep(every)
            try:
                await step()
            except Exception as error:
                log.warning("provisioning: %s failed: %s", step.__name__, error)

    async def _renew(self) -> None:
        held = list(self._tasks)
        if not held:
            return
        kept = await self._store.renew(self._owner, held, self._timings.lease_seconds)
        for resource_id in set(held) - kept:
            task = self._tasks.pop(resource_id, None)
            if task is not None:
                log.info("resource %d: its lease was lost; no longer driven here", resource_id)
                task.cancel()

    def _drive_in_background(self, resource_id: int) -> None:
        self._tasks[resource_id] = start_background(
            self._follow(resource_id), f"resource-{resource_id}"
        )

    async def _follow(self, resource_id: int) -> None:
        try:
            await self._drive(resource_id)
        except NotFound:
            log.info("resource %d: gone, no longer driven", resource_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("resource %d: driving it failed; a later sweep takes it up", resource_id)
        finally:
            self._tasks.pop(resource_id, None)
        with contextlib.suppress(Exception):
            await self._store.release(self._owner, [resource_id])

    # --- one resource ------------------------------------------------------------------------

    async def _drive(self, resource_id: int) -> None:
        current = await self._patiently(resource_id, lambda: self._reread(resource_id))
        if current.state not in states.DRIVEN:
            return
        try:
            provisioner, request = await self._target(current)
        except ProviderFailure as failure:
            await self._moved(current, ResourceUpdate(S.FAILED, failure.message), "platform")
            return
        source = f"provider:{provisioner.kind}"
        first = {
            S.REQUESTED: provisioner.apply,
            S.UPDATING: provisioner.apply,
            S.DELETING: provisioner.delete,
        }.get(current.state)
        if first is not None:
            handed = await self._hand_over(current, first, request, provisioner)
            if handed is None:
                return
            current = handed
        failures = 0
        while current.state in states.DRIVEN:
            await self._sleep(self._timings.poll_seconds)
            current = await self._patiently(resource_id, lambda: self._reread(resource_id))
            if current.state not in states.DRIVEN:
                return
            try:
                polled = await self._call(provisioner.poll(request), provisioner)
            except ProviderPaused as paused:
                log.info("resource %d: not polled: %s", resource_id, paused.message)
                continue  # the provider was not asked: not a failure of this resource
            except ProviderFailure as failure:
                failures += 1
                if failures >= self._timings.poll_attempts:
                    await self._moved(current, ResourceUpdate(S.FAILED, failure.message), source)
                    return
                log.warning("resource %d: poll failed: %s", resource_id, failure.message)
                continue
            failures = 0
            if polled is not None:
                current = await self._moved(current, polled, source)

    async def _hand_over(
        self,
        current: ResourceRecord,
        first: Callable[[ProvisionRequest], Awaitable[ResourceUpdate]],
        request: ProvisionRequest,
        provisioner: Provisioner,
    ) -> ResourceRecord | None:
        """`first(request)` (apply or delete) at the provider; the resource after, or None
        when it is not to be driven any more (failed, or moved by someone else). A provider
        whose circuit is open was not asked: it is asked once the circuit lets a call through."""
        source = f"provider:{provisioner.kind}"
        resource_id, state = current.id, current.state
        while True:
            try:
                update = await self._call(first(request), provisioner)
            except ProviderPaused as paused:
                log.info("resource %d: not handed over yet: %s", resource_id, paused.message)
                await self._sleep(max(paused.retry_at - time.time(), self._timings.poll_seconds))
                current = await self._patiently(resource_id, lambda: self._reread(resource_id))
                if current.state is not state:
                    return None  # moved meanwhile: a sweep drives it from where it is now
                continue
            except ProviderFailure as failure:
                await self._moved(current, ResourceUpdate(S.FAILED, failure.message), source)
                return None
            return await self._moved(current, _started(current.state, update), source)

    async def _moved(
        self, current: ResourceRecord, update: ResourceUpdate, source: str
    ) -> ResourceRecord:
        """Store what the provider said, if it is news; the resource as it is now. Building
        and updating are both "in progress": an adapter that cannot tell them apart (after a
        restart) may answer either, and means the one stored."""
        in_progress = {S.PROVISIONING, S.UPDATING}
        if current.state in in_progress and update.state in in_progress:
            update = ResourceUpdate(
                current.state, update.message, update.outputs, update.secret_refs
            )
        news = update.state is not current.state or (
            update.outputs is not None and dict(update.outputs) != dict(current.outputs)
        )
        if not news or not states.allowed(current.state, update.state):
            if update.state is not current.state:
                log.warning(
                    "resource %d: the provider reported %s, which cannot follow %s",
                    current.id, update.state.value, current.state.value,
                )  # fmt: skip
            return current

        async def store_it() -> ResourceRecord:
            return await self._store.transition(
                current.id, update.state, message=update.message, source=source,
                outputs=_safe_outputs(update), secret_refs=update.secret_refs,
            )  # fmt: skip

        try:
            moved = await self._patiently(current.id, store_it)
        except CatalogError as refused:
            log.info("resource %d: %s", current.id, refused.message)
            return await self._patiently(current.id, lambda: self._reread(current.id))
        if moved.state is S.READY:
            try:
                await self.ready(moved)
            except Exception:
                log.exception("resource %d: its service's first deployment failed", moved.id)
        return moved

    async def _target(self, resource: ResourceRecord) -> tuple[Provisioner, ProvisionRequest]:
        classes = await self._store.classes_by_ids([resource.class_id])
        resource_class = classes.get(resource.class_id)
        service = (await self._reader.services_by_id([resource.service_id])).get(
            resource.service_id
        )
        environment = (await self._reader.environments_by_id([resource.environment_id])).get(
            resource.environment_id
        )
        if resource_class is None or service is None or environment is None:
            raise NotFound("the resource's class, service or environment is gone")
        provisioner = self._built(resource_class)
        return provisioner, _request(resource, resource_class, service.slug, environment.slug)

    def _built(self, resource_class: ResourceClassRecord) -> Provisioner:
        try:
            return self._kinds.build(resource_class.provider_kind, resource_class.provider_settings)
        except ProviderError as refused:
            raise ProviderFailure(refused.message) from None

    async def _call(
        self, call: Awaitable[T], provisioner: Provisioner, deadline: float | None = None
    ) -> T:
        seconds = deadline if deadline is not None else self._timings.deadline_seconds
        try:
            async with deadlines.within(seconds):
                return await call
        except ProviderUnavailable as closed:
            raise ProviderPaused(closed.message, closed.retry_at) from None
        except ProviderError as failed:
            raise ProviderFailure(failed.message) from None
        except TimeoutError:
            raise ProviderFailure(
                f"the {provisioner.kind} provider did not answer within {seconds:g} s"
            ) from None
        except Exception:
            log.exception("the %s resource provider failed", provisioner.kind)
            raise ProviderFailure(f"the {provisioner.kind} provider failed") from None

    async def _reread(self, resource_id: int) -> ResourceRecord:
        found = (await self._store.by_ids([resource_id])).get(resource_id)
        if found is None:
            raise NotFound(f"resource {resource_id} is gone")
        return found

    async def _patiently(self, resource_id: int, step: Callable[[], Awaitable[T]]) -> T:
        """A store step tried until it answers: refusals (`CatalogError`s) pass through; any
        other failure (the database down) is tried again after a growing pause."""
        pause = self._timings.store_retry_seconds
        while True:
            try:
                return await step()
            except CatalogError:
                raise
            except Exception as error:
                log.warning(
                    "resource %d: a store step failed (%s: %s); trying again in %g s",
                    resource_id, type(error).__name__, error, pause,
                )  # fmt: skip
            await self._sleep(pause)
            pause = min(pause * 2, self._timings.store_retry_max_seconds)


def _request(
    resource: ResourceRecord,
    resource_class: ResourceClassRecord,
    service_slug: str,
    environment_slug: str,
) -> ProvisionRequest:
    return ProvisionRequest(
        resource_id=resource.id,
        name=resource.name,
        service_slug=service_slug,
        environment_slug=environment_slug,
        class_slug=resource_class.slug,
        class_type=resource_class.type,
        parameters=resource.parameters,
        settings=resource_class.provider_settings,
        started_at=resource.action_started_at,
        state=resource.state,
    )


def _started(state: ResourceState, update: ResourceUpdate) -> ResourceUpdate:
    """What the first call answered, where the state it leaves is the one already stored:
    a request that was accepted is PROVISIONING (an update stays UPDATING)."""
    if state is S.REQUESTED and update.state is S.REQUESTED:
        return ResourceUpdate(S.PROVISIONING, update.message, update.outputs, update.secret_refs)
    return update


def _safe_outputs(update: ResourceUpdate) -> dict[str, object] | None:
    """A provider's outputs without anything that names a secret."""
    return None if update.outputs is None else without_secrets(update.outputs)
