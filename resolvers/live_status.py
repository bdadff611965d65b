"""Live status of a service in an environment, asked of the environment's provider adapter.

Each call runs under a deadline and its outcome, failures included, is cached for a few
seconds per (service, environment), so a page asking about the same pair many times, or a
provider that is down, costs one call per pair and period. Concurrent lookups of one pair share
one call. `get` is a plain coroutine: the GraphQL executor runs a page's lookups concurrently.
A failure raises `ProviderFailure` (code PROVIDER_ERROR), which a nullable field turns into
`null` plus an error at its path.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from domain import deadlines
from domain.deployments.model import LiveStatus, ProviderCapability, ProviderError
from domain.deployments.ports import ProviderSettings
from domain.errors import ProviderFailure
from resolvers.deployers_by_environment import DeployerLookup

log = logging.getLogger(__name__)

Key = tuple[str, str]
Outcome = LiveStatus | ProviderFailure | None

_MAX_ENTRIES = 10_000


@dataclass(frozen=True, slots=True)
class _Entry:
    outcome: Outcome
    expires_at: float


class _Interrupted:
    """What a shared lookup hands its waiters when its own caller was canceled."""


_INTERRUPTED = _Interrupted()


class LiveStatusLookup:
    def __init__(
        self,
        deployers: DeployerLookup,
        *,
        deadline_seconds: float = 2.0,
        cache_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._deployers = deployers
        self._deadline = deadline_seconds
        self._ttl = cache_seconds
        self._clock = clock
        self._cache: OrderedDict[Key, _Entry] = OrderedDict()
        self._in_flight: dict[Key, asyncio.Future[Outcome | _Interrupted]] = {}

    async def get(
        self, service: str, environment: str, settings: ProviderSettings
    ) -> LiveStatus | None:
        """`service` and `environment` are slugs; `settings` the environment's provider.
        None when the provider has no live status for it (or none at all)."""
        key = (service, environment)
        while True:
            entry = self._cache.get(key)
            if entry is not None and entry.expires_at > self._clock():
                return _unwrap(entry.outcome)
            shared = self._in_flight.get(key)
            if shared is None:
                return _unwrap(await self._lead(key, settings))
            outcome = await asyncio.shield(shared)
            if not isinstance(outcome, _Interrupted):
                return _unwrap(outcome)

    def forget(self) -> None:
        self._cache.clear()

    async def _lead(self, key: Key, settings: ProviderSettings) -> Outcome:
        shared: asyncio.Future[Outcome | _Interrupted] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = shared
        try:
            outcome = await self._ask(key, settings)
        except BaseException:
            shared.set_result(_INTERRUPTED)
            raise
        finally:
            del self._in_flight[key]
        self._cache[key] = _Entry(outcome, self._clock() + self._ttl)
        self._cache.move_to_end(key)
        if len(self._cache) > _MAX_ENTRIES:
            self._cache.popitem(last=False)
        shared.set_result(outcome)
        return outcome

    async def _ask(self, key: Key, settings: ProviderSettings) -> Outcome:
        service, environment = key
        try:
            deployer = self._deployers.for_settings(settings)
            if ProviderCapability.LIVE_STATUS not in deployer.capabilities:
                return None
            async with deadlines.within(self._deadline):
                return await deployer.live_status(service, environment, settings.settings)
        except TimeoutError:
            return ProviderFailure(
                f"the {settings.kind} provider did not answer within {self._deadline:g} s"
            )
        except ProviderError as error:
            return ProviderFailure(error.message)
        except Exception:
            log.exception("live status of %s in %s from %s", service, environment, settings.kind)
            return ProviderFailure(f"the {settings.kind} provider failed")


def _unwrap(outcome: Outcome) -> LiveStatus | None:
    if isinstance(outcome, ProviderFailure):
        raise ProviderFailure(outcome.message)
    return outcome
