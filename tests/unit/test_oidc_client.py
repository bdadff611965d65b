"""This server as an OpenID Connect client, against a scripted identity provider: what it
takes from the discovery document and refuses in it, the authorization URL, how the code is
exchanged (client authentication), and what it does with a provider that misbehaves."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2 as httpx
import orjson
import pytest
from pydantic import SecretStr

from api.oidc_client import MAX_ANSWER_BYTES, Endpoints, OidcClient, pkce_challenge
from domain.access.model import Unauthenticated
from domain.errors import ProviderFailure
from tests.support.clock import FakeClock

ISSUER = "https://idp.example"
REDIRECT = "https://paved.example/auth/callback"
DISCOVERY = {
    "issuer": ISSUER,
    "authorization_endpoint": ISSUER + "/authorize?tenant=acme",
    "token_endpoint": ISSUER + "/token",
    "jwks_uri": ISSUER + "/keys",
    "code_challenge_methods_supported": ["plain", "S256"],
}
Answer = Callable[[httpx.Request], httpx.Response]


class Provider:
    """Answers each request with `answers[path]`; keeps the requests."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.answers: dict[str, Answer] = {
            "/.well-known/openid-configuration": lambda _: httpx.Response(200, json=DISCOVERY),
            "/token": lambda _: httpx.Response(200, json={"id_token": "a.b.c"}),
        }

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answers[request.url.path](request)


@pytest.fixture
def provider() -> Provider:
    return Provider()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1000.0)


@pytest.fixture
async def http(provider: Provider) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(provider)) as client:
        yield client


@pytest.fixture
def make(http: httpx.AsyncClient, clock: FakeClock) -> Callable[..., OidcClient]:
    def build(**changes: Any) -> OidcClient:
        values: dict[str, Any] = {
            "issuer": ISSUER,
            "client_id": "paved portal",
            "redirect_uri": REDIRECT,
            "http": http,
            "clock": clock,
            **changes,
        }
        return OidcClient(**values)

    return build


def form(request: httpx.Request) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(request.content.decode()).items()}


async def test_the_authorization_url_asks_for_a_code_with_pkce(
    make: Callable[..., OidcClient],
) -> None:
    client = make(scopes=("openid", "groups"))
    endpoints = await client.endpoints()

    url = client.authorization_url(endpoints, state="st", nonce="no", verifier="v" * 43)

    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == ISSUER + "/authorize"
    assert parse_qs(parts.query) == {
        "tenant": ["acme"],
        "response_type": ["code"],
        "client_id": ["paved portal"],
        "redirect_uri": [REDIRECT],
        "scope": ["openid groups"],
        "state": ["st"],
        "nonce": ["no"],
        "code_challenge": [pkce_challenge("v" * 43)],
        "code_challenge_method": ["S256"],
    }


async def test_the_endpoints_own_parameters_never_replace_ours(
    make: Callable[..., OidcClient],
) -> None:
    endpoints = Endpoints(ISSUER + "/authorize?state=evil&redirect_uri=x&a=1", "t", ())

    url = make().authorization_url(endpoints, state="st", nonce="no", verifier="v" * 43)

    query = parse_qs(urlsplit(url).query)
    assert query["state"] == ["st"]
    assert query["redirect_uri"] == [REDIRECT]
    assert query["a"] == ["1"]


async def test_discovery_is_kept_an_hour(
    make: Callable[..., OidcClient], provider: Provider, clock: FakeClock
) -> None:
    client = make()
    await client.endpoints()
    clock.advance(3599)
    await client.endpoints()
    assert len(provider.requests) == 1
    clock.advance(1)
    await client.endpoints()
    assert len(provider.requests) == 2


BAD_DISCOVERY = {
    "another issuer": {**DISCOVERY, "issuer": "https://impostor.example"},
    "plain http token endpoint": {**DISCOVERY, "token_endpoint": "http://idp.example/token"},
    "no authorization endpoint": {**DISCOVERY, "authorization_endpoint": None},
    "javascript endpoint": {**DISCOVERY, "authorization_endpoint": "javascript:alert(1)"},
    "no S256": {**DISCOVERY, "code_challenge_methods_supported": ["plain"]},
}


@pytest.mark.parametrize("document", BAD_DISCOVERY.values(), ids=BAD_DISCOVERY.keys())
async def test_a_discovery_document_that_does_not_hold_is_refused(
    make: Callable[..., OidcClient], provider: Provider, document: dict[str, Any]
) -> None:
    provider.answers["/.well-known/openid-configuration"] = lambda _: httpx.Response(
        200, json=document
    )
    with pytest.raises(ProviderFailure):
        await make().endpoints()


async def test_a_provider_that_is_down_is_asked_again_only_seconds_later(
    make: Callable[..., OidcClient], provider: Provider, clock: FakeClock
) -> None:
    working = provider.answers["/.well-known/openid-configuration"]
    provider.answers["/.well-known/openid-configuration"] = lambda _: httpx.Response(503)
    client = make()
    with pytest.raises(ProviderFailure):
        await client.endpoints()
    provider.answers["/.well-known/openid-configuration"] = working
    clock.advance(4)
    with pytest.raises(ProviderFailure):
        await client.endpoints()
    assert len(provider.requests) == 1
    clock.advance(1)
    assert (await client.endpoints()).token == ISSUER + "/token"


async def test_a_confidential_client_authenticates_with_basic(
    make: Callable[..., OidcClient], provider: Provider
) -> None:
    client = make(secret=SecretStr("p@ss:word"))

    assert await client.exchange("the-code", "the-verifier") == "a.b.c"

    sent = provider.requests[-1]
    assert sent.method == "POST"
    assert form(sent) == {
        "grant_type": "authorization_code",
        "code": "the-code",
        "redirect_uri": REDIRECT,
        "code_verifier": "the-verifier",
    }
    basic = base64.b64decode(sent.headers["authorization"].removeprefix("Basic ")).decode()
    assert basic == "paved%20portal:p%40ss%3Aword"  # each part form-encoded (RFC 6749, 2.3.1)


async def test_a_provider_that_only_takes_posted_secrets_gets_them_in_the_form(
    make: Callable[..., OidcClient], provider: Provider
) -> None:
    document = {**DISCOVERY, "token_endpoint_auth_methods_supported": ["client_secret_post"]}
    provider.answers["/.well-known/openid-configuration"] = lambda _: httpx.Response(
        200, json=document
    )
    await make(secret=SecretStr("s3cret")).exchange("the-code", "the-verifier")

    sent = provider.requests[-1]
    assert "authorization" not in sent.headers
    assert form(sent)["client_id"] == "paved portal"
    assert form(sent)["client_secret"] == "s3cret"


async def test_a_public_client_sends_its_id_only(
    make: Callable[..., OidcClient], provider: Provider
) -> None:
    await make().exchange("the-code", "the-verifier")

    sent = provider.requests[-1]
    assert "authorization" not in sent.headers
    assert form(sent)["client_id"] == "paved portal"
    assert "client_secret" not in form(sent)


async def test_a_refused_code_is_unauthenticated(
    make: Callable[..., OidcClient], provider: Provider
) -> None:
    provider.answers["/token"] = lambda _: httpx.Response(400, json={"error": "invalid_grant"})
    with pytest.raises(Unauthenticated, match="refused the sign-in code"):
        await make().exchange("the-code", "the-verifier")


TOKEN_FAILURES: dict[str, Answer] = {
    "server error": lambda _: httpx.Response(500, json={"error": "oops"}),
    "no id token": lambda _: httpx.Response(200, json={"access_token": "x"}),
    "id token not a string": lambda _: httpx.Response(200, json={"id_token": 42}),
    "not json": lambda _: httpx.Response(200, content=b"<html>"),
    "a list": lambda _: httpx.Response(200, content=b"[]"),
    "too large": lambda _: httpx.Response(
        200, content=orjson.dumps({"id_token": "a.b.c", "pad": "x" * MAX_ANSWER_BYTES})
    ),
}


@pytest.mark.parametrize("answer", TOKEN_FAILURES.values(), ids=TOKEN_FAILURES.keys())
async def test_a_token_endpoint_that_misbehaves_is_a_provider_failure(
    make: Callable[..., OidcClient], provider: Provider, answer: Answer
) -> None:
    provider.answers["/token"] = answer
    with pytest.raises(ProviderFailure) as failed:
        await make(secret=SecretStr("s3cret")).exchange("the-code", "the-verifier")
    assert "s3cret" not in failed.value.message
    assert "the-code" not in failed.value.message
