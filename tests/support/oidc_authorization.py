"""The OAuth side of the local identity provider (`tests.support.oidc.IdentityProvider`): an
authorization endpoint that approves one configured user at once, and a token endpoint that
checks what a real one checks (client authentication, the code once, its redirect URI, the
PKCE verifier) before it answers with an ID token signed by a published key."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlencode

if TYPE_CHECKING:
    from tests.support.oidc import SigningKey

AUTHORIZE_PATH = "/authorize"
TOKEN_PATH = "/token"
DROP = object()
"""As a value in `id_token_changes`: leave the claim out."""


def _one(values: dict[str, list[str]], name: str) -> str | None:
    found = values.get(name, [])
    return found[0] if len(found) == 1 else None


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str
    claims: dict[str, Any]


@dataclass
class AuthorizationServer:
    """`user` holds the claims of whoever signs in; `id_token_changes` alters the next ID
    tokens (a wrong nonce, issuer...); `deny` answers `access_denied` instead of a code.
    `authorizations` keeps each authorization request's parameters; `refusals` why each
    refused token request was refused; `token_requests` counts them all."""

    client_id: str = "paved-portal"
    client_secret: str | None = None
    redirect_uris: list[str] = field(default_factory=list)
    auth_methods: list[str] = field(default_factory=lambda: ["client_secret_basic"])
    signing_key: SigningKey | None = None
    user: dict[str, Any] = field(default_factory=dict)
    id_token_changes: dict[str, Any] = field(default_factory=dict)
    deny: bool = False
    authorizations: list[dict[str, str]] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    token_requests: int = 0
    codes: dict[str, Grant] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)

    def discovery(self, issuer: str) -> dict[str, Any]:
        return {
            "authorization_endpoint": issuer + AUTHORIZE_PATH,
            "token_endpoint": issuer + TOKEN_PATH,
            "response_types_supported": ["code"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": self.auth_methods,
        }

    def authorize(self, query: str) -> tuple[int, str]:
        """The status and, for a redirect, where to (else the error text)."""
        params = parse_qs(query, keep_blank_values=True)
        self.authorizations.append({name: values[-1] for name, values in params.items()})
        redirect_uri = _one(params, "redirect_uri")
        if _one(params, "client_id") != self.client_id or redirect_uri not in self.redirect_uris:
            return 400, "unknown client or redirect_uri"
        assert redirect_uri is not None
        state = _one(params, "state") or ""
        problem = self._request_problem(params)
        if problem is not None or self.deny:
            error = problem or "access_denied"
            return 302, f"{redirect_uri}?{urlencode({'error': error, 'state': state})}"
        code = secrets.token_urlsafe(24)
        self.codes[code] = Grant(
            self.client_id,
            redirect_uri,
            _one(params, "code_challenge") or "",
            _one(params, "nonce") or "",
            dict(self.user),
        )
        return 302, f"{redirect_uri}?{urlencode({'code': code, 'state': state})}"

    def _request_problem(self, params: dict[str, list[str]]) -> str | None:
        if _one(params, "response_type") != "code":
            return "unsupported_response_type"
        if "openid" not in (_one(params, "scope") or "").split():
            return "invalid_scope"
        if _one(params, "code_challenge_method") != "S256" or not _one(params, "code_challenge"):
            return "invalid_request"
        if not _one(params, "nonce") or not _one(params, "state"):
            return "invalid_request"
        return None

    def token(self, issuer: str, authorization: str | None, body: bytes) -> tuple[int, Any]:
        self.token_requests += 1
        form = parse_qs(body.decode(), keep_blank_values=True)
        refusal = self._refusal(form, authorization)
        if refusal is not None:
            self.refusals.append(refusal)
            error = "invalid_client" if refusal.startswith("client") else "invalid_grant"
            return (401 if error == "invalid_client" else 400), {"error": error}
        grant = self.codes[_one(form, "code") or ""]
        return 200, {
            "access_token": secrets.token_urlsafe(24),
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": self._id_token(issuer, grant),
        }

    def _refusal(self, form: dict[str, list[str]], authorization: str | None) -> str | None:
        if _one(form, "grant_type") != "authorization_code":
            return "grant_type"
        client = self._client(form, authorization)
        if client is None:
            return "client authentication"
        code = _one(form, "code") or ""
        if code in self.used:
            return "code used already"
        grant = self.codes.get(code)
        if grant is None:
            return "unknown code"
        self.used.add(code)
        if grant.client_id != client:
            return "code of another client"
        if _one(form, "redirect_uri") != grant.redirect_uri:
            return "redirect_uri"
        if s256(_one(form, "code_verifier") or "") != grant.challenge:
            return "code_verifier"
        return None

    def _client(self, form: dict[str, list[str]], authorization: str | None) -> str | None:
        """The authenticated client id (RFC 6749, 2.3.1), or None."""
        if self.client_secret is None:
            return _one(form, "client_id")
        if authorization and authorization.startswith("Basic "):
            decoded = base64.b64decode(authorization.removeprefix("Basic ")).decode()
            client, _, secret = (unquote(part) for part in decoded.partition(":"))
            if "client_secret_basic" in self.auth_methods and secret == self.client_secret:
                return client
            return None
        posted = _one(form, "client_secret")
        if "client_secret_post" in self.auth_methods and posted == self.client_secret:
            return _one(form, "client_id")
        return None

    def _id_token(self, issuer: str, grant: Grant) -> str:
        assert self.signing_key is not None, "the provider needs a signing key"
        now = int(time.time())
        claims = {
            "iss": issuer,
            "aud": grant.client_id,
            "iat": now,
            "exp": now + 300,
            "nonce": grant.nonce,
            **grant.claims,
            **self.id_token_changes,
        }
        return self.signing_key.sign({k: v for k, v in claims.items() if v is not DROP})
