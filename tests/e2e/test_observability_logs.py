"""The request log: one JSON line per request in production with who, what, how it ended, how
long and how many statements; and no secret anywhere in the server's log after a session that
signed in through the identity provider, used bearer JWTs and API tokens, created tokens and
webhooks and rotated a webhook secret."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import pytest

from api.observability.logs import JsonFormatter
from domain.access.model import Scope
from providers.postgres.access_store import PostgresAccessStore
from tests.support.access import token
from tests.support.clock import FakeClock
from tests.support.oidc import IdentityProvider, SigningKey
from tests.support.sign_in import ANA, AUDIENCE, CLIENT_SECRET, Portal, fresh_provider, portal
from tests.support.webhook_receiver import Inbox, receiver

WEBHOOK_FIELDS = "webhook { id } secret errors { code message }"


@pytest.fixture(scope="module")
def signing_key() -> SigningKey:
    return SigningKey.rsa("obs-k1")


@pytest.fixture(scope="module")
def provider(signing_key: SigningKey) -> Iterator[IdentityProvider]:
    provider = IdentityProvider(keys=[signing_key.jwk()])
    provider.start()
    yield provider
    provider.stop()


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with receiver() as inbox:
        yield inbox


@pytest.fixture
async def app(
    migrated_url: str, pool: asyncpg.Pool, provider: IdentityProvider, signing_key: SigningKey
) -> AsyncIterator[Portal]:
    await pool.execute("INSERT INTO teams (slug, name) VALUES ('pay', 'Payments')")
    idp = fresh_provider(provider, signing_key)
    async with portal(migrated_url, idp, FakeClock(time.time()), webhook_allow_private=True) as app:
        yield app


class _NotTheTestsOwnTraffic(logging.Filter):
    """The HTTP client library logs the test's own requests (the callback URL with its code),
    and at DEBUG its connections' response headers (the browser's cookies): those are the
    browser's records, not the server's. The server's own calls to the identity provider
    (`httpx` records naming the issuer) are kept."""

    def __init__(self, origin: str) -> None:
        super().__init__()
        self.origin = origin

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("httpcore"):
            return False
        return not (record.name.startswith("httpx") and self.origin in record.getMessage())


@pytest.fixture
def json_log(app: Portal) -> Iterator[io.StringIO]:
    """Every record of the server, at DEBUG, written as the production formatter does."""
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(_NotTheTestsOwnTraffic(app.origin))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield written
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def graphql(app: Portal, query: str, bearer: str, **variables: Any) -> dict[str, Any]:
    answer = await app.browser.http.post(
        app.served.url,
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {bearer}"},
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_no_secret_of_a_whole_session_reaches_the_log(
    app: Portal,
    json_log: io.StringIO,
    pool: asyncpg.Pool,
    inbox: Inbox,
    signing_key: SigningKey,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    store = PostgresAccessStore(pool)
    await store.create_user("root", "Root", "root@example.com", admin=True)
    admin = await token(store, Scope.READ, Scope.WRITE, Scope.ADMIN, user="root")
    secrets = [admin, CLIENT_SECRET]

    # Signing in through the identity provider: the code, the session, its CSRF token.
    redirect = await app.authorize(None, app.browser)
    secrets.append(parse_qs(urlsplit(redirect.headers["location"]).query)["code"][0])
    assert (await app.callback(redirect, app.browser)).status_code == 303
    csrf = await app.csrf()
    secrets += [csrf, app.browser.session_cookie()]
    assert (await app.graphql(csrf)).status_code == 200

    # A bearer JWT from the same provider.
    jwt = signing_key.sign(
        {
            "iss": app.idp.issuer,
            "aud": AUDIENCE,
            "exp": int(time.time()) + 300,
            **ANA,
        }
    )
    secrets.append(jwt)
    assert "errors" not in await graphql(app, "query Me { viewer { name } }", jwt)

    # API tokens: created, used, and a wrong one refused.
    created = await graphql(
        app,
        "mutation NewToken($input: CreateApiTokenInput!) "
        "{ createApiToken(input: $input) { secret errors { message } } }",
        admin,
        input={"user": "root", "name": "ci", "scopes": ["READ"]},
    )
    made = created["data"]["createApiToken"]["secret"]
    assert made
    secrets.append(made)
    assert "errors" not in await graphql(app, "{ viewer { name } }", made)
    wrong = made[:-4] + ("AAAA" if not made.endswith("AAAA") else "BBBB")
    refused = await app.browser.http.post(
        app.served.url,
        json={"query": "{ viewer { name } }"},
        headers={"Authorization": f"Bearer {wrong}"},
    )
    assert refused.status_code == 401
    secrets.append(wrong)

    # Webhooks: created (the ping signed with its secret), the secret rotated.
    hook = await graphql(
        app,
        "mutation Hook($input: CreateWebhookInput!) { createWebhook(input: $input) "
        f"{{ {WEBHOOK_FIELDS} }} }}",
        admin,
        input={"url": inbox.url, "events": ["TEAM_CREATED"]},
    )
    payload = hook["data"]["createWebhook"]
    assert payload["errors"] == [], payload
    secrets.append(payload["secret"])
    rotated = await graphql(
        app,
        "mutation Rotate($input: RotateWebhookSecretInput!) "
        "{ rotateWebhookSecret(input: $input) { secret errors { message } } }",
        admin,
        input={"webhook": payload["webhook"]["id"]},
    )
    secrets.append(rotated["data"]["rotateWebhookSecret"]["secret"])
    await app.browser.request("POST", "/auth/logout", headers={"X-Paved-CSRF": csrf})

    written = json_log.getvalue()
    lines = [json.loads(line) for line in written.splitlines()]
    requests = [line for line in lines if line["logger"] == "paved.requests"]
    # The server's own call to the provider's token endpoint is in what was searched.
    assert any(
        line["logger"].startswith("httpx") and app.idp.issuer in line["message"] for line in lines
    )
    assert len(requests) >= 10
    leaked = [
        (secret, line) for secret in secrets for line in written.splitlines() if secret in line
    ]
    assert not leaked, leaked[:3]
    server_text = "\n".join(
        record.getMessage() + str(record.__dict__)
        for record in caplog.records
        if _NotTheTestsOwnTraffic(app.origin).filter(record)
    )
    assert all(secret not in server_text for secret in secrets)

    # What the lines do say.
    made_token = next(line for line in requests if line.get("operation") == "NewToken")
    assert made_token["actor_kind"] == "user"
    assert isinstance(made_token["actor_id"], int)
    assert made_token["outcome"] == "ok"
    assert made_token["operation_type"] == "mutation"
    assert made_token["sql"] >= 1
    assert made_token["status"] == 200
    assert made_token["path"] == "/graphql"
    assert len(made_token["request_id"]) >= 8
    assert made_token["duration_ms"] > 0
    assert made_token["level"] == "info"
    assert made_token["time"].endswith("+00:00")
    callback = next(line for line in requests if line["path"] == "/auth/callback")
    assert "?" not in callback["message"]
    unauthorized = [line for line in requests if line["status"] == 401]
    assert unauthorized
    assert all("actor_kind" not in line for line in unauthorized)
