"""The token cache's rules without a database: what each notice drops, what a lost connection
and a racing notice do, and that a token's use is noted at most once per interval."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pytest

from api.token_cache import TokenCache, TokenCacheSettings
from domain.access.model import ActorKind, ApiTokenRecord, Scope
from domain.access.ports import TokenIdentity
from domain.access.tokens import new_token

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def identity(token_id: int, kind: ActorKind, actor_id: int) -> TokenIdentity:
    user, client = (actor_id, None) if kind is ActorKind.USER else (None, actor_id)
    record = ApiTokenRecord(
        token_id, "paved_abcdef", "t", user, client, (Scope.READ,), None, None, None, NOW
    )
    return TokenIdentity(record, kind, actor_id, "h", "n", False, frozenset())


class Lookup:
    """The store's part: secrets it knows, and how often it was asked."""

    def __init__(self) -> None:
        self.known: dict[str, TokenIdentity] = {}
        self.asked = 0
        self.gate: asyncio.Event | None = None

    def issue(self, found: TokenIdentity) -> str:
        secret = new_token().secret
        self.known[secret] = found
        return secret

    async def authenticate(self, secret: str) -> TokenIdentity | None:
        self.asked += 1
        if self.gate is not None:
            await self.gate.wait()
        return self.known.get(secret)


class Uses:
    def __init__(self) -> None:
        self.batches: list[dict[int, datetime]] = []

    async def __call__(self, uses: Mapping[int, datetime]) -> None:
        self.batches.append(dict(uses))


@pytest.fixture
def lookup() -> Lookup:
    return Lookup()


@pytest.fixture
def uses() -> Uses:
    return Uses()


@pytest.fixture
def cache(lookup: Lookup, uses: Uses) -> TokenCache:
    cache = TokenCache(lookup, record_uses=uses, now=lambda: NOW)
    cache.listening()
    return cache


async def test_each_notice_drops_only_what_it_names(cache: TokenCache, lookup: Lookup) -> None:
    ana = lookup.issue(identity(1, ActorKind.USER, 10))
    ana_too = lookup.issue(identity(2, ActorKind.USER, 10))
    bot = lookup.issue(identity(3, ActorKind.CLIENT, 10))  # same number, another kind
    for secret in (ana, ana_too, bot):
        assert await cache.authenticate(secret) is not None
    assert len(cache) == 3
    cache.notice("token:2")
    assert len(cache) == 2
    cache.notice("user:10")
    assert len(cache) == 1
    cache.notice("client:10")
    assert len(cache) == 0
    for secret in (ana, bot):
        await cache.authenticate(secret)
    cache.notice("something:else")
    assert len(cache) == 0
    await cache.authenticate(ana)
    cache.notice("*")
    assert len(cache) == 0


async def test_nothing_is_kept_without_listening(cache: TokenCache, lookup: Lookup) -> None:
    secret = lookup.issue(identity(1, ActorKind.USER, 1))
    await cache.authenticate(secret)
    cache.lost()
    assert len(cache) == 0
    assert await cache.authenticate(secret) is not None
    assert await cache.authenticate(secret) is not None
    assert (len(cache), lookup.asked) == (0, 3)
    cache.listening()
    await cache.authenticate(secret)
    await cache.authenticate(secret)
    assert (len(cache), lookup.asked) == (1, 4)


async def test_a_lookup_that_raced_a_notice_is_not_kept(cache: TokenCache, lookup: Lookup) -> None:
    secret = lookup.issue(identity(1, ActorKind.USER, 1))
    lookup.gate = asyncio.Event()
    pending = asyncio.create_task(cache.authenticate(secret))
    await asyncio.sleep(0)
    cache.notice("token:1")  # committed while the lookup was under way
    lookup.gate.set()
    assert await pending is not None  # this request's answer, read before the commit
    assert len(cache) == 0


async def test_forged_and_malformed_tokens_are_never_kept(
    cache: TokenCache, lookup: Lookup
) -> None:
    for _ in range(100):
        assert await cache.authenticate(new_token().secret) is None
    assert await cache.authenticate("paved_not-a-token") is None
    assert len(cache) == 0
    assert lookup.asked == 101  # each a miss (the real store refuses malformed text itself)


async def test_a_use_is_noted_at_most_once_per_interval(lookup: Lookup, uses: Uses) -> None:
    clock = [100.0]
    cache = TokenCache(
        lookup,
        record_uses=uses,
        settings=TokenCacheSettings(use_interval_seconds=60),
        clock=lambda: clock[0],
        now=lambda: NOW + timedelta(seconds=clock[0]),
    )
    cache.listening()
    secret = lookup.issue(identity(1, ActorKind.USER, 1))
    for _ in range(5):
        await cache.authenticate(secret)
    await cache.flush()
    await cache.flush()  # nothing new: no write
    clock[0] += 59
    await cache.authenticate(secret)
    await cache.flush()
    clock[0] += 2
    await cache.authenticate(secret)
    await cache.flush()
    assert uses.batches == [
        {1: NOW + timedelta(seconds=100)},
        {1: NOW + timedelta(seconds=161)},
    ]


async def test_uses_whose_write_failed_are_written_next_time(lookup: Lookup) -> None:
    written: list[dict[int, datetime]] = []
    failing = [True]

    async def record(found: Mapping[int, datetime]) -> None:
        if failing[0]:
            raise OSError("database restarting")
        written.append(dict(found))

    cache = TokenCache(lookup, record_uses=record, now=lambda: NOW)
    cache.listening()
    await cache.authenticate(lookup.issue(identity(1, ActorKind.USER, 1)))
    with pytest.raises(OSError, match="restarting"):
        await cache.flush()
    failing[0] = False
    await cache.stop()  # the shutdown's flush
    assert written == [{1: NOW}]


class Bus:
    """The `paved_access` channel between processes: a notice reaches every listening cache
    once its process's loop turns to it; a process may be held (starved, or hung)."""

    def __init__(self) -> None:
        self.caches: dict[int, TokenCache] = {}
        self.held: dict[int, list[str]] = {}

    def join(self, backend: int, lookup: Lookup, **settings: float) -> TokenCache:
        cache = TokenCache(
            lookup,
            record_uses=Uses(),
            announce=self.announce,
            listeners=self.listeners,
            settings=TokenCacheSettings(**settings),  # type: ignore[arg-type]
            now=lambda: NOW,
        )
        cache.listening(backend)
        self.caches[backend] = cache
        return cache

    async def announce(self, payload: str) -> None:
        for backend, cache in self.caches.items():
            if backend in self.held:
                self.held[backend].append(payload)
            else:
                asyncio.get_running_loop().call_soon(cache.notice, payload)

    async def listeners(self) -> set[int]:
        return set(self.caches)

    def release(self, backend: int) -> None:
        for payload in self.held.pop(backend):
            self.caches[backend].notice(payload)


async def test_settle_returns_once_every_process_handled_the_change(lookup: Lookup) -> None:
    bus = Bus()
    a, b = bus.join(1, lookup), bus.join(2, lookup)
    secret = lookup.issue(identity(7, ActorKind.USER, 10))
    assert await b.authenticate(secret) is not None
    bus.held[2] = []  # b's loop is busy: the notices wait in its socket
    await bus.announce("token:7")
    settling = asyncio.create_task(a.settle())
    for _ in range(20):
        await asyncio.sleep(0)
    assert not settling.done(), "settled before b handled the revocation"
    assert len(b) == 1
    bus.release(2)
    await asyncio.wait_for(settling, 1)
    assert len(b) == 0


async def test_a_process_that_never_answers_is_not_waited_for_past_the_bound(
    lookup: Lookup,
) -> None:
    bus = Bus()
    a = bus.join(1, lookup, settle_seconds=0.05)
    bus.join(2, lookup)
    bus.held[2] = []
    await asyncio.wait_for(a.settle(), 1)
    assert a.trusted


async def test_stray_and_forged_acknowledgements_drop_nothing_and_settle_nothing(
    lookup: Lookup,
) -> None:
    a = Bus().join(1, lookup)
    secret = lookup.issue(identity(7, ActorKind.USER, 10))
    assert await a.authenticate(secret) is not None
    for payload in ("ack:", "ack:nomarker", "ack:abc:x", "ack:abc:2", "settle:unknown"):
        a.notice(payload)
    assert len(a) == 1
