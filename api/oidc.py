"""OIDC bearer tokens: check a JWT against the issuer's published keys and say whom it names.

`OidcVerifier.verify` accepts a token only when it is signed with one of the issuer's keys by a
pinned asymmetric algorithm, names the configured issuer and audience, is within its
validity window (give or take the leeway) and has a subject. Every refusal is an
`Unauthenticated` with a short message that never repeats the token. `verify_id_token` checks
the ID token of a browser sign-in (`api/oidc_login.py`) the same way, for the client's id as
audience and with the sign-in's nonce.

Keys come from the JWKS document (`oidc_jwks_url`, or the `jwks_uri` of the issuer's discovery
document) and are kept in memory. They are fetched again when a token names an unknown key id
(key rotation) or when the cached set is older than `MAX_KEY_AGE_SECONDS` (key removal), but
never within `REFETCH_INTERVAL_SECONDS` of the previous fetch (`RETRY_INTERVAL_SECONDS` after a
failed one), by the injected clock. Concurrent verifications that need a fetch share one.

The verifier borrows its `httpx.AsyncClient`: whoever creates the client closes it.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx2 as httpx
import jwt
from jwt import PyJWK

from api.settings import Settings
from domain.access.model import OidcIdentity, Unauthenticated

log = logging.getLogger(__name__)

# Only asymmetric algorithms: a JWKS holds public keys, and an HMAC "key" made of one is the
# classic algorithm-confusion attack.
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
REFETCH_INTERVAL_SECONDS = 60.0
RETRY_INTERVAL_SECONDS = 5.0
MAX_KEY_AGE_SECONDS = 900.0
FETCH_TIMEOUT_SECONDS = 5.0
REQUIRED_CLAIMS = ["exp", "iss", "aud", "sub"]


class _ProviderUnavailable(Exception):
    """The discovery or JWKS document could not be fetched or read."""


class OidcVerifier:
    """Verifies the issuer's bearer tokens; one instance per process, shared by requests.

    `http` is borrowed, never closed here: the composition root opens one client at start-up
    and closes it at shutdown. `clock` (seconds since the epoch) decides token validity and
    the refetch intervals. `algorithms` must be asymmetric (`ASYMMETRIC_ALGORITHMS`).
    """

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        http: httpx.AsyncClient,
        jwks_url: str | None = None,
        algorithms: Sequence[str] = ("RS256", "ES256"),
        groups_claim: str = "groups",
        leeway_seconds: float = 30,
        clock: Callable[[], float] = time.time,
        fetch_timeout_seconds: float = FETCH_TIMEOUT_SECONDS,
    ) -> None:
        if not issuer or not audience:
            raise ValueError("OIDC needs both an issuer and an audience")
        if not algorithms or not set(algorithms) <= ASYMMETRIC_ALGORITHMS:
            allowed = ", ".join(sorted(ASYMMETRIC_ALGORITHMS))
            raise ValueError(f"OIDC algorithms must be a non-empty subset of {allowed}")
        self._issuer = issuer
        self._audience = audience
        self._http = http
        self._jwks_url = jwks_url
        self._algorithms = tuple(algorithms)
        self._groups_claim = groups_claim
        self._leeway = leeway_seconds
        self._clock = clock
        self._fetch_timeout = fetch_timeout_seconds
        self._lock = asyncio.Lock()
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: float | None = None  # last successful fetch
        self._attempted_at: float | None = None  # end of the last fetch, successful or not
        self._last_ok = False

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        http: httpx.AsyncClient,
        *,
        clock: Callable[[], float] = time.time,
    ) -> OidcVerifier:
        if not (settings.oidc_issuer and settings.oidc_audience):
            raise ValueError("OIDC is off: PAVED_OIDC_ISSUER and PAVED_OIDC_AUDIENCE are unset")
        return cls(
            issuer=settings.oidc_issuer,
            audience=settings.oidc_audience,
            http=http,
            jwks_url=settings.oidc_jwks_url,
            algorithms=settings.oidc_algorithms,
            groups_claim=settings.oidc_groups_claim,
            leeway_seconds=settings.oidc_leeway_seconds,
            clock=clock,
        )

    async def verify(self, token: str) -> OidcIdentity:
        """Whom `token` (the bare JWT, without `Bearer `) names; `Unauthenticated` otherwise."""
        return _identity(await self._claims(token, self._audience), self._groups_claim)

    async def verify_id_token(self, token: str, *, client_id: str, nonce: str) -> OidcIdentity:
        """Whom the ID token of a sign-in names: checked as a bearer token is, but for the
        audience `client_id` (when it names several, `azp` must be ours), and carrying the
        `nonce` the sign-in sent (OpenID Connect Core 3.1.3.7)."""
        claims = await self._claims(token, client_id)
        sent = claims.get("nonce")
        if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), nonce.encode()):
            raise Unauthenticated("ID token nonce does not match the sign-in")
        audience = claims.get("aud")
        several = isinstance(audience, list) and len(audience) > 1
        if (several or "azp" in claims) and claims.get("azp") != client_id:
            raise Unauthenticated("ID token was issued to another client")
        return _identity(claims, self._groups_claim)

    async def _claims(self, token: str, audience: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated("malformed token") from None
        alg = header.get("alg")
        if alg not in self._algorithms:
            raise Unauthenticated("token algorithm not allowed")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Unauthenticated("token names no signing key")
        key = await self._signing_key(kid)
        if key.algorithm_name != alg:
            raise Unauthenticated("token algorithm not allowed")
        claims = self._decode(token, key, audience)
        self._check_times(claims)
        return claims

    def _decode(self, token: str, key: PyJWK, audience: str) -> dict[str, Any]:
        """Signature, algorithm, issuer, audience and required claims, by PyJWT.

        Times are checked by `_check_times` with the injected clock instead.
        """
        try:
            return jwt.decode(
                token,
                key,
                algorithms=self._algorithms,
                audience=audience,
                issuer=self._issuer,
                options={
                    "require": REQUIRED_CLAIMS,
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "enforce_minimum_key_length": True,
                },
            )
        except jwt.InvalidSignatureError:
            message = "token signature invalid"
        except jwt.InvalidAlgorithmError:
            message = "token algorithm not allowed"
        except jwt.InvalidIssuerError:
            message = "token issuer not accepted"
        except jwt.InvalidAudienceError:
            message = "token audience not accepted"
        except jwt.MissingRequiredClaimError as error:
            message = f"token lacks the {error.claim} claim"
        except jwt.DecodeError:
            message = "malformed token"
        except jwt.PyJWTError as error:
            log.info("OIDC token refused: %s", type(error).__name__)
            message = "invalid token"
        raise Unauthenticated(message)

    def _check_times(self, claims: dict[str, Any]) -> None:
        now = self._clock()
        exp = _timestamp(claims.get("exp"))
        if exp <= now - self._leeway:
            raise Unauthenticated("token expired")
        for claim in ("nbf", "iat"):
            if claim in claims and _timestamp(claims[claim]) > now + self._leeway:
                raise Unauthenticated("token not yet valid")

    async def _signing_key(self, kid: str) -> PyJWK:
        key = self._keys.get(kid)
        if key is not None and not self._stale():
            return key
        async with self._lock:
            # Verifications that queued here behind a fetch find it just attempted, so they
            # use its result instead of fetching again.
            if self._may_fetch():
                await self._refresh()
            key = self._keys.get(kid)
        if key is not None:
            return key
        if not self._last_ok:
            raise Unauthenticated("identity provider unavailable")
        raise Unauthenticated("unknown signing key")

    def _stale(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at >= MAX_KEY_AGE_SECONDS

    def _may_fetch(self) -> bool:
        if self._attempted_at is None:
            return True
        elapsed = self._clock() - self._attempted_at
        interval = REFETCH_INTERVAL_SECONDS if self._last_ok else RETRY_INTERVAL_SECONDS
        return not 0 <= elapsed < interval  # a clock stepped back does not block fetching

    async def _refresh(self) -> None:
        """Fetch the key set; on failure keep the keys we have (stale beats none)."""
        try:
            async with asyncio.timeout(self._fetch_timeout):  # discovery and JWKS together
                keys = await self._fetch_keys()
        except TimeoutError:
            log.warning("OIDC: fetching the signing keys took over %ss", self._fetch_timeout)
            ok = False
        except _ProviderUnavailable:
            ok = False
        else:
            self._keys = keys
            self._fetched_at = self._clock()
            ok = True
        # Not reached when cancelled: a cancelled fetch does not hold back the next one.
        self._attempted_at = self._clock()
        self._last_ok = ok

    async def _fetch_keys(self) -> dict[str, PyJWK]:
        document = await self._get_json(await self._jwks_uri())
        entries = document.get("keys")
        if not isinstance(entries, list):
            log.warning("OIDC: the JWKS document has no key list")
            raise _ProviderUnavailable
        keys: dict[str, PyJWK] = {}
        for entry in entries:
            if not isinstance(entry, dict) or "d" in entry:  # never a private key
                continue
            kid = entry.get("kid")
            if not isinstance(kid, str) or not kid or entry.get("use", "sig") != "sig":
                continue
            try:
                key = PyJWK(entry)
            except jwt.PyJWTError:
                continue  # a key type or curve PyJWT cannot use
            if key.algorithm_name in self._algorithms:
                keys[kid] = key
        if not keys:
            log.warning("OIDC: the JWKS document has no usable signing key")
        return keys

    async def _jwks_uri(self) -> str:
        if self._jwks_url is None:
            url = self._issuer.rstrip("/") + "/.well-known/openid-configuration"
            document = await self._get_json(url)
            jwks_uri = document.get("jwks_uri")
            if document.get("issuer") != self._issuer or not isinstance(jwks_uri, str):
                log.warning("OIDC: the discovery document does not match the issuer")
                raise _ProviderUnavailable
            self._jwks_url = jwks_uri
        return self._jwks_url

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = await self._http.get(
                url, headers={"Accept": "application/json"}, timeout=self._fetch_timeout
            )
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as error:
            log.warning("OIDC: fetching %s failed: %s", url, type(error).__name__)
            raise _ProviderUnavailable from error
        if not isinstance(document, dict):
            log.warning("OIDC: %s did not answer a JSON object", url)
            raise _ProviderUnavailable
        return document


def _identity(claims: dict[str, Any], groups_claim: str) -> OidcIdentity:
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise Unauthenticated("token lacks the sub claim")
    return OidcIdentity(
        subject=subject,
        email=_string(claims.get("email")),
        name=_string(claims.get("name")),
        groups=_groups(claims.get(groups_claim)),
    )


def _timestamp(value: Any) -> float:
    """A NumericDate claim, or a refusal."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            stamp = float(value)
        except OverflowError:  # an integer of hundreds of digits
            pass
        else:
            if math.isfinite(stamp):
                return stamp
    raise Unauthenticated("malformed token")


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _groups(value: Any) -> tuple[str, ...]:
    """A list of strings; one string is one group; anything else is no group."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return ()
    return tuple(dict.fromkeys(group for group in value if isinstance(group, str) and group))
