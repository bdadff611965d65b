"""Browser sessions and pending sign-ins on PostgreSQL (the `SessionStore` port).

Every time is the caller's (`now`), never the database's: a session's life is measured by one
clock, which tests can move.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg

from domain.access.model import OidcIdentity
from domain.access.sessions import PendingLogin, WebSession

# Ended sessions go when a new one starts: sign-ins are rare, the index makes it cheap.
_CREATE = """
WITH ended AS (
    DELETE FROM web_sessions WHERE expires_at <= $7 OR last_seen_at <= $7 - $9::interval
)
INSERT INTO web_sessions (secret_hash, user_id, oidc_subject, email, name, groups,
                          created_at, last_seen_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)
"""

# One statement per request: the live session, touched when its last request is older than
# a minute (or a tenth of the idle time), so that most requests write nothing.
_FIND = """
WITH live AS (
    SELECT * FROM web_sessions
    WHERE secret_hash = $1 AND expires_at > $2 AND last_seen_at > $2 - $3::interval
), touched AS (
    UPDATE web_sessions AS s SET last_seen_at = $2
    FROM live
    WHERE s.secret_hash = live.secret_hash
      AND live.last_seen_at < $2 - least(interval '1 minute', $3::interval / 10)
    RETURNING s.secret_hash, s.last_seen_at
)
SELECT live.user_id, live.oidc_subject, live.email, live.name, live.groups, live.created_at,
       coalesce(touched.last_seen_at, live.last_seen_at) AS last_seen_at, live.expires_at
FROM live LEFT JOIN touched ON touched.secret_hash = live.secret_hash
"""

# The expired go first; then the new one, unless `limit` are pending.
_BEGIN_LOGIN = """
WITH expired AS (
    DELETE FROM oidc_logins WHERE expires_at <= $6 RETURNING 1
)
INSERT INTO oidc_logins (state_hash, nonce, verifier, next_path, expires_at)
SELECT $1, $2, $3, $4, $5
WHERE (SELECT count(*) FROM oidc_logins) - (SELECT count(*) FROM expired) < $7
"""

_TAKE_LOGIN = """
DELETE FROM oidc_logins WHERE state_hash = $1
RETURNING nonce, verifier, next_path, expires_at, expires_at > $2 AS live
"""


class PostgresSessionStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def create(
        self,
        secret_hash: bytes,
        user_id: int,
        identity: OidcIdentity,
        *,
        now: datetime,
        expires_at: datetime,
        idle: timedelta,
    ) -> None:
        await self._pool.execute(
            _CREATE,
            secret_hash,
            user_id,
            identity.subject,
            identity.email,
            identity.name,
            list(identity.groups),
            now,
            expires_at,
            idle,
        )

    async def find(
        self, secret_hash: bytes, *, now: datetime, idle: timedelta
    ) -> WebSession | None:
        row = await self._pool.fetchrow(_FIND, secret_hash, now, idle)
        if row is None:
            return None
        return WebSession(
            user_id=row["user_id"],
            identity=OidcIdentity(
                subject=row["oidc_subject"],
                email=row["email"],
                name=row["name"],
                groups=tuple(row["groups"]),
            ),
            created_at=row["created_at"],
            last_seen_at=row["last_seen_at"],
            expires_at=row["expires_at"],
        )

    async def delete(self, secret_hash: bytes) -> bool:
        deleted = await self._pool.fetchval(
            "DELETE FROM web_sessions WHERE secret_hash = $1 RETURNING true", secret_hash
        )
        return bool(deleted)

    async def begin_login(
        self, state_hash: bytes, login: PendingLogin, *, now: datetime, limit: int
    ) -> bool:
        status = await self._pool.execute(
            _BEGIN_LOGIN,
            state_hash,
            login.nonce,
            login.verifier,
            login.next_path,
            login.expires_at,
            now,
            limit,
        )
        return bool(status == "INSERT 0 1")

    async def take_login(self, state_hash: bytes, *, now: datetime) -> PendingLogin | None:
        row = await self._pool.fetchrow(_TAKE_LOGIN, state_hash, now)
        if row is None or not row["live"]:
            return None
        return PendingLogin(
            nonce=row["nonce"],
            verifier=row["verifier"],
            next_path=row["next_path"],
            expires_at=row["expires_at"],
        )
