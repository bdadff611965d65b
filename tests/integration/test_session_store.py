"""The session store on PostgreSQL: sessions live until their idle or absolute end (by the
caller's clock), are touched at most once a minute, go with their user; pending sign-ins are
taken once, expire, and are bounded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from domain.access.model import OidcIdentity
from domain.access.sessions import PendingLogin, SessionStore, secret_hash
from providers.postgres.sessions import PostgresSessionStore

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
IDLE = timedelta(minutes=60)
ANA = OidcIdentity("oidc-ana", "ana@example.com", "Ana", ("pay", "web"))
ID = secret_hash("session-one")


@pytest.fixture
async def store(pool: asyncpg.Pool) -> PostgresSessionStore:
    await pool.execute("DELETE FROM oidc_logins")
    return PostgresSessionStore(pool)


@pytest.fixture
async def ana(pool: asyncpg.Pool) -> int:
    user_id: int = await pool.fetchval(
        "INSERT INTO users (handle, name, email) VALUES ('ana', 'Ana', 'ana@example.com') "
        "RETURNING id"
    )
    return user_id


async def started(store: SessionStore, user_id: int, secret: bytes = ID) -> None:
    await store.create(secret, user_id, ANA, now=T0, expires_at=T0 + timedelta(hours=12), idle=IDLE)


async def test_a_session_keeps_its_identity(store: PostgresSessionStore, ana: int) -> None:
    await started(store, ana)

    found = await store.find(ID, now=T0, idle=IDLE)

    assert found is not None
    assert found.user_id == ana
    assert found.identity == ANA
    assert found.created_at == found.last_seen_at == T0
    assert found.expires_at == T0 + timedelta(hours=12)
    assert await store.find(secret_hash("another"), now=T0, idle=IDLE) is None


async def test_a_session_is_touched_at_most_once_a_minute(
    store: PostgresSessionStore, ana: int
) -> None:
    await started(store, ana)

    early = await store.find(ID, now=T0 + timedelta(seconds=59), idle=IDLE)
    later = await store.find(ID, now=T0 + timedelta(seconds=61), idle=IDLE)

    assert early is not None
    assert early.last_seen_at == T0
    assert later is not None
    assert later.last_seen_at == T0 + timedelta(seconds=61)


async def test_a_short_idle_time_is_touched_more_often(
    store: PostgresSessionStore, ana: int
) -> None:
    idle = timedelta(minutes=1)
    await started(store, ana)
    for step in range(1, 10):  # a request every 50 seconds keeps it alive
        found = await store.find(ID, now=T0 + step * timedelta(seconds=50), idle=idle)
        assert found is not None, step


async def test_idle_and_absolute_ends(store: PostgresSessionStore, ana: int) -> None:
    await started(store, ana)
    assert await store.find(ID, now=T0 + IDLE - timedelta(seconds=1), idle=IDLE) is not None
    seen = T0 + IDLE - timedelta(seconds=1)

    assert await store.find(ID, now=seen + IDLE, idle=IDLE) is None
    assert await store.find(ID, now=seen + IDLE - timedelta(seconds=1), idle=IDLE) is not None
    assert await store.find(ID, now=T0 + timedelta(hours=12), idle=timedelta(days=1)) is None


async def test_delete_ends_a_session_once(store: PostgresSessionStore, ana: int) -> None:
    await started(store, ana)

    assert await store.delete(ID) is True
    assert await store.delete(ID) is False
    assert await store.find(ID, now=T0, idle=IDLE) is None


async def test_ended_sessions_are_forgotten_when_one_starts(
    store: PostgresSessionStore, ana: int, pool: asyncpg.Pool
) -> None:
    await started(store, ana, secret_hash("old"))
    later = T0 + timedelta(hours=2)

    await store.create(ID, ana, ANA, now=later, expires_at=later + timedelta(hours=12), idle=IDLE)

    assert await pool.fetchval("SELECT count(*) FROM web_sessions") == 1


async def test_deleting_the_user_ends_their_sessions(
    store: PostgresSessionStore, ana: int, pool: asyncpg.Pool
) -> None:
    await started(store, ana)
    await pool.execute("DELETE FROM users WHERE id = $1", ana)
    assert await store.find(ID, now=T0, idle=IDLE) is None


async def test_only_the_hash_of_a_session_id_fits(store: PostgresSessionStore, ana: int) -> None:
    with pytest.raises(asyncpg.CheckViolationError):
        await started(store, ana, b"too short")


# --- pending sign-ins ---------------------------------------------------------------------


def pending(expires_at: datetime = T0 + timedelta(minutes=10)) -> PendingLogin:
    return PendingLogin("nonce", "verifier", "/services", expires_at)


async def test_a_pending_sign_in_is_taken_once(store: PostgresSessionStore) -> None:
    state = secret_hash("state")
    assert await store.begin_login(state, pending(), now=T0, limit=10)

    assert await store.take_login(state, now=T0) == pending()
    assert await store.take_login(state, now=T0) is None


async def test_an_expired_sign_in_is_not_taken(store: PostgresSessionStore) -> None:
    state = secret_hash("state")
    await store.begin_login(state, pending(), now=T0, limit=10)

    assert await store.take_login(state, now=T0 + timedelta(minutes=10)) is None
    assert await store.take_login(state, now=T0) is None  # gone, not kept for later


async def test_pending_sign_ins_are_bounded_and_expired_ones_make_room(
    store: PostgresSessionStore, pool: asyncpg.Pool
) -> None:
    for name in ("a", "b"):
        assert await store.begin_login(secret_hash(name), pending(), now=T0, limit=2)

    assert not await store.begin_login(secret_hash("c"), pending(), now=T0, limit=2)
    later = T0 + timedelta(minutes=10)
    assert await store.begin_login(secret_hash("c"), pending(later + IDLE), now=later, limit=2)
    assert await pool.fetchval("SELECT count(*) FROM oidc_logins") == 1
