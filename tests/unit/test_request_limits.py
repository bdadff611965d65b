"""The request limits on their own: the rate limiter's buckets, the per-actor slots, the allowed
hosts; the app applying them is tested end to end in `tests/e2e/test_security.py`."""

from __future__ import annotations

import asyncio

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.actor_slots import ActorSlots, Busy
from api.hardening import Hardening
from api.host_guard import HostGuard, HostPolicy
from api.rate_limits import RateLimited, RateLimiter
from api.settings import Settings
from tests.support.app import in_process_client
from tests.support.clock import FakeClock


def test_bucket_refills_continuously_and_forgets_idle_actors() -> None:
    clock = FakeClock(1_000.0)
    limiter = RateLimiter(10, 2, clock=clock, max_actors=2)
    assert limiter.charge("a", 10).remaining == 0
    clock.now += 1.5
    assert limiter.charge("a", 3).remaining == 0
    with pytest.raises(RateLimited) as limited:
        limiter.charge("a", 5)
    assert (limited.value.remaining, limited.value.retry_after) == (0, 3)
    # More than the bucket holds: needs it full, and empties it.
    clock.now += 5
    assert limiter.charge("a", 50).remaining == 0
    limiter.charge("b", 10)
    limiter.charge("c", 10)
    assert limiter.charge("a", 10).remaining == 0  # "a" was forgotten: a full bucket again


def test_rate_limit_settings() -> None:
    settings = Settings(rate_limit_points=6_000)
    limiter = Hardening.from_settings(settings).rate_limiter
    assert limiter is not None
    assert (limiter.points, limiter.refill_per_second) == (6_000, 100)
    assert Hardening.from_settings(Settings(rate_limit_points=0)).rate_limiter is None
    tuned = Settings(rate_limit_points=10, rate_limit_refill_per_second=0.5)
    assert tuned.rate_limit_refill == 0.5


async def test_actor_slots_queue_then_refuse_and_forget_idle_actors() -> None:
    slots = ActorSlots(1, max_waiting=1)
    release = asyncio.Event()
    entered: list[str] = []

    async def hold(name: str, actor: str = "a") -> None:
        async with slots.slot(actor, 5.0):
            entered.append(name)
            await release.wait()

    first = asyncio.create_task(hold("first"))
    second = asyncio.create_task(hold("second"))
    while len(entered) < 1 or slots.waiting("a") < 1:  # noqa: ASYNC110
        await asyncio.sleep(0)
    assert entered == ["first"]
    with pytest.raises(Busy):  # one runs, one waits: the line is full
        async with slots.slot("a", 5.0):
            pass
    async with slots.slot("b", 0.1):  # another actor does not wait
        assert slots.running("b") == 1
    release.set()
    await asyncio.gather(first, second)
    assert entered == ["first", "second"]
    assert slots.actors() == 0
    release.clear()
    third = asyncio.create_task(hold("third"))
    while slots.running("a") < 1:  # noqa: ASYNC110
        await asyncio.sleep(0)
    with pytest.raises(Busy):  # waited its time without a slot freeing
        async with slots.slot("a", 0.01):
            pass
    release.set()
    await third


async def guarded(
    policy: HostPolicy, host: str, origin: str | None = None, path: str = "/graphql"
) -> int:
    async def answer(request: Request) -> Response:
        return Response("ok")

    app = Starlette(
        routes=[Route(path, answer, methods=["GET", "POST"])],
        middleware=[Middleware(HostGuard, policy=policy)],
    )
    headers = {"host": host, **({"origin": origin} if origin else {})}
    async with in_process_client(app) as client:
        return (await client.get(path, headers=headers)).status_code


async def test_allowed_hosts_in_development_and_production() -> None:
    development = HostPolicy.of(["paved.internal", "*.dev.example"], development=True)
    assert await guarded(development, "paved.internal:8000") == 200
    assert await guarded(development, "api.dev.example") == 200
    assert await guarded(development, "dev.example") == 421
    assert await guarded(development, "127.0.0.1") == 200
    assert await guarded(development, "evil.example") == 421
    assert await guarded(development, "localhost:notaport") == 421
    assert await guarded(development, "") == 421
    production_any = HostPolicy.of([], development=False)
    assert await guarded(production_any, "anything.example", "https://portal.example") == 200
    production = HostPolicy.of(["api.example.com"], development=False)
    assert await guarded(production, "api.example.com") == 200
    assert await guarded(production, "localhost") == 421
    assert await guarded(production, "attacker.example") == 421
    # Probes address a pod by its IP; they are answered whatever the host.
    assert await guarded(production, "10.1.2.3:8000", path="/healthz") == 200


async def test_remembered_host_verdicts_stay_right_and_bounded() -> None:
    answered = []

    async def app(scope: object, receive: object, send: object) -> None:
        answered.append(scope)

    guard = HostGuard(app, HostPolicy.of(["api.example.com"], development=False))
    sent: list[dict[str, object]] = []

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    async def ask(host: bytes) -> int:
        sent.clear()
        answered.clear()
        scope = {"type": "http", "path": "/graphql", "headers": [(b"host", host)]}
        await guard(scope, None, send)  # type: ignore[arg-type]
        return 200 if answered else int(sent[0]["status"])  # type: ignore[call-overload]

    for _ in range(2):  # the second time from what the guard remembered
        assert await ask(b"api.example.com") == 200
        assert await ask(b"attacker.example") == 421
    for number in range(2_000):  # made-up hosts do not grow what it remembers
        assert await ask(f"h{number}.example".encode()) == 421
    assert len(guard._verdicts) <= 256
    assert await ask(b"api.example.com") == 200


def test_allowed_hosts_setting() -> None:
    settings = Settings(allowed_hosts=("API.example.com", "[::1]", "*.example.org"))
    assert settings.allowed_hosts == ("api.example.com", "::1", "*.example.org")
    for bad in ("http://x.example", "x.example/path", "*x.example", "a.*.example"):
        with pytest.raises(ValueError, match="not a host name"):
            Settings(allowed_hosts=(bad,))
