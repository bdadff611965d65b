"""The OIDC bearer-token verifier against a real local identity provider (no database)."""

from __future__ import annotations

import asyncio
import base64
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from api.oidc import OidcVerifier
from api.settings import Settings
from domain.access.model import OidcIdentity, Unauthenticated
from tests.support.clock import FakeClock
from tests.support.network import free_port
from tests.support.oidc import (
    DISCOVERY_PATH,
    JWKS_PATH,
    IdentityProvider,
    SigningKey,
    b64url,
    hmac_token,
    unsigned_token,
)

AUDIENCE = "paved-api"
LEEWAY = 30
MISSING = object()
"""As a claim value: leave the claim out."""

MakeVerifier = Callable[..., OidcVerifier]


@dataclass(frozen=True)
class Keys:
    rsa: SigningKey
    ec: SigningKey
    forger: SigningKey
    """Not published: signs with a kid the issuer does use."""
    rotated: SigningKey
    """Published only once a test rotates to it."""


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys(
        rsa=SigningKey.rsa("rsa-1"),
        ec=SigningKey.ec("ec-1"),
        forger=SigningKey.rsa("rsa-1"),
        rotated=SigningKey.rsa("rsa-2"),
    )


@pytest.fixture(scope="module")
def provider() -> Iterator[IdentityProvider]:
    provider = IdentityProvider()
    provider.start()
    yield provider
    provider.stop()


@pytest.fixture
def idp(provider: IdentityProvider, keys: Keys) -> IdentityProvider:
    provider.reset()
    provider.keys = [keys.rsa.jwk(), keys.ec.jwk()]
    return provider


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_700_000_000.0)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False) as client:
        yield client


@pytest.fixture
def make_verifier(idp: IdentityProvider, http: httpx.AsyncClient, clock: FakeClock) -> MakeVerifier:
    def make(**overrides: Any) -> OidcVerifier:
        arguments: dict[str, Any] = {
            "issuer": idp.issuer,
            "audience": AUDIENCE,
            "http": http,
            "clock": clock,
            "leeway_seconds": LEEWAY,
        }
        return OidcVerifier(**{**arguments, **overrides})

    return make


@pytest.fixture
def claims(idp: IdentityProvider, clock: FakeClock) -> Callable[..., dict[str, Any]]:
    """Claims of a good token at the clock's time, with `changes` (MISSING drops one)."""

    def build(**changes: Any) -> dict[str, Any]:
        now = int(clock.now)
        base: dict[str, Any] = {
            "iss": idp.issuer,
            "aud": AUDIENCE,
            "sub": "user-42",
            "email": "ada@example.com",
            "name": "Ada Lovelace",
            "groups": ["platform", "sre"],
            "iat": now,
            "nbf": now,
            "exp": now + 300,
        }
        merged = {**base, **changes}
        return {name: value for name, value in merged.items() if value is not MISSING}

    return build


async def refused(verifier: OidcVerifier, token: str) -> str:
    with pytest.raises(Unauthenticated) as caught:
        await verifier.verify(token)
    return caught.value.message


# --- accepted tokens -------------------------------------------------------------------------


async def test_rs256_token_names_the_user_and_groups_via_discovery(
    make_verifier: MakeVerifier, idp: IdentityProvider, keys: Keys, claims: Any
) -> None:
    verifier = make_verifier()

    identity = await verifier.verify(keys.rsa.sign(claims()))

    assert identity == OidcIdentity(
        subject="user-42", email="ada@example.com", name="Ada Lovelace", groups=("platform", "sre")
    )
    assert idp.requests == [DISCOVERY_PATH, JWKS_PATH]


async def test_es256_token_with_a_configured_jwks_url_skips_discovery(
    make_verifier: MakeVerifier, idp: IdentityProvider, keys: Keys, claims: Any
) -> None:
    verifier = make_verifier(jwks_url=idp.jwks_url)

    identity = await verifier.verify(keys.ec.sign(claims(email=MISSING, name=MISSING)))

    assert identity == OidcIdentity("user-42", None, None, ("platform", "sre"))
    assert idp.requests == [JWKS_PATH]


async def test_keys_are_cached(
    make_verifier: MakeVerifier, idp: IdentityProvider, keys: Keys, claims: Any, clock: FakeClock
) -> None:
    verifier = make_verifier()
    for _ in range(5):
        await verifier.verify(keys.rsa.sign(claims()))
        await verifier.verify(keys.ec.sign(claims()))
        clock.advance(100)

    assert idp.requests == [DISCOVERY_PATH, JWKS_PATH]


@pytest.mark.parametrize(
    ("claim", "value", "groups"),
    [
        ("groups", ["a", "b", "a"], ("a", "b")),
        ("groups", "solo", ("solo",)),
        ("groups", MISSING, ()),
        ("groups", [], ()),
        ("groups", ["a", 7, None, "", "b"], ("a", "b")),
        ("groups", {"a": True}, ()),
        ("https://paved.example/teams", ["payments"], ("payments",)),
    ],
    ids=["list", "string", "absent", "empty", "non-strings-dropped", "object", "custom-claim"],
)
async def test_groups_come_from_the_configured_claim(
    make_verifier: MakeVerifier,
    keys: Keys,
    claims: Any,
    claim: str,
    value: object,
    groups: tuple[str, ...],
) -> None:
    verifier = make_verifier(groups_claim=claim)
    changes: dict[str, object] = {"groups": MISSING, claim: value}

    identity = await verifier.verify(keys.rsa.sign(claims(**changes)))

    assert identity.groups == groups


@pytest.mark.parametrize(
    "changes",
    [
        {"exp": -LEEWAY + 1},
        {"nbf": LEEWAY - 1},
        {"iat": LEEWAY - 1},
    ],
    ids=["expired-within-leeway", "nbf-within-leeway", "iat-within-leeway"],
)
async def test_clock_skew_within_the_leeway_is_accepted(
    make_verifier: MakeVerifier, keys: Keys, claims: Any, clock: FakeClock, changes: dict[str, int]
) -> None:
    now = int(clock.now)
    token = keys.rsa.sign(claims(**{name: now + delta for name, delta in changes.items()}))

    assert (await make_verifier().verify(token)).subject == "user-42"


async def test_an_audience_list_containing_ours_is_accepted(
    make_verifier: MakeVerifier, keys: Keys, claims: Any
) -> None:
    token = keys.rsa.sign(claims(aud=["other", AUDIENCE]))

    assert (await make_verifier().verify(token)).subject == "user-42"


# --- refused tokens --------------------------------------------------------------------------


@dataclass(frozen=True)
class Forge:
    keys: Keys
    claims: Callable[..., dict[str, Any]]
    now: int


def _mangled_signature(forge: Forge) -> str:
    head, body, signature = forge.keys.rsa.sign(forge.claims()).split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[0] ^= 0x01
    return f"{head}.{body}.{b64url(bytes(raw))}"


def _swapped_payload(forge: Forge) -> str:
    head, _, signature = forge.keys.rsa.sign(forge.claims()).split(".")
    _, body, _ = forge.keys.rsa.sign(forge.claims(sub="admin")).split(".")
    return f"{head}.{body}.{signature}"


REFUSALS: list[tuple[str, Callable[[Forge], str], str]] = [
    ("garbage", lambda f: "not-a-jwt", "malformed token"),
    ("empty", lambda f: "", "malformed token"),
    ("bad-segments", lambda f: "a.b.c", "malformed token"),
    ("header-not-json", lambda f: "bm90IGpzb24.e30.", "malformed token"),
    ("forged-signature", lambda f: f.keys.forger.sign(f.claims()), "token signature invalid"),
    ("swapped-payload", _swapped_payload, "token signature invalid"),
    ("mangled-signature", _mangled_signature, "token signature invalid"),
    (
        "alg-none",
        lambda f: unsigned_token({"alg": "none", "typ": "JWT", "kid": "rsa-1"}, f.claims()),
        "token algorithm not allowed",
    ),
    (
        "alg-None",
        lambda f: unsigned_token({"alg": "None", "kid": "rsa-1"}, f.claims()),
        "token algorithm not allowed",
    ),
    (
        "no-alg",
        lambda f: unsigned_token({"kid": "rsa-1"}, f.claims()),
        "token algorithm not allowed",
    ),
    (
        "hs256-with-public-key-as-secret",
        lambda f: hmac_token(
            {"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}, f.claims(), f.keys.rsa.public_pem()
        ),
        "token algorithm not allowed",
    ),
    (
        "unpinned-rs512",
        lambda f: f.keys.rsa.sign(f.claims(), alg="RS512"),
        "token algorithm not allowed",
    ),
    (
        "es256-header-on-the-rsa-kid",
        lambda f: f.keys.ec.sign(f.claims(), kid="rsa-1"),
        "token algorithm not allowed",
    ),
    (
        "no-kid",
        lambda f: jwt.encode(f.claims(), f.keys.rsa.private, algorithm="RS256"),
        "token names no signing key",
    ),
    (
        "unknown-kid",
        lambda f: f.keys.forger.sign(f.claims(), kid="who-knows"),
        "unknown signing key",
    ),
    (
        "expired",
        lambda f: f.keys.rsa.sign(f.claims(exp=f.now - LEEWAY - 1)),
        "token expired",
    ),
    (
        "expired-at-the-leeway",
        lambda f: f.keys.rsa.sign(f.claims(exp=f.now - LEEWAY)),
        "token expired",
    ),
    (
        "nbf-in-the-future",
        lambda f: f.keys.rsa.sign(f.claims(nbf=f.now + LEEWAY + 1)),
        "token not yet valid",
    ),
    (
        "iat-in-the-future",
        lambda f: f.keys.rsa.sign(f.claims(iat=f.now + LEEWAY + 1)),
        "token not yet valid",
    ),
    ("exp-not-a-number", lambda f: f.keys.rsa.sign(f.claims(exp="soon")), "malformed token"),
    ("exp-a-boolean", lambda f: f.keys.rsa.sign(f.claims(exp=True)), "malformed token"),
    ("exp-huge", lambda f: f.keys.rsa.sign(f.claims(exp=10**400)), "malformed token"),
    ("nbf-not-a-number", lambda f: f.keys.rsa.sign(f.claims(nbf="now")), "malformed token"),
    ("no-exp", lambda f: f.keys.rsa.sign(f.claims(exp=MISSING)), "token lacks the exp claim"),
    (
        "wrong-iss",
        lambda f: f.keys.rsa.sign(f.claims(iss="https://evil.example")),
        "token issuer not accepted",
    ),
    ("no-iss", lambda f: f.keys.rsa.sign(f.claims(iss=MISSING)), "token lacks the iss claim"),
    (
        "wrong-aud",
        lambda f: f.keys.rsa.sign(f.claims(aud="someone-else")),
        "token audience not accepted",
    ),
    ("no-aud", lambda f: f.keys.rsa.sign(f.claims(aud=MISSING)), "token lacks the aud claim"),
    ("no-sub", lambda f: f.keys.rsa.sign(f.claims(sub=MISSING)), "token lacks the sub claim"),
    ("empty-sub", lambda f: f.keys.rsa.sign(f.claims(sub="")), "token lacks the sub claim"),
    ("sub-not-a-string", lambda f: f.keys.rsa.sign(f.claims(sub=42)), "invalid token"),
]


@pytest.mark.parametrize(
    ("forge", "message"),
    [(build, message) for _, build, message in REFUSALS],
    ids=[name for name, _, _ in REFUSALS],
)
async def test_bad_tokens_are_refused_with_a_safe_message(
    make_verifier: MakeVerifier,
    keys: Keys,
    claims: Any,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    forge: Callable[[Forge], str],
    message: str,
) -> None:
    token = forge(Forge(keys, claims, int(clock.now)))

    assert await refused(make_verifier(), token) == message
    if token:
        assert token not in caplog.text


async def test_refusals_before_any_key_is_needed_fetch_nothing(
    make_verifier: MakeVerifier, idp: IdentityProvider, keys: Keys, claims: Any
) -> None:
    verifier = make_verifier()
    await refused(verifier, "garbage")
    await refused(verifier, unsigned_token({"alg": "none", "kid": "x"}, claims()))
    await refused(verifier, keys.rsa.sign(claims(), alg="RS512"))

    assert idp.requests == []


# --- key rotation and the refetch limit ------------------------------------------------------


async def test_a_new_kid_triggers_one_refetch_then_verifies(
    make_verifier: MakeVerifier, idp: IdentityProvider, keys: Keys, claims: Any, clock: FakeClock
) -> None:
    verifier = make_verifier()
    await verifier.verify(keys.rsa.sign(claims()))
    idp.keys = [keys.rotated.jwk(), keys.ec.jwk()]  # the issuer rotates rsa-1 out, rsa-2 in
    clock.advance(60)

    identity = await verifier.verify(keys.rotated.sign(claims()))
    again = await verifier.verify(keys.rotated.sign(claims()))

    assert identity.subject == again.subject == "user-42"
    assert idp.count(JWKS_PATH) == 2
    assert idp.count(DISCOVERY_PATH) == 1  # the jwks_uri is discovered once
    # rsa-1 is gone from the fresh set, and asking for it does not fetch again.
    assert await refused(verifier, keys.rsa.sign(claims())) == "unknown signing key"
    assert idp.count(JWKS_PATH) == 2


async def test_a_new_kid_within_a_minute_of_the_last_fetch_waits(
    make_verifier: MakeVerifier, idp: IdentityProvider, keys: Keys, claims: Any, clock: FakeClock
) -> None:
    verifier = make_verifier()
    await verifier.verify(keys.rsa.sign(claims()))
    idp.keys = [*idp.keys, keys.rotated.jwk()]
    clock.advance(59)

    assert await refused(verifier, keys.rotated.sign(claims())) == "unknown signing key"
    assert idp.count(JWKS_PATH) == 1

    clock.advance(1)
    assert (await verifier.verify(keys.rotated.sign(claims()))).subject == "user-42"
    assert idp.count(JWKS_PATH) == 2


async def test_a_flood_of_unknown_kids_refetches_at_most_once_a_minute(
    make_verifier: MakeVerifier, idp: IdentityProvider, keys: Keys, claims: Any, clock: FakeClock
) -> None:
    verifier = make_verifier()
    await verifier.verify(keys.rsa.sign(claims()))
    idp.delay = 0.02  # let the concurrent verifications pile up behind one fetch

    async def flood(size: int = 40) -> list[BaseException | OidcIdentity]:
        tokens = [keys.forger.sign(claims(), kid=f"bogus-{i}") for i in range(size)]
        return await asyncio.gather(
            *(verifier.verify(token) for token in tokens), return_exceptions=True
        )

    fetches = []
    for step in (1, 30, 29, 1, 30, 30):
        clock.advance(step)
        outcomes = await flood()
        assert all(isinstance(outcome, Unauthenticated) for outcome in outcomes)
        fetches.append(idp.count(JWKS_PATH))

    # t=1: cached (fetched at 0); t=31: too soon; t=60: one refetch; t=61, 91: too soon;
    # t=121: one refetch.
    assert fetches == [1, 1, 2, 2, 2, 3]
    assert (await verifier.verify(keys.rsa.sign(claims()))).subject == "user-42"


async def test_concurrent_first_verifications_share_one_fetch(
    make_verifier: MakeVerifier, idp: IdentityProvider, keys: Keys, claims: Any
) -> None:
    verifier = make_verifier()
    idp.delay = 0.05
    tokens = [keys.rsa.sign(claims(sub=f"user-{i}")) for i in range(20)]

    identities = await asyncio.gather(*(verifier.verify(token) for token in tokens))

    assert [identity.subject for identity in identities] == [f"user-{i}" for i in range(20)]
    assert idp.requests == [DISCOVERY_PATH, JWKS_PATH]


async def test_cached_keys_expire_so_a_removed_key_stops_working(
    make_verifier: MakeVerifier, idp: IdentityProvider, keys: Keys, claims: Any, clock: FakeClock
) -> None:
    verifier = make_verifier()
    await verifier.verify(keys.rsa.sign(claims()))
    idp.keys = [keys.ec.jwk()]  # rsa-1 revoked at the issuer

    clock.advance(899)
    await verifier.verify(keys.rsa.sign(claims()))
    assert idp.count(JWKS_PATH) == 1

    clock.advance(1)
    assert await refused(verifier, keys.rsa.sign(claims())) == "unknown signing key"
    assert idp.count(JWKS_PATH) == 2


async def test_expired_cache_is_still_used_while_the_provider_is_down(
    make_verifier: MakeVerifier, idp: IdentityProvider, keys: Keys, claims: Any, clock: FakeClock
) -> None:
    verifier = make_verifier()
    await verifier.verify(keys.rsa.sign(claims()))
    idp.status = 503
    clock.advance(900)

    await verifier.verify(keys.rsa.sign(claims()))
    await verifier.verify(keys.rsa.sign(claims()))

    assert idp.count(JWKS_PATH) == 2  # one failed refresh, then the retry interval holds


# --- an unavailable identity provider --------------------------------------------------------


@pytest.mark.parametrize("discovery", [True, False], ids=["discovery", "jwks-url"])
async def test_nothing_listening_is_provider_unavailable(
    make_verifier: MakeVerifier, keys: Keys, claims: Any, discovery: bool
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    verifier = make_verifier(issuer=dead) if discovery else make_verifier(jwks_url=dead + JWKS_PATH)

    assert await refused(verifier, keys.rsa.sign(claims(iss=dead))) == (
        "identity provider unavailable"
    )


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (503, None),
        (404, None),
        (200, b"<html>not json</html>"),
        (200, b"[]"),
        (200, b'{"keys": "none"}'),
        (200, b"{}"),
    ],
    ids=["503", "404", "not-json", "not-an-object", "keys-not-a-list", "no-keys"],
)
async def test_a_broken_jwks_endpoint_is_provider_unavailable(
    make_verifier: MakeVerifier,
    idp: IdentityProvider,
    keys: Keys,
    claims: Any,
    status: int,
    body: bytes | None,
) -> None:
    idp.status, idp.body = status, body

    message = await refused(make_verifier(jwks_url=idp.jwks_url), keys.rsa.sign(claims()))

    assert message == "identity provider unavailable"


async def test_a_slow_provider_times_out(
    make_verifier: MakeVerifier, idp: IdentityProvider, keys: Keys, claims: Any
) -> None:
    idp.delay = 0.5
    verifier = make_verifier(jwks_url=idp.jwks_url, fetch_timeout_seconds=0.1)

    assert await refused(verifier, keys.rsa.sign(claims())) == "identity provider unavailable"


async def test_a_discovery_document_for_another_issuer_is_refused(
    make_verifier: MakeVerifier, idp: IdentityProvider, keys: Keys, claims: Any
) -> None:
    idp.discovery_issuer = "https://impostor.example"

    assert await refused(make_verifier(), keys.rsa.sign(claims())) == (
        "identity provider unavailable"
    )
    assert idp.requests == [DISCOVERY_PATH]


async def test_after_a_failed_fetch_the_provider_is_retried_after_a_few_seconds(
    make_verifier: MakeVerifier, idp: IdentityProvider, keys: Keys, claims: Any, clock: FakeClock
) -> None:
    verifier = make_verifier(jwks_url=idp.jwks_url)
    idp.status = 503
    await refused(verifier, keys.rsa.sign(claims()))
    idp.status = 200

    clock.advance(4)
    assert await refused(verifier, keys.rsa.sign(claims())) == "identity provider unavailable"
    assert idp.count(JWKS_PATH) == 1

    clock.advance(1)
    assert (await verifier.verify(keys.rsa.sign(claims()))).subject == "user-42"
    assert idp.count(JWKS_PATH) == 2


async def test_private_encryption_and_unpinned_keys_in_the_jwks_are_ignored(
    make_verifier: MakeVerifier, idp: IdentityProvider, keys: Keys, claims: Any
) -> None:
    idp.keys = [
        keys.rsa.jwk(private=True),
        {**keys.ec.jwk(), "use": "enc"},
        {**keys.rotated.jwk(), "alg": "RS512"},
        {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
        {"kty": "nonsense", "kid": "odd"},
    ]
    verifier = make_verifier(jwks_url=idp.jwks_url)

    assert await refused(verifier, keys.rsa.sign(claims())) == "unknown signing key"
    assert await refused(verifier, keys.ec.sign(claims())) == "unknown signing key"
    assert await refused(verifier, keys.rotated.sign(claims())) == "unknown signing key"
    forged = hmac_token({"alg": "HS256", "kid": "hmac"}, claims(), b"secret")
    assert await refused(verifier, forged) == "token algorithm not allowed"


async def test_a_weak_issuer_key_is_refused(
    make_verifier: MakeVerifier, idp: IdentityProvider, claims: Any
) -> None:
    weak = SigningKey(
        "rsa-weak", "RS256", rsa.generate_private_key(public_exponent=65537, key_size=1024)
    )
    idp.keys = [weak.jwk()]
    with warnings.catch_warnings():  # PyJWT warns when signing with it, too
        warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
        token = weak.sign(claims())

    assert await refused(make_verifier(), token) == "invalid token"


# --- construction ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "algorithms", [(), ("HS256",), ("RS256", "none"), ("RS256", "HS512")], ids=str
)
def test_symmetric_or_no_algorithms_are_refused_at_construction(
    http: httpx.AsyncClient, algorithms: tuple[str, ...]
) -> None:
    with pytest.raises(ValueError, match="algorithms"):
        OidcVerifier(issuer="https://idp", audience="a", http=http, algorithms=algorithms)


async def test_from_settings(
    http: httpx.AsyncClient, idp: IdentityProvider, keys: Keys, claims: Any, clock: FakeClock
) -> None:
    settings = Settings(
        oidc_issuer=idp.issuer,
        oidc_audience=AUDIENCE,
        oidc_jwks_url=idp.jwks_url,
        oidc_algorithms=("ES256",),
        oidc_groups_claim="roles",
    )
    verifier = OidcVerifier.from_settings(settings, http, clock=clock)

    identity = await verifier.verify(keys.ec.sign(claims(roles="admin")))

    assert identity.groups == ("admin",)
    assert await refused(verifier, keys.rsa.sign(claims())) == "token algorithm not allowed"
    assert idp.requests == [JWKS_PATH]
    with pytest.raises(ValueError, match="OIDC is off"):
        OidcVerifier.from_settings(Settings(oidc_issuer=idp.issuer), http)


# --- ID tokens of a sign-in ------------------------------------------------------------------

CLIENT_ID = "paved-portal"


async def test_an_id_token_is_for_the_client_and_carries_the_sign_ins_nonce(
    make_verifier: MakeVerifier, keys: Keys, claims: Any
) -> None:
    verifier = make_verifier()
    token = keys.rsa.sign(claims(aud=CLIENT_ID, nonce="n-1"))

    identity = await verifier.verify_id_token(token, client_id=CLIENT_ID, nonce="n-1")

    assert identity.subject == "user-42"
    assert await refused(verifier, token) == "token audience not accepted"  # not a bearer


ID_TOKEN_REFUSALS = [
    ("other-nonce", {"aud": CLIENT_ID, "nonce": "n-2"}, "nonce does not match"),
    ("no-nonce", {"aud": CLIENT_ID}, "nonce does not match"),
    ("nonce-not-a-string", {"aud": CLIENT_ID, "nonce": 1}, "nonce does not match"),
    ("bearer-audience", {"nonce": "n-1"}, "token audience not accepted"),
    ("several-audiences-no-azp", {"aud": [CLIENT_ID, "x"], "nonce": "n-1"}, "another client"),
    ("azp-of-another", {"aud": CLIENT_ID, "azp": "x", "nonce": "n-1"}, "another client"),
]


@pytest.mark.parametrize(
    ("changes", "message"),
    [(changes, message) for _, changes, message in ID_TOKEN_REFUSALS],
    ids=[case for case, _, _ in ID_TOKEN_REFUSALS],
)
async def test_an_id_token_that_does_not_hold_is_refused(
    make_verifier: MakeVerifier, keys: Keys, claims: Any, changes: dict[str, Any], message: str
) -> None:
    token = keys.rsa.sign(claims(**changes))
    with pytest.raises(Unauthenticated) as caught:
        await make_verifier().verify_id_token(token, client_id=CLIENT_ID, nonce="n-1")
    assert message in caught.value.message


async def test_several_audiences_with_our_azp_are_accepted(
    make_verifier: MakeVerifier, keys: Keys, claims: Any
) -> None:
    token = keys.rsa.sign(claims(aud=[CLIENT_ID, "x"], azp=CLIENT_ID, nonce="n-1"))
    identity = await make_verifier().verify_id_token(token, client_id=CLIENT_ID, nonce="n-1")
    assert identity.subject == "user-42"
