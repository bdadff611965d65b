"""Signing in to the portal over real HTTP against the local identity provider: the flow end
to end (authorization code with PKCE), the session cookie and where it counts, its expiry,
logout, and the session id kept out of the database and the logs."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Iterator
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx2 as httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from api.bootstrap import running
from api.web_sessions import csrf_token
from domain.access.model import Scope
from providers.postgres.access_store import PostgresAccessStore
from tests.support.access import token
from tests.support.clock import FakeClock
from tests.support.oidc import IdentityProvider, SigningKey
from tests.support.oidc_authorization import DROP, TOKEN_PATH, s256
from tests.support.served import served_settings
from tests.support.sign_in import CLIENT_ID, CLIENT_SECRET, Portal, fresh_provider, portal
from tests.support.subscribers import SseStream, WsClient

EVENTS = "subscription { events { type data } }"


@pytest.fixture(scope="module")
def signing_key() -> SigningKey:
    return SigningKey.rsa("k1")


@pytest.fixture(scope="module")
def provider(signing_key: SigningKey) -> Iterator[IdentityProvider]:
    provider = IdentityProvider(keys=[signing_key.jwk()])
    provider.start()
    yield provider
    provider.stop()


@pytest.fixture
def idp(provider: IdentityProvider, signing_key: SigningKey) -> IdentityProvider:
    return fresh_provider(provider, signing_key)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(time.time())


@pytest.fixture
async def app(
    migrated_url: str, pool: asyncpg.Pool, idp: IdentityProvider, clock: FakeClock
) -> AsyncIterator[Portal]:
    await pool.execute("INSERT INTO teams (slug, name) VALUES ('pay', 'Payments')")
    async with portal(migrated_url, idp, clock) as served:
        yield served


# --- the flow ----------------------------------------------------------------------------


async def test_sign_in_then_graphql_as_the_user_through_cookie_and_csrf_header(
    app: Portal, idp: IdentityProvider, pool: asyncpg.Pool
) -> None:
    browser = app.browser
    started = await browser.request("GET", "/auth/login", params={"next": "/services?mine=1"})
    assert started.status_code == 302
    assert started.headers["cache-control"] == "no-store"
    at_provider = await browser.follow(started)
    request = idp.authorization.authorizations[-1]
    assert request["response_type"] == "code"
    assert request["client_id"] == CLIENT_ID
    assert request["redirect_uri"] == app.origin + "/auth/callback"
    assert request["scope"].split() == ["openid", "email", "profile"]
    assert request["code_challenge_method"] == "S256"
    assert len(request["state"]) >= 43
    assert len(request["nonce"]) >= 43
    assert request["state"] != request["nonce"]
    login_cookie = browser.cookies["paved_login"]
    assert login_cookie.value == request["state"]
    assert login_cookie["path"] == "/auth/callback"
    assert login_cookie["httponly"]
    assert login_cookie["secure"]

    back = await browser.follow(at_provider)

    assert back.status_code == 303, back.text
    assert back.headers["location"] == "/services?mine=1"
    assert "paved_login" not in browser.cookies
    assert idp.authorization.refusals == []
    assert idp.count(TOKEN_PATH) == 1
    cookie = browser.cookies["paved_session"]
    assert cookie["httponly"] is True
    assert cookie["secure"] is True
    assert cookie["samesite"].lower() == "lax"
    assert cookie["path"] == "/"
    assert cookie["domain"] == ""
    assert int(cookie["max-age"]) == 12 * 3600

    session = (await browser.request("GET", "/auth/session")).json()
    assert session["signedIn"] is True
    assert session["user"] == {"name": "Ana", "email": "ana@example.com"}
    assert session["csrfToken"] == csrf_token(cookie.value)
    assert session["csrfHeader"] == "X-Paved-CSRF"
    assert session["anonymousAdmin"] is False
    assert session["idleMinutes"] == 60

    answer = await app.graphql(session["csrfToken"])
    assert answer.status_code == 200, answer.text
    viewer = answer.json()["data"]["viewer"]
    assert viewer == {
        "__typename": "User",
        "name": "Ana",
        "handle": "ana",
        "teams": [{"slug": "pay"}],
    }
    row = await pool.fetchrow("SELECT oidc_subject FROM users WHERE handle = 'ana'")
    assert row is not None
    assert row["oidc_subject"] == "oidc-ana"


async def test_a_confidential_client_that_may_only_post_its_secret_posts_it(
    migrated_url: str, pool: asyncpg.Pool, idp: IdentityProvider, clock: FakeClock
) -> None:
    idp.authorization.auth_methods = ["client_secret_post"]
    async with portal(migrated_url, idp, clock) as app:
        csrf = await app.sign_in()
        assert (await app.graphql(csrf)).json()["data"]["viewer"]["handle"] == "ana"
    assert idp.authorization.refusals == []


async def test_a_public_client_signs_in_with_pkce_alone(
    migrated_url: str, pool: asyncpg.Pool, idp: IdentityProvider, clock: FakeClock
) -> None:
    idp.authorization.client_secret = None
    async with portal(migrated_url, idp, clock, oidc_client_secret=None) as app:
        csrf = await app.sign_in()
        assert (await app.graphql(csrf)).json()["data"]["viewer"]["handle"] == "ana"
    assert idp.authorization.refusals == []


async def test_the_provider_checks_the_pkce_verifier_the_server_sends(
    app: Portal, idp: IdentityProvider
) -> None:
    """The verifier sent with the code is the one whose challenge went to the provider:
    with another verifier's challenge filed, the provider refuses the code."""
    redirect = await app.authorize(None, app.browser)
    code = parse_qs(urlsplit(redirect.headers["location"]).query)["code"][0]
    idp.authorization.codes[code].challenge = s256("another verifier")

    refused = await app.callback(redirect, app.browser)

    assert refused.status_code == 403
    assert idp.authorization.refusals == ["code_verifier"]
    assert "paved_session" not in app.browser.cookies


# --- where the cookie counts -------------------------------------------------------------


async def test_the_cookie_counts_only_on_json_posts_with_the_csrf_header(app: Portal) -> None:
    csrf = await app.sign_in()
    browser = app.browser
    graphql = "/graphql"
    form = "query=%7B%20viewer%20%7B%20__typename%20%7D%20%7D"
    attempts = {
        "no CSRF header": await app.graphql(None),
        "wrong CSRF header": await app.graphql(csrf_token("x" * 43)),
        "empty CSRF header": await app.graphql(""),
        "GET with the header": await browser.request(
            "GET", graphql, params={"query": "{ viewer { __typename } }"},
            headers={"X-Paved-CSRF": csrf},
        ),
        "form post": await browser.request(
            "POST", graphql, content=form,
            headers={"X-Paved-CSRF": csrf, "Content-Type": "application/x-www-form-urlencoded"},
        ),
        "text/plain post": await browser.request(
            "POST", graphql, content='{"query": "{ viewer { __typename } }"}',
            headers={"X-Paved-CSRF": csrf, "Content-Type": "text/plain"},
        ),
        "multipart post": await browser.request(
            "POST", graphql, files={"query": ("q", b"{ viewer { __typename } }")},
            headers={"X-Paved-CSRF": csrf},
        ),
    }  # fmt: skip
    for case, answer in attempts.items():
        assert answer.status_code == 401, case
        assert "data" not in answer.json(), case
        error = answer.json()["errors"][0]
        assert error["extensions"]["code"] == "UNAUTHENTICATED", case
        mismatch = case in ("wrong CSRF header", "empty CSRF header")
        expected = "is not this session's" if mismatch else "counts only on POST"
        assert expected in error["message"], case
    assert (await app.graphql(csrf)).status_code == 200


async def test_a_forged_cookie_is_refused(app: Portal) -> None:
    await app.sign_in()
    real = app.browser.session_cookie()
    for forged in ("A" * 43, real[:-1] + ("A" if real[-1] != "A" else "B"), "x", "A" * 5000):
        app.browser.cookies["paved_session"].set("paved_session", forged, forged)
        answer = await app.graphql(csrf_token(forged))
        assert answer.status_code == 401, forged[:50]


async def test_a_bearer_header_wins_over_the_cookie(app: Portal, pool: asyncpg.Pool) -> None:
    csrf = await app.sign_in()
    store = PostgresAccessStore(pool)
    await store.create_user("bob", "Bob", "bob@example.com", admin=False)
    bob = await token(store, Scope.READ, user="bob")

    as_bob = await app.graphql(csrf, headers={"Authorization": f"Bearer {bob}"})
    bad_bearer = await app.graphql(csrf, headers={"Authorization": "Bearer paved_nonsense"})

    assert as_bob.json()["data"]["viewer"]["handle"] == "bob"
    assert bad_bearer.status_code == 401


# --- refused sign-ins --------------------------------------------------------------------


async def sessions_in_store(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM web_sessions"))


async def test_a_state_that_is_not_the_browsers_is_refused(
    app: Portal, idp: IdentityProvider, pool: asyncpg.Pool
) -> None:
    redirect = await app.authorize(None, app.browser)
    location = redirect.headers["location"]
    state = parse_qs(urlsplit(location).query)["state"][0]
    tampered = location.replace(f"state={state}", "state=" + "A" * len(state))
    other = app.other_browser()  # never started a sign-in: no login cookie

    wrong_state = await app.browser.request("GET", tampered)
    no_state = await app.browser.request("GET", location.replace(f"state={state}", "state="))
    other_browser = await other.request("GET", location)

    for answer in (wrong_state, no_state, other_browser):
        assert answer.status_code == 403
        assert "not started in this browser" in answer.text
        assert answer.headers["content-type"].startswith("text/plain")
    assert "paved_session" not in app.browser.cookies
    assert "paved_session" not in other.cookies
    assert idp.count(TOKEN_PATH) == 0
    assert await sessions_in_store(pool) == 0


async def test_a_nonce_that_is_not_the_sign_ins_is_refused(
    app: Portal, idp: IdentityProvider, pool: asyncpg.Pool
) -> None:
    idp.authorization.id_token_changes = {"nonce": "a-nonce-of-another-sign-in"}
    redirect = await app.authorize(None, app.browser)

    refused = await app.callback(redirect, app.browser)

    assert refused.status_code == 403
    assert "nonce" in refused.text
    assert "paved_session" not in app.browser.cookies
    assert await sessions_in_store(pool) == 0


async def test_a_code_is_used_once(app: Portal, idp: IdentityProvider, pool: asyncpg.Pool) -> None:
    redirect = await app.authorize(None, app.browser)
    stolen = parse_qs(urlsplit(redirect.headers["location"]).query)["code"][0]
    assert (await app.callback(redirect, app.browser)).status_code == 303

    # The same callback again (a replayed URL): its sign-in is finished, the provider is not
    # even asked.
    replayed = await app.browser.request("GET", redirect.headers["location"])
    assert replayed.status_code == 403
    assert idp.count(TOKEN_PATH) == 1

    # The stolen code inside a sign-in of the attacker's own: the provider refuses it.
    attacker = app.other_browser()
    fresh = await app.authorize(None, attacker)
    state = parse_qs(urlsplit(fresh.headers["location"]).query)["state"][0]
    reused = await attacker.request(
        "GET", "/auth/callback", params={"code": stolen, "state": state}
    )
    assert reused.status_code == 403
    assert "refused the sign-in code" in reused.text
    assert idp.authorization.refusals == ["code used already"]
    assert "paved_session" not in attacker.cookies
    assert await sessions_in_store(pool) == 1


ID_TOKEN_REFUSALS = {
    "wrong issuer": ({"iss": "https://evil.example"}, "issuer"),
    "bearer audience": ({"aud": "paved-api"}, "audience"),
    "another client's": ({"aud": [CLIENT_ID, "other"], "azp": "other"}, "another client"),
    "expired": ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, "expired"),
    "no nonce": ({"nonce": DROP}, "nonce"),
    "no subject": ({"sub": DROP}, "sub"),
}


@pytest.mark.parametrize(
    ("changes", "reason"), ID_TOKEN_REFUSALS.values(), ids=ID_TOKEN_REFUSALS.keys()
)
async def test_an_id_token_that_does_not_hold_is_refused(
    app: Portal,
    idp: IdentityProvider,
    pool: asyncpg.Pool,
    changes: dict[str, object],
    reason: str,
) -> None:
    idp.authorization.id_token_changes = changes

    refused = await app.callback(await app.authorize(None, app.browser), app.browser)

    assert refused.status_code == 403, refused.text
    assert reason in refused.text
    assert "paved_session" not in app.browser.cookies
    assert await sessions_in_store(pool) == 0


async def test_an_id_token_signed_by_an_unpublished_key_is_refused(
    app: Portal, idp: IdentityProvider, pool: asyncpg.Pool
) -> None:
    idp.authorization.signing_key = SigningKey.rsa("k1")  # the published kid, another key

    refused = await app.callback(await app.authorize(None, app.browser), app.browser)

    assert refused.status_code == 403
    assert "signature" in refused.text
    assert await sessions_in_store(pool) == 0


async def test_the_providers_refusal_is_shown_and_ends_the_sign_in(
    app: Portal, idp: IdentityProvider
) -> None:
    idp.authorization.deny = True
    redirect = await app.authorize(None, app.browser)

    refused = await app.callback(redirect, app.browser)
    again = await app.browser.request("GET", redirect.headers["location"])

    assert refused.status_code == 403
    assert "(access_denied)" in refused.text
    assert again.status_code == 403
    assert idp.count(TOKEN_PATH) == 0


OPEN_REDIRECTS = [
    "https://evil.example/",
    "//evil.example/",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    " /services",
    "http:/evil.example",
    "evil.example",
    "javascript:alert(1)",
    "/services\r\nSet-Cookie: paved_session=x",
    "/caf\u00e9",
    "/" + "a" * 2100,
]


@pytest.mark.parametrize("target", OPEN_REDIRECTS)
async def test_next_may_only_be_a_path_on_this_server(
    app: Portal, pool: asyncpg.Pool, target: str
) -> None:
    refused = await app.browser.request("GET", "/auth/login", params={"next": target})

    assert refused.status_code == 400
    assert "location" not in refused.headers
    assert await pool.fetchval("SELECT count(*) FROM oidc_logins") == 0


async def test_next_is_sent_once(app: Portal) -> None:
    refused = await app.browser.request("GET", "/auth/login?next=/a&next=//evil.example")
    assert refused.status_code == 400


async def test_a_path_with_query_and_fragment_is_where_the_browser_lands(app: Portal) -> None:
    redirect = await app.authorize("/services/pay-api?tab=deployments#latest", app.browser)
    landed = await app.callback(redirect, app.browser)
    assert landed.headers["location"] == "/services/pay-api?tab=deployments#latest"


async def test_sign_ins_under_way_are_bounded(app: Portal, pool: asyncpg.Pool) -> None:
    routes = app.served.app.state.sign_in
    assert routes.sign_in is not None
    app.served.app.state.sign_in = dataclasses.replace(
        routes, sign_in=dataclasses.replace(routes.sign_in, max_pending=2)
    )
    for _ in range(2):
        started = await app.browser.request("GET", "/auth/login")
        assert started.status_code == 302
    refused = await app.browser.request("GET", "/auth/login")
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "60"
    app.clock.advance(601)  # the first two expire: room again
    assert (await app.browser.request("GET", "/auth/login")).status_code == 302
    assert await pool.fetchval("SELECT count(*) FROM oidc_logins") == 1


# --- expiry and logout -------------------------------------------------------------------


async def test_a_session_ends_after_an_hour_without_requests(app: Portal) -> None:
    csrf = await app.sign_in()
    for _ in range(3):  # each request keeps it alive for another hour
        app.clock.advance(59 * 60)
        assert (await app.graphql(csrf)).status_code == 200

    app.clock.advance(60 * 60 + 1)

    ended = await app.graphql(csrf)
    assert ended.status_code == 401
    assert "sign in again" in ended.json()["errors"][0]["message"]
    assert (await app.browser.request("GET", "/auth/session")).json()["signedIn"] is False


async def test_a_session_ends_after_twelve_hours_whatever_its_use(app: Portal) -> None:
    csrf = await app.sign_in()
    for _ in range(14):  # 11 h 40 min, a request every 50 minutes
        app.clock.advance(50 * 60)
        assert (await app.graphql(csrf)).status_code == 200

    app.clock.advance(20 * 60)

    assert (await app.graphql(csrf)).status_code == 401


async def test_logout_ends_the_session_and_the_old_cookie_no_longer_works(
    app: Portal, pool: asyncpg.Pool
) -> None:
    csrf = await app.sign_in()
    kept = app.other_browser()
    kept.cookies = dict(app.browser.cookies)  # a copy of the cookie, as a thief would keep

    without_token = await app.browser.request("POST", "/auth/logout")
    wrong_token = await app.browser.request(
        "POST", "/auth/logout", headers={"X-Paved-CSRF": csrf_token("B" * 43)}
    )
    assert without_token.status_code == wrong_token.status_code == 403
    assert (await app.graphql(csrf)).status_code == 200  # a forged logout ended nothing

    logged_out = await app.browser.request("POST", "/auth/logout", headers={"X-Paved-CSRF": csrf})

    assert logged_out.status_code == 204
    cleared = logged_out.headers["set-cookie"]
    assert cleared.startswith("paved_session=")
    assert "Max-Age=0" in cleared
    assert "paved_session" not in app.browser.cookies
    assert await sessions_in_store(pool) == 0
    refused = await app.graphql(csrf, browser=kept)
    assert refused.status_code == 401
    session = (await kept.request("GET", "/auth/session")).json()
    assert session["signedIn"] is False
    assert session["csrfToken"] is None
    again = await kept.request("POST", "/auth/logout", headers={"X-Paved-CSRF": csrf})
    assert again.status_code == 204


async def test_signing_in_again_replaces_the_earlier_session(
    app: Portal, pool: asyncpg.Pool
) -> None:
    await app.sign_in()
    first = app.browser.session_cookie()
    csrf = await app.sign_in()
    assert app.browser.session_cookie() != first
    assert await sessions_in_store(pool) == 1
    assert (await app.graphql(csrf_token(first), headers={})).status_code == 401
    assert (await app.graphql(csrf)).status_code == 200


async def test_deleting_the_user_ends_their_sessions(app: Portal, pool: asyncpg.Pool) -> None:
    csrf = await app.sign_in()
    await pool.execute("DELETE FROM team_members")
    await pool.execute("DELETE FROM users WHERE handle = 'ana'")
    assert await sessions_in_store(pool) == 0
    assert (await app.graphql(csrf)).status_code == 401


# --- secrets stay secret ----------------------------------------------------------------


async def test_the_session_id_is_in_no_table_only_its_hash(app: Portal, pool: asyncpg.Pool) -> None:
    csrf = await app.sign_in()
    created = await app.graphql(
        csrf,
        'mutation { createApiToken(input: {user: "ana", name: "laptop", scopes: [READ]}) '
        "{ token { prefix } errors { message } } }",
    )
    assert created.json()["data"]["createApiToken"]["errors"] == []
    secret = app.browser.session_cookie()

    tables = await pool.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
    )
    dumped = "\n".join(
        [
            str(row[0])
            for table in tables
            for row in await pool.fetch(f'SELECT t::text FROM "{table[0]}" AS t')
        ]
    )
    assert "web_sessions" in {table[0] for table in tables}
    stored = await pool.fetchval("SELECT secret_hash FROM web_sessions")
    assert stored == hashlib.sha256(secret.encode()).digest()
    for value in (secret, csrf, CLIENT_SECRET):
        assert value not in dumped
    assert "laptop" in dumped  # the dump does hold the rows


async def test_no_secret_of_the_flow_reaches_the_logs(
    app: Portal, idp: IdentityProvider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    redirect = await app.authorize(None, app.browser)
    code = parse_qs(urlsplit(redirect.headers["location"]).query)["code"][0]
    await app.callback(redirect, app.browser)
    secret = app.browser.session_cookie()
    csrf = await app.csrf()
    await app.graphql(csrf)
    await app.graphql(csrf_token("C" * 43))  # refused: logged, if at all, without secrets
    await app.browser.request("POST", "/auth/logout", headers={"X-Paved-CSRF": csrf})
    await app.browser.request("GET", redirect.headers["location"])  # refused: a replay

    assert "signed in" in caplog.text  # the server did log the flow
    assert "sign-in refused" in caplog.text
    # The HTTP client library logs the test's own traffic (the callback's URL, the cookies it
    # receives): those records are the browser's, not the server's; what it logs of the
    # server's calls to the provider is kept.
    server = [
        record.getMessage()
        for record in caplog.records
        if not record.name.startswith(("httpx", "httpcore"))
        or (idp.issuer in record.getMessage() and app.origin not in record.getMessage())
    ]
    assert any(idp.issuer + TOKEN_PATH in text for text in server)
    for text in server:
        for value in (secret, csrf, CLIENT_SECRET, code):
            assert value not in text


# --- subscriptions ----------------------------------------------------------------------


async def admin_bearer(pool: asyncpg.Pool) -> dict[str, str]:
    """Someone else who makes events happen (teams created)."""
    store = PostgresAccessStore(pool)
    await store.create_user("root", "Root", "root@example.com", admin=True)
    secret = await token(store, Scope.READ, Scope.WRITE, Scope.ADMIN, user="root")
    return {"Authorization": f"Bearer {secret}"}


async def create_team(app: Portal, admin: dict[str, str], slug: str) -> None:
    created = await app.browser.http.post(
        app.served.url,
        json={"query": f'mutation {{ createTeam(input: {{slug: "{slug}", name: "{slug}"}}) '
                       "{ errors { message } } }"},
        headers=admin,
    )  # fmt: skip
    assert created.json()["data"]["createTeam"]["errors"] == [], created.text


async def test_sse_takes_the_session_on_post_with_the_csrf_header_until_logout(
    app: Portal, pool: asyncpg.Pool
) -> None:
    csrf = await app.sign_in()
    admin = await admin_bearer(pool)
    headers = {
        "Accept": "text/event-stream",
        "Cookie": app.browser.cookie_header("/graphql"),
        "X-Paved-CSRF": csrf,
    }
    async with app.browser.http.stream(
        "POST", app.served.url, json={"query": EVENTS}, headers=headers,
        timeout=httpx.Timeout(10, read=None),
    ) as response:  # fmt: skip
        assert response.status_code == 200
        stream = SseStream(response)
        await create_team(app, admin, "web")
        event = await stream.next_event()
        assert event.payload["data"]["events"]["type"] == "TEAM_CREATED"

        await app.browser.request("POST", "/auth/logout", headers={"X-Paved-CSRF": csrf})
        await create_team(app, admin, "ops")

        ended = await stream.next_event()
        assert ended.payload["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert (await stream.next_event()).event == "complete"


async def test_sse_refuses_the_cookie_on_get_and_without_the_csrf_header(app: Portal) -> None:
    csrf = await app.sign_in()
    cookie = app.browser.cookie_header("/graphql")
    get = await app.browser.http.get(
        app.served.url,
        params={"query": EVENTS},
        headers={"Accept": "text/event-stream", "Cookie": cookie, "X-Paved-CSRF": csrf},
    )
    post = await app.browser.http.post(
        app.served.url,
        json={"query": EVENTS},
        headers={"Accept": "text/event-stream", "Cookie": cookie},
    )
    assert get.status_code == post.status_code == 401


async def websocket(
    app: Portal, *, origin: str | None, cookie: bool = True, payload: dict[str, str]
) -> WsClient:
    """Connect and initialise: returns the client once acknowledged, or raises as the server
    closes the connection."""
    headers = {"Cookie": app.browser.cookie_header("/graphql")} if cookie else {}
    connection = await connect(
        app.served.ws_url,
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
        origin=origin,  # type: ignore[arg-type]
        additional_headers=headers,
    )
    client = WsClient(connection)
    await client.send({"type": "connection_init", "payload": payload})
    try:
        assert (await client.receive())["type"] == "connection_ack"
    except BaseException:
        await connection.close()
        raise
    return client


async def test_a_websocket_takes_the_session_from_the_page_with_its_csrf_token(
    app: Portal, pool: asyncpg.Pool
) -> None:
    csrf = await app.sign_in()
    admin = await admin_bearer(pool)
    client = await websocket(app, origin=app.origin, payload={"csrfToken": csrf})
    try:
        await client.subscribe("1", EVENTS)
        await create_team(app, admin, "web")
        assert (await client.next_payload())["data"]["events"]["type"] == "TEAM_CREATED"
    finally:
        await client.connection.close()


OURS = "the page's"
WEBSOCKET_REFUSALS = {
    "another origin": ("http://evil.example", True, OURS),
    "no origin": (None, True, OURS),
    "a wrong token": (OURS, True, csrf_token("D" * 43)),
    "no token": (OURS, True, None),
    "no cookie": (OURS, False, OURS),
}


@pytest.mark.parametrize(
    ("origin", "cookie", "csrf"), WEBSOCKET_REFUSALS.values(), ids=WEBSOCKET_REFUSALS.keys()
)
async def test_a_websocket_without_origin_token_and_cookie_gets_no_session(
    app: Portal, origin: str | None, cookie: bool, csrf: str | None
) -> None:
    real = await app.sign_in()
    with pytest.raises(ConnectionClosed) as closed:
        await websocket(
            app,
            origin=app.origin if origin == OURS else origin,
            cookie=cookie,
            payload={} if csrf is None else {"csrfToken": real if csrf == OURS else csrf},
        )
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4403


# --- development, and signing in off -----------------------------------------------------


async def test_development_keeps_the_local_admin_and_signs_in_too(
    migrated_url: str, pool: asyncpg.Pool, idp: IdentityProvider, clock: FakeClock
) -> None:
    async with portal(migrated_url, idp, clock, env="development") as app:
        before = (await app.browser.request("GET", "/auth/session")).json()
        assert before["signedIn"] is False
        assert before["anonymousAdmin"] is True
        assert before["loginUrl"] == "/auth/login"
        anonymous = await app.graphql(None)
        assert anonymous.json()["data"]["viewer"]["__typename"] == "LocalAdmin"

        csrf = await app.sign_in()

        assert app.browser.cookies["paved_session"]["secure"] == ""  # plain http, loopback
        assert app.browser.cookies["paved_session"]["httponly"] is True
        as_ana = await app.graphql(csrf)
        assert as_ana.json()["data"]["viewer"]["handle"] == "ana"
        cookie_ignored = await app.graphql(None)
        assert cookie_ignored.json()["data"]["viewer"]["__typename"] == "LocalAdmin"
        assert (await app.graphql(csrf_token("E" * 43))).status_code == 401


async def test_production_needs_the_public_url_to_sign_in(
    migrated_url: str, idp: IdentityProvider
) -> None:
    settings = served_settings(
        migrated_url, env="production", oidc_issuer=idp.issuer, oidc_client_id=CLIENT_ID
    )
    with pytest.raises(RuntimeError, match="PAVED_PUBLIC_URL is required"):
        async with running(settings):
            pass


async def test_without_a_client_id_there_is_no_signing_in_and_cookies_mean_nothing(
    migrated_url: str, pool: asyncpg.Pool, idp: IdentityProvider, clock: FakeClock
) -> None:
    async with portal(migrated_url, idp, clock, oidc_client_id=None) as app:
        login = await app.browser.request("GET", "/auth/login")
        session = (await app.browser.request("GET", "/auth/session")).json()
        forged = "F" * 43
        answer = await app.browser.request(
            "POST",
            "/graphql",
            json={"query": "{ viewer { __typename } }"},
            headers={"Cookie": f"paved_session={forged}", "X-Paved-CSRF": csrf_token(forged)},
        )
        logout = await app.browser.request("POST", "/auth/logout")
    assert login.status_code == 404
    assert session["loginUrl"] is None
    assert session["signedIn"] is False
    assert answer.status_code == 401
    assert logout.status_code == 204
