"""The access store on PostgreSQL: API clients, tokens (creation, authentication, expiry,
revocation, last use), users from the CLI and from OIDC, and the schema's guarantees."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from domain.access.model import ActorKind, Scope
from domain.access.ports import AccessStore
from domain.access.tokens import hash_token, looks_like_token, new_token
from domain.errors import ErrorCode
from providers.postgres.access_store import (
    PostgresAccessStore,
)
from providers.postgres.database import create_pool
from tests.support.refusals import refusal
from tests.support.statements import StatementLog


@pytest.fixture
async def store(pool: asyncpg.Pool) -> PostgresAccessStore:
    """Over an empty catalog with teams `platform` and `payments` and users `ada`, `bob`."""
    await pool.execute(
        "INSERT INTO teams (slug, name) VALUES ('platform', 'Platform'), ('payments', 'Payments')"
    )
    await pool.execute(
        "INSERT INTO users (handle, name, email) VALUES"
        " ('ada', 'Ada Lovelace', 'ada@example.com'), ('bob', 'Bob', 'bob@example.com')"
    )
    await pool.execute(
        "INSERT INTO team_members (team_id, user_id)"
        " SELECT t.id, u.id FROM teams t, users u WHERE t.slug = 'platform' AND u.handle = 'ada'"
    )
    return PostgresAccessStore(pool)


async def _id(pool: asyncpg.Pool, table: str, column: str, key: str) -> int:
    found: int = await pool.fetchval(f"SELECT id FROM {table} WHERE {column} = $1", key)
    return found


def test_the_adapter_implements_the_port(pool: asyncpg.Pool) -> None:
    port: AccessStore = PostgresAccessStore(pool)
    assert port is not None


# --- API clients ------------------------------------------------------------------------


async def test_api_clients_are_created_listed_and_refused(store: PostgresAccessStore) -> None:
    client = await store.create_api_client("ci-bot", "CI bot", "platform")
    assert (client.slug, client.name, client.version) == ("ci-bot", "CI bot", 1)
    assert await store.api_client_by_slug("ci-bot") == client
    assert await store.api_client_by_slug("nope") is None
    assert await store.api_clients_by_id([client.id, 999]) == {client.id: client}
    other = await store.create_api_client("deployer", "Deployer", "platform")
    payments = await _id(store._pool, "teams", "slug", "payments")
    assert await store.api_clients_of_teams([client.team_id, payments]) == {
        client.team_id: [client, other],
        payments: [],
    }

    bad = await refusal(ErrorCode.VALIDATION, store.create_api_client("CI Bot", "x", "platform"))
    assert bad.path == ("input", "slug")
    blank = await refusal(ErrorCode.VALIDATION, store.create_api_client("x", " ", "platform"))
    assert blank.path == ("input", "name")
    taken = await refusal(ErrorCode.CONFLICT, store.create_api_client("ci-bot", "x", "payments"))
    assert taken.path == ("input", "slug")
    missing = await refusal(ErrorCode.NOT_FOUND, store.create_api_client("new", "x", "ghosts"))
    assert missing.path == ("input", "team")


async def test_deleting_a_client_removes_its_tokens(store: PostgresAccessStore) -> None:
    client = await store.create_api_client("ci-bot", "CI bot", "platform")
    _, secret = await store.create_token(
        user_handle=None, client_slug="ci-bot", name="ci", scopes=[Scope.READ], expires_at=None
    )
    assert await store.authenticate(secret) is not None
    assert await store.delete_api_client("ci-bot") == client.id
    assert await store._pool.fetchval("SELECT count(*) FROM api_tokens") == 0
    assert await store.authenticate(secret) is None
    missing = await refusal(ErrorCode.NOT_FOUND, store.delete_api_client("ci-bot"))
    assert missing.path == ("input", "apiClient")


async def test_a_team_with_api_clients_cannot_be_deleted(store: PostgresAccessStore) -> None:
    client = await store.create_api_client("ci-bot", "CI bot", "platform")
    with pytest.raises((asyncpg.RestrictViolationError, asyncpg.ForeignKeyViolationError)):
        await store._pool.execute("DELETE FROM teams WHERE id = $1", client.team_id)


# --- tokens -----------------------------------------------------------------------------


async def test_a_user_token_is_stored_as_a_hash_and_authenticates(
    store: PostgresAccessStore,
) -> None:
    expires = datetime.now(UTC) + timedelta(days=30)
    record, secret = await store.create_token(
        user_handle="ada",
        client_slug=None,
        name="laptop",
        scopes=[Scope.WRITE, Scope.READ, Scope.WRITE],
        expires_at=expires,
    )
    ada = await _id(store._pool, "users", "handle", "ada")
    assert looks_like_token(secret)
    assert record.prefix == secret[:12]
    assert (record.name, record.user_id, record.client_id) == ("laptop", ada, None)
    assert record.scopes == (Scope.READ, Scope.WRITE)
    assert record.expires_at == expires
    assert (record.last_used_at, record.revoked_at) == (None, None)
    row = await store._pool.fetchrow("SELECT * FROM api_tokens WHERE id = $1", record.id)
    assert row is not None
    assert row["secret_hash"] == hash_token(secret)
    assert all(secret not in str(value) for value in row.values())
    assert await store.token_by_id(record.id) == record

    identity = await store.authenticate(secret)
    assert identity is not None
    platform = await _id(store._pool, "teams", "slug", "platform")
    assert (identity.kind, identity.actor_id, identity.handle, identity.name) == (
        ActorKind.USER,
        ada,
        "ada",
        "Ada Lovelace",
    )
    assert identity.is_admin is False
    assert identity.team_ids == frozenset({platform})
    assert identity.token.id == record.id
    assert identity.token.last_used_at is None  # noted apart: `record_token_uses`


async def test_a_client_token_acts_for_the_clients_team(store: PostgresAccessStore) -> None:
    client = await store.create_api_client("ci-bot", "CI bot", "payments")
    record, secret = await store.create_token(
        user_handle=None, client_slug="ci-bot", name="ci", scopes=[Scope.DEPLOY], expires_at=None
    )
    assert (record.user_id, record.client_id) == (None, client.id)
    identity = await store.authenticate(secret)
    assert identity is not None
    assert (identity.kind, identity.actor_id, identity.handle, identity.name) == (
        ActorKind.CLIENT,
        client.id,
        "ci-bot",
        "CI bot",
    )
    assert identity.is_admin is False
    assert identity.team_ids == frozenset({client.team_id})


async def test_uses_are_noted_in_one_batch_and_never_go_back(
    store: PostgresAccessStore,
) -> None:
    first, _ = await store.create_token(
        user_handle="ada", client_slug=None, name="a", scopes=[Scope.READ], expires_at=None
    )
    second, _ = await store.create_token(
        user_handle="bob", client_slug=None, name="b", scopes=[Scope.READ], expires_at=None
    )
    now = datetime.now(UTC)
    earlier = now - timedelta(minutes=5)
    await store.record_token_uses({first.id: now, second.id: earlier, 999: now})
    assert await _last_used(store, first.id) == now
    assert await _last_used(store, second.id) == earlier
    # An older time written later (another process's late batch) does not move it back.
    await store.record_token_uses({first.id: now - timedelta(minutes=1)})
    assert await _last_used(store, first.id) == now
    await store.record_token_uses({})


async def _last_used(store: PostgresAccessStore, token_id: int) -> datetime | None:
    token = await store.token_by_id(token_id)
    assert token is not None
    return token.last_used_at


async def test_revocation_holds_from_the_very_next_call(store: PostgresAccessStore) -> None:
    record, secret = await store.create_token(
        user_handle="ada", client_slug=None, name="t", scopes=[Scope.READ], expires_at=None
    )
    assert await store.authenticate(secret) is not None
    revoked = await store.revoke_token(record.id)
    assert revoked.revoked_at is not None
    assert await store.authenticate(secret) is None
    again = await store.revoke_token(record.id)
    assert again.revoked_at == revoked.revoked_at
    missing = await refusal(ErrorCode.NOT_FOUND, store.revoke_token(record.id + 1000))
    assert missing.path == ("input", "token")


async def test_an_expired_token_no_longer_authenticates(store: PostgresAccessStore) -> None:
    record, secret = await store.create_token(
        user_handle="ada",
        client_slug=None,
        name="t",
        scopes=[Scope.READ],
        expires_at=datetime.now(UTC) + timedelta(hours=1),
    )
    assert await store.authenticate(secret) is not None
    await store._pool.execute(
        "UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1", record.id
    )
    assert await store.authenticate(secret) is None


async def test_authentication_and_a_known_identity_take_one_statement(
    store: PostgresAccessStore, migrated_url: str
) -> None:
    _, secret = await store.create_token(
        user_handle="ada", client_slug=None, name="t", scopes=[Scope.READ], expires_at=None
    )
    await store.provision_oidc_user("sub-ada", "ada@example.com", "Ada", ["platform"])
    log = StatementLog()
    counted = await create_pool(migrated_url, min_size=1, max_size=1, query_logger=log.record)
    try:
        counted_store = PostgresAccessStore(counted)
        with log.capture() as statements:
            assert await counted_store.authenticate(secret) is not None
            assert await counted_store.authenticate("paved_not-a-token") is None
        assert len(statements) == 1
        with log.capture() as statements:
            await counted_store.provision_oidc_user("sub-ada", None, "Ada", ["platform"])
        assert len(statements) == 1
    finally:
        await counted.close()


async def test_unknown_and_malformed_secrets_do_not_authenticate(
    store: PostgresAccessStore,
) -> None:
    _, secret = await store.create_token(
        user_handle="ada", client_slug=None, name="t", scopes=[Scope.READ], expires_at=None
    )
    assert await store.authenticate(new_token().secret) is None
    assert await store.authenticate(secret[:-1]) is None
    assert await store.authenticate("") is None
    assert await store.authenticate("Bearer " + secret) is None


async def test_token_creation_refuses_bad_requests(store: PostgresAccessStore) -> None:
    await store.create_api_client("ci-bot", "CI bot", "platform")
    past = datetime.now(UTC) - timedelta(seconds=1)
    cases: list[tuple[ErrorCode, tuple[str, ...], dict[str, object]]] = [
        (ErrorCode.VALIDATION, ("input",), {"user_handle": None, "client_slug": None}),
        (ErrorCode.VALIDATION, ("input",), {"user_handle": "ada", "client_slug": "ci-bot"}),
        (ErrorCode.VALIDATION, ("input", "scopes"), {"scopes": []}),
        (ErrorCode.VALIDATION, ("input", "scopes"), {"scopes": ["root"]}),
        (ErrorCode.VALIDATION, ("input", "name"), {"name": ""}),
        (ErrorCode.VALIDATION, ("input", "expiresAt"), {"expires_at": past}),
        (ErrorCode.VALIDATION, ("input", "expiresAt"), {"expires_at": datetime(2999, 1, 1)}),
        (ErrorCode.NOT_FOUND, ("input", "user"), {"user_handle": "nobody"}),
        (
            ErrorCode.NOT_FOUND,
            ("input", "client"),
            {"user_handle": None, "client_slug": "nobody"},
        ),
    ]
    for code, path, overrides in cases:
        arguments: dict[str, object] = {
            "user_handle": "ada",
            "client_slug": None,
            "name": "t",
            "scopes": [Scope.READ],
            "expires_at": None,
            **overrides,
        }
        refused = await refusal(code, store.create_token(**arguments))  # type: ignore[arg-type]
        assert refused.path == path, (overrides, refused.message)
    assert await store._pool.fetchval("SELECT count(*) FROM api_tokens") == 0


async def test_tokens_are_grouped_by_owner(store: PostgresAccessStore) -> None:
    ada = await _id(store._pool, "users", "handle", "ada")
    bob = await _id(store._pool, "users", "handle", "bob")
    client = await store.create_api_client("ci-bot", "CI bot", "platform")
    first, _ = await store.create_token(
        user_handle="ada", client_slug=None, name="a", scopes=[Scope.READ], expires_at=None
    )
    second, _ = await store.create_token(
        user_handle="ada", client_slug=None, name="b", scopes=[Scope.ADMIN], expires_at=None
    )
    robot, _ = await store.create_token(
        user_handle=None, client_slug="ci-bot", name="c", scopes=[Scope.READ], expires_at=None
    )
    assert await store.tokens_of_users([ada, bob]) == {ada: [first, second], bob: []}
    assert await store.tokens_of_clients([client.id]) == {client.id: [robot]}
    await store._pool.execute("DELETE FROM users WHERE id = $1", ada)
    assert await store.tokens_of_users([ada]) == {ada: []}


# --- what the schema guarantees ---------------------------------------------------------


@pytest.mark.parametrize(
    "scopes",
    [["root"], [], ["read", None], ["READ"], [["read"]]],
    ids=["unknown", "empty", "null", "uppercase", "nested"],
)
async def test_scopes_outside_the_known_set_violate_a_check(
    store: PostgresAccessStore, scopes: list[object]
) -> None:
    ada = await _id(store._pool, "users", "handle", "ada")
    with pytest.raises((asyncpg.CheckViolationError, asyncpg.DataError)) as caught:
        await store._pool.execute(
            "INSERT INTO api_tokens (prefix, secret_hash, name, user_id, scopes)"
            " VALUES ('p', $1, 'n', $2, $3::text[])",
            new_token().secret_hash,
            ada,
            scopes,
        )
    if isinstance(caught.value, asyncpg.CheckViolationError):
        assert caught.value.constraint_name == "api_tokens_known_scopes"


async def test_a_token_has_exactly_one_owner(store: PostgresAccessStore) -> None:
    ada = await _id(store._pool, "users", "handle", "ada")
    client = await store.create_api_client("ci-bot", "CI bot", "platform")
    insert = (
        "INSERT INTO api_tokens (prefix, secret_hash, name, user_id, client_id, scopes)"
        " VALUES ('p', $1, 'n', $2, $3, '{read}')"
    )
    for user_id, client_id in ((None, None), (ada, client.id)):
        with pytest.raises(asyncpg.CheckViolationError) as caught:
            await store._pool.execute(insert, new_token().secret_hash, user_id, client_id)
        assert caught.value.constraint_name == "api_tokens_one_owner"
    secret_hash = new_token().secret_hash
    await store._pool.execute(insert, secret_hash, ada, None)
    with pytest.raises(asyncpg.UniqueViolationError):
        await store._pool.execute(insert, secret_hash, None, client.id)


# --- users ------------------------------------------------------------------------------


async def test_users_from_the_cli_and_their_administration(store: PostgresAccessStore) -> None:
    root = await store.create_user("root", "Root", "root@example.com", admin=True)
    assert root.handle == "root"
    assert await store.is_admin(root.id) is True
    carol = await store.create_user("carol", "Carol", "carol@example.com", admin=False)
    assert await store.is_admin(carol.id) is False
    await store.set_admin("carol", True)
    assert await store.is_admin(carol.id) is True
    await store.set_admin("carol", False)
    assert await store.is_admin(carol.id) is False
    assert await store.is_admin(carol.id + 1000) is False

    bad = await refusal(ErrorCode.VALIDATION, store.create_user("No Way", "x", "x@y.z", False))
    assert bad.path == ("input", "handle")
    taken = await refusal(ErrorCode.CONFLICT, store.create_user("ada", "x", "x@y.z", False))
    assert taken.path == ("input", "handle")
    email = await refusal(
        ErrorCode.CONFLICT, store.create_user("ann", "x", "ADA@example.com", False)
    )
    assert email.path == ("input", "email")
    missing = await refusal(ErrorCode.NOT_FOUND, store.set_admin("nobody", True))
    assert missing.path == ("input", "user")


async def test_an_admin_users_token_says_so(store: PostgresAccessStore) -> None:
    await store.set_admin("bob", True)
    _, secret = await store.create_token(
        user_handle="bob", client_slug=None, name="t", scopes=[Scope.ADMIN], expires_at=None
    )
    identity = await store.authenticate(secret)
    assert identity is not None
    assert identity.is_admin is True
    assert identity.team_ids == frozenset()


async def test_an_oidc_identity_is_provisioned_once(store: PostgresAccessStore) -> None:
    pool = store._pool
    platform = await _id(pool, "teams", "slug", "platform")
    payments = await _id(pool, "teams", "slug", "payments")
    first = await store.provision_oidc_user(
        "sub-1", "Carol.Jones@Example.com", "Carol Jones", ["platform", "no-such-team"]
    )
    row = await pool.fetchrow("SELECT * FROM users WHERE id = $1", first.user_id)
    assert row is not None
    assert (row["handle"], row["name"], row["email"], row["oidc_subject"]) == (
        "carol-jones",
        "Carol Jones",
        "Carol.Jones@Example.com",
        "sub-1",
    )
    assert first.is_admin is False
    assert first.team_ids == frozenset({platform})

    # Known by subject: the same user; a new group adds a membership, a missing one keeps it.
    again = await store.provision_oidc_user("sub-1", "other@example.com", "Renamed", ["payments"])
    assert again.user_id == first.user_id
    assert again.team_ids == frozenset({platform, payments})
    assert await pool.fetchval("SELECT count(*) FROM users WHERE oidc_subject = 'sub-1'") == 1
    assert (
        await pool.fetchval("SELECT name FROM users WHERE id = $1", first.user_id) == "Carol Jones"
    )


async def test_an_oidc_identity_links_to_the_user_with_its_email(
    store: PostgresAccessStore,
) -> None:
    pool = store._pool
    ada = await _id(pool, "users", "handle", "ada")
    await store.set_admin("ada", True)
    linked = await store.provision_oidc_user("sub-ada", "ADA@example.com", "Ada", [])
    assert linked.user_id == ada
    assert linked.is_admin is True
    assert await pool.fetchval("SELECT oidc_subject FROM users WHERE id = $1", ada) == "sub-ada"
    conflict = await refusal(
        ErrorCode.CONFLICT, store.provision_oidc_user("sub-other", "ada@example.com", "Ada", [])
    )
    assert conflict.path == ("email",)


async def test_provisioned_handles_are_made_unique(store: PostgresAccessStore) -> None:
    pool = store._pool
    await pool.execute(
        "INSERT INTO users (handle, name, email) VALUES ('dan', 'Dan', 'dan@old.example.com')"
    )
    created = await store.provision_oidc_user("sub-dan", "dan@new.example.com", "Dan", [])
    assert await pool.fetchval("SELECT handle FROM users WHERE id = $1", created.user_id) == "dan-2"
    anonymous = await store.provision_oidc_user("Z|9", None, "", [])
    row = await pool.fetchrow("SELECT * FROM users WHERE id = $1", anonymous.user_id)
    assert row is not None
    assert (row["handle"], row["name"], row["email"]) == ("z-9", "z-9", "z-9@oidc.invalid")


async def test_concurrent_first_logins_make_one_user(store: PostgresAccessStore) -> None:
    results = await asyncio.gather(
        *(store.provision_oidc_user("sub-race", "race@example.com", "Race", []) for _ in range(4))
    )
    assert len({result.user_id for result in results}) == 1
    count = await store._pool.fetchval("SELECT count(*) FROM users WHERE oidc_subject = 'sub-race'")
    assert count == 1
