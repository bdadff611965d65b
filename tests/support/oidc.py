"""A local identity provider for the OIDC tests: keys, tokens, and a real HTTP server on
127.0.0.1 serving the discovery document and the JWKS, counting what it is asked; and, for
browser sign-ins, its authorization and token endpoints (`tests.support.oidc_authorization`)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from tests.support.oidc_authorization import AUTHORIZE_PATH, TOKEN_PATH, AuthorizationServer

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

DISCOVERY_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/keys"


@dataclass(frozen=True)
class SigningKey:
    kid: str
    algorithm: str
    private: PrivateKey

    @staticmethod
    def rsa(kid: str) -> SigningKey:
        return SigningKey(
            kid, "RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048)
        )

    @staticmethod
    def ec(kid: str) -> SigningKey:
        return SigningKey(kid, "ES256", ec.generate_private_key(ec.SECP256R1()))

    def jwk(self, *, private: bool = False) -> dict[str, Any]:
        """The public key as the issuer publishes it (or, by mistake, the private one)."""
        if isinstance(self.private, rsa.RSAPrivateKey):
            rsa_key = self.private if private else self.private.public_key()
            data = RSAAlgorithm.to_jwk(rsa_key, as_dict=True)
        else:
            ec_key = self.private if private else self.private.public_key()
            data = ECAlgorithm.to_jwk(ec_key, as_dict=True)
        return {**data, "kid": self.kid, "alg": self.algorithm, "use": "sig"}

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, claims: dict[str, Any], **header: Any) -> str:
        headers = {"kid": self.kid, **header}
        algorithm = headers.pop("alg", self.algorithm)
        return jwt.encode(claims, self.private, algorithm=algorithm, headers=headers)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_token(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    """A compact JWS assembled by hand, for tokens PyJWT refuses to make."""
    head = b64url(json.dumps(header).encode())
    body = b64url(json.dumps(claims).encode())
    return f"{head}.{body}.{b64url(signature)}"


def hmac_token(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    """HS256 over header.claims with `secret`: the algorithm-confusion forgery."""
    head = b64url(json.dumps(header).encode())
    body = b64url(json.dumps(claims).encode())
    signature = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(signature)}"


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (a timeout test) is no error worth printing."""


@dataclass
class IdentityProvider:
    """Serves `DISCOVERY_PATH` and `JWKS_PATH` from a daemon thread.

    `keys` is what the JWKS lists (replace it to rotate); `status` other than 200 makes every
    answer an error; `body` replaces the JWKS answer verbatim; `delay` slows every answer.
    `requests` records each path asked for, in order. `authorization` answers the
    authorization and token endpoints.
    """

    keys: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    body: bytes | None = None
    delay: float = 0.0
    discovery_issuer: str | None = None
    requests: list[str] = field(default_factory=list)
    authorization: AuthorizationServer = field(default_factory=AuthorizationServer)
    _server: _QuietServer | None = None

    @property
    def issuer(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def jwks_url(self) -> str:
        return self.issuer + JWKS_PATH

    def count(self, path: str) -> int:
        return self.requests.count(path)

    def reset(self) -> None:
        self.keys, self.status, self.body, self.delay = [], 200, None, 0.0
        self.discovery_issuer = None
        self.requests.clear()
        self.authorization = AuthorizationServer()

    def start(self) -> None:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                provider.requests.append(self.path)
                if provider.delay:
                    time.sleep(provider.delay)
                if provider.status != 200:
                    self._answer(provider.status, b'{"error": "unavailable"}')
                elif self.path == DISCOVERY_PATH:
                    issuer = provider.discovery_issuer or provider.issuer
                    document = {
                        "issuer": issuer,
                        "jwks_uri": provider.jwks_url,
                        **provider.authorization.discovery(provider.issuer),
                    }
                    self._answer(200, json.dumps(document).encode())
                elif self.path.split("?")[0] == AUTHORIZE_PATH:
                    query = self.path.partition("?")[2]
                    status, answer = provider.authorization.authorize(query)
                    if status == 302:
                        self.send_response(302)
                        self.send_header("Location", answer)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                    else:
                        self._answer(status, json.dumps({"error": answer}).encode())
                elif self.path == JWKS_PATH:
                    body = provider.body
                    if body is None:
                        body = json.dumps({"keys": provider.keys}).encode()
                    self._answer(200, body)
                else:
                    self._answer(404, b"{}")

            def do_POST(self) -> None:
                provider.requests.append(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if provider.status != 200:
                    self._answer(provider.status, b'{"error": "unavailable"}')
                elif self.path == TOKEN_PATH:
                    authorization = self.headers.get("Authorization")
                    status, answer = provider.authorization.token(
                        provider.issuer, authorization, body
                    )
                    self._answer(status, json.dumps(answer).encode())
                else:
                    self._answer(404, b"{}")

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
