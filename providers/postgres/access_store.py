"""Identities, API clients and their tokens on PostgreSQL (the `AccessStore` port)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import asyncpg

from domain.access.model import ActorKind, ApiClientRecord, ApiTokenRecord, Scope
from domain.access.ports import ProvisionedUser, TokenIdentity
from domain.access.tokens import hash_token, looks_like_token, new_token
from domain.catalog.changes import UserDraft
from domain.catalog.records import UserRecord
from domain.catalog.rules import SLUG
from domain.errors import Conflict, NotFound, ValidationFailed
from providers.postgres import rows
from providers.postgres.audited import AuditedStore
from providers.postgres.rows import RecordRows, grouped
from providers.postgres.writes import teams
from providers.postgres.writes.common import Connection

_SLUG_RULE = (
    "must be 1-63 lowercase letters, digits or hyphens, starting and ending with a letter or digit"
)
_LONGEST_NAME = 200
_HANDLE_BASE_LENGTH = 50  # leaves room for a `-N` suffix within 63 characters
_PROVISION_ATTEMPTS = 3

_client = RecordRows(ApiClientRecord)
_token = RecordRows(ApiTokenRecord, scopes=lambda stored: tuple(map(Scope, stored)))


def _check_slug(value: str, field: str) -> None:
    if SLUG.fullmatch(value) is None:
        raise ValidationFailed(f"`{field}` {_SLUG_RULE}", ["input", field])


def _check_name(value: str, field: str = "name") -> None:
    if not value.strip() or len(value) > _LONGEST_NAME:
        raise ValidationFailed(
            f"`{field}` must be 1-{_LONGEST_NAME} characters, not blank", ["input", field]
        )


def _check_scopes(scopes: Sequence[Scope | str]) -> list[str]:
    """The distinct scopes in `Scope` order; at least one, each a known scope."""
    try:
        chosen = {Scope(scope) for scope in scopes}
    except ValueError:
        known = ", ".join(scope.value for scope in Scope)
        raise ValidationFailed(f"`scopes` may only hold {known}", ["input", "scopes"]) from None
    if not chosen:
        raise ValidationFailed("a token needs at least one scope", ["input", "scopes"])
    return [scope.value for scope in Scope if scope in chosen]


def _check_expiry(expires_at: datetime | None) -> None:
    if expires_at is None:
        return
    if expires_at.tzinfo is None:
        raise ValidationFailed("`expiresAt` needs a time zone", ["input", "expiresAt"])
    if expires_at <= datetime.now(UTC):
        raise ValidationFailed("`expiresAt` is in the past", ["input", "expiresAt"])


def handle_base(email: str | None, subject: str) -> str:
    """A valid handle from the email's local part (or the subject): lowercase ASCII letters
    and digits, other runs of characters turned into one hyphen."""
    source = email.partition("@")[0] if email else subject
    text = unicodedata.normalize("NFKD", source).encode("ascii", "ignore").decode().lower()
    base = re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:_HANDLE_BASE_LENGTH].rstrip("-")
    return base or "user"


def first_free_handle(base: str, taken: set[str]) -> str:
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


_INSERT_ISSUED = """
INSERT INTO api_tokens (prefix, secret_hash, name, user_id, client_id, scopes, expires_at)
SELECT $1, $2, $3, u.id, c.id, $6::text[], $7
FROM (SELECT) AS one
LEFT JOIN users u ON u.handle = $4
LEFT JOIN api_clients c ON c.slug = $5
WHERE num_nonnulls(u.id, c.id) = 1
RETURNING *
"""

# One round trip: the live token and its actor. Its use is noted apart (`record_token_uses`),
# throttled and batched by the token cache, off the request's path.
_AUTHENTICATE = """
SELECT t.id, t.prefix, t.name, t.user_id, t.client_id, t.scopes, t.expires_at,
       t.last_used_at, t.revoked_at, t.created_at,
       coalesce(u.handle, c.slug) AS actor_handle,
       coalesce(u.name, c.name) AS actor_name,
       coalesce(u.is_admin, false) AS actor_is_admin,
       CASE WHEN t.user_id IS NULL THEN ARRAY[c.team_id]
            ELSE ARRAY(SELECT tm.team_id FROM team_members tm WHERE tm.user_id = t.user_id)
       END AS actor_team_ids
FROM api_tokens t
LEFT JOIN users u ON u.id = t.user_id
LEFT JOIN api_clients c ON c.id = t.client_id
WHERE t.secret_hash = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())
"""

# Uses noted in memory, written in one statement; a time never goes back.
_RECORD_USES = """
UPDATE api_tokens AS t SET last_used_at = greatest(t.last_used_at, used.at)
FROM unnest($1::bigint[], $2::timestamptz[]) AS used(id, at)
WHERE t.id = used.id
"""

# The user of an OIDC subject, with memberships added for the groups that name teams.
_PROVISIONED = """
WITH found AS (
    SELECT id, is_admin FROM users WHERE oidc_subject = $1
), added AS (
    INSERT INTO team_members (team_id, user_id)
    SELECT t.id, found.id FROM teams t CROSS JOIN found WHERE t.slug = ANY($2::text[])
    ON CONFLICT DO NOTHING
    RETURNING team_id
)
SELECT found.id, found.is_admin,
       ARRAY(SELECT team_id FROM added
             UNION SELECT team_id FROM team_members WHERE user_id = found.id) AS team_ids
FROM found
"""


class PostgresAccessStore(AuditedStore):
    """With an audit entry (see `audited`), each change records it in its own transaction."""

    async def _change(self, sql: str, *args: object) -> asyncpg.Record | None:
        """One changing statement; when it changed a row, the audit record commits with it."""

        async def change(connection: Connection) -> asyncpg.Record | None:
            row: asyncpg.Record | None = await connection.fetchrow(sql, *args)
            return row

        return await self._transactions.run(change, changed=lambda row: row is not None)

    # --- API clients --------------------------------------------------------------------

    async def create_api_client(self, slug: str, name: str, team_slug: str) -> ApiClientRecord:
        _check_slug(slug, "slug")
        _check_name(name)
        try:
            row = await self._change(
                "INSERT INTO api_clients (slug, name, team_id) "
                "SELECT $1, $2, id FROM teams WHERE slug = $3 RETURNING *",
                slug, name, team_slug,
            )  # fmt: skip
        except asyncpg.UniqueViolationError:
            raise Conflict(
                f"an API client with slug '{slug}' already exists", ["input", "slug"]
            ) from None
        if row is None:
            raise NotFound(f"no team '{team_slug}'", ["input", "team"])
        return _client(row)

    async def delete_api_client(self, slug: str) -> int:
        """Deletes the client and, by cascade, its tokens; returns the client's id."""
        deleted = await self._change("DELETE FROM api_clients WHERE slug = $1 RETURNING id", slug)
        if deleted is None:
            raise NotFound(f"no API client '{slug}'", ["input", "apiClient"])
        return int(deleted["id"])

    async def api_client_by_slug(self, slug: str) -> ApiClientRecord | None:
        row = await self._pool.fetchrow("SELECT * FROM api_clients WHERE slug = $1", slug)
        return None if row is None else _client(row)

    async def api_clients_by_id(self, ids: Sequence[int]) -> dict[int, ApiClientRecord]:
        found = await self._pool.fetch(
            "SELECT * FROM api_clients WHERE id = ANY($1::bigint[])", list(ids)
        )
        return {row["id"]: _client(row) for row in found}

    async def api_clients_of_teams(
        self, team_ids: Sequence[int]
    ) -> dict[int, list[ApiClientRecord]]:
        found = await self._pool.fetch(
            "SELECT * FROM api_clients WHERE team_id = ANY($1::bigint[]) ORDER BY slug",
            list(team_ids),
        )
        return grouped(team_ids, found, "team_id", _client)

    # --- tokens -------------------------------------------------------------------------

    async def create_token(
        self,
        *,
        user_handle: str | None,
        client_slug: str | None,
        name: str,
        scopes: Sequence[Scope],
        expires_at: datetime | None,
    ) -> tuple[ApiTokenRecord, str]:
        if (user_handle is None) == (client_slug is None):
            raise ValidationFailed("a token belongs to exactly one user or API client", ["input"])
        _check_name(name)
        scope_values = _check_scopes(scopes)
        _check_expiry(expires_at)
        issued = new_token()
        row = await self._change(
            _INSERT_ISSUED,
            issued.prefix, issued.secret_hash, name, user_handle, client_slug, scope_values,
            expires_at,
        )  # fmt: skip
        if row is None:
            if user_handle is not None:
                raise NotFound(f"no user '{user_handle}'", ["input", "user"])
            raise NotFound(f"no API client '{client_slug}'", ["input", "client"])
        return _token(row), issued.secret

    async def revoke_token(self, token_id: int) -> ApiTokenRecord:
        """Revoking again keeps the first revocation's time."""
        row = await self._change(
            "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()) "
            "WHERE id = $1 RETURNING *",
            token_id,
        )
        if row is None:
            raise NotFound(f"no token {token_id}", ["input", "token"])
        return _token(row)

    async def token_by_id(self, token_id: int) -> ApiTokenRecord | None:
        row = await self._pool.fetchrow("SELECT * FROM api_tokens WHERE id = $1", token_id)
        return None if row is None else _token(row)

    async def tokens_of_users(self, user_ids: Sequence[int]) -> dict[int, list[ApiTokenRecord]]:
        return await self._tokens_of("user_id", user_ids)

    async def tokens_of_clients(self, client_ids: Sequence[int]) -> dict[int, list[ApiTokenRecord]]:
        return await self._tokens_of("client_id", client_ids)

    async def _tokens_of(self, column: str, ids: Sequence[int]) -> dict[int, list[ApiTokenRecord]]:
        found = await self._pool.fetch(
            f"SELECT * FROM api_tokens WHERE {column} = ANY($1::bigint[]) ORDER BY created_at, id",
            list(ids),
        )
        return grouped(ids, found, column, _token)

    async def authenticate(self, secret: str) -> TokenIdentity | None:
        """The identity behind a live token, looked up afresh on every call (the server keeps
        what it verified in `api/token_cache.py`, which the notices of migration 0014 keep
        true). Text that is not a well-formed token is refused without asking the database.
        The use is not noted here: see `record_token_uses`."""
        if not looks_like_token(secret):
            return None
        row = await self._pool.fetchrow(_AUTHENTICATE, hash_token(secret))
        if row is None:
            return None
        token = _token(row)
        kind, actor_id = ActorKind.USER, token.user_id
        if actor_id is None:
            kind, actor_id = ActorKind.CLIENT, token.client_id
        assert actor_id is not None
        return TokenIdentity(
            token=token,
            kind=kind,
            actor_id=actor_id,
            handle=row["actor_handle"],
            name=row["actor_name"],
            is_admin=row["actor_is_admin"],
            team_ids=frozenset(row["actor_team_ids"]),
        )

    async def record_token_uses(self, uses: Mapping[int, datetime]) -> None:
        """Note when tokens were last used (id -> time), in one statement; a later time
        already noted stays. Unknown ids (deleted meanwhile) are skipped."""
        if uses:
            await self._pool.execute(_RECORD_USES, list(uses), list(uses.values()))

    # --- users --------------------------------------------------------------------------

    async def provision_oidc_user(
        self, subject: str, email: str | None, name: str, group_team_slugs: Sequence[str]
    ) -> ProvisionedUser:
        """The user of an OIDC identity: found by subject, else the user with the same email
        (case-insensitive), now linked to the subject, else a new user whose handle comes
        from the email's local part (or the subject) and is made unique with `-2`, `-3`, ...
        A user without an email gets `<handle>@oidc.invalid`. Name and email of a known user
        are left as they are.

        Memberships are only ever added: the user joins each existing team whose slug is one
        of `group_team_slugs`, and keeps memberships granted otherwise (by an administrator,
        or by groups the identity provider no longer sends). Removing those would let the
        provider's groups undo the catalog's own membership changes.
        """
        groups = sorted(set(group_team_slugs))
        found = await self._pool.fetchrow(_PROVISIONED, subject, groups)
        if found is None:
            await self._link_or_create(subject, email, name)
            found = await self._pool.fetchrow(_PROVISIONED, subject, groups)
            assert found is not None
        return ProvisionedUser(found["id"], found["is_admin"], frozenset(found["team_ids"]))

    async def _link_or_create(self, subject: str, email: str | None, name: str) -> None:
        for attempt in range(_PROVISION_ATTEMPTS):
            try:
                async with self._pool.acquire() as connection, connection.transaction():
                    await _link_or_create_user(connection, subject, email, name)
                return
            except asyncpg.UniqueViolationError:
                # Someone provisioned the same subject, email or handle meanwhile: look again.
                if attempt == _PROVISION_ATTEMPTS - 1:
                    raise

    async def create_user(self, handle: str, name: str, email: str, admin: bool) -> UserRecord:
        _check_slug(handle, "handle")
        _check_name(name)
        async with self._pool.acquire() as connection, connection.transaction():
            user = await teams.create_user(connection, UserDraft(handle, name, email))
            if admin:
                await connection.execute("UPDATE users SET is_admin = true WHERE id = $1", user.id)
        return user

    async def set_admin(self, handle: str, admin: bool) -> UserRecord:
        """Administration is not part of the user's record, so its version stays."""
        row = await self._change(
            "UPDATE users SET is_admin = $2 WHERE handle = $1 RETURNING *", handle, admin
        )
        if row is None:
            raise NotFound(f"no user '{handle}'", ["input", "user"])
        return rows.user(row)

    async def is_admin(self, user_id: int) -> bool:
        admin = await self._pool.fetchval("SELECT is_admin FROM users WHERE id = $1", user_id)
        return bool(admin)


async def _link_or_create_user(
    connection: Connection, subject: str, email: str | None, name: str
) -> None:
    if await connection.fetchval("SELECT 1 FROM users WHERE oidc_subject = $1", subject):
        return
    if email:
        linked = await connection.fetchrow(
            "SELECT id, oidc_subject FROM users WHERE lower(email) = lower($1) FOR UPDATE", email
        )
        if linked is not None:
            if linked["oidc_subject"] is not None:
                raise Conflict(
                    f"the user with email '{email}' is linked to another identity", ["email"]
                )
            await connection.execute(
                "UPDATE users SET oidc_subject = $2 WHERE id = $1", linked["id"], subject
            )
            return
    base = handle_base(email, subject)
    taken = await connection.fetch(
        "SELECT handle FROM users WHERE handle = $1 OR handle LIKE $1 || '-%'", base
    )
    handle = first_free_handle(base, {row["handle"] for row in taken})
    await connection.execute(
        "INSERT INTO users (handle, name, email, oidc_subject) VALUES ($1, $2, $3, $4)",
        handle, name.strip()[:_LONGEST_NAME] or handle, email or f"{handle}@oidc.invalid", subject,
    )  # fmt: skip
