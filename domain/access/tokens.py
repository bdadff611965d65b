"""The API token format: `paved_` + 43 random URL-safe characters + a 6-character checksum.

The checksum is CRC32 over everything before it, in base62 and zero-padded, so a secret
scanner can tell a real token from look-alike text without asking the server. Only the
SHA-256 of the whole token is stored, with a short non-secret head to recognise it by.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import zlib
from dataclasses import dataclass

MARKER = "paved_"
_RANDOM_BYTES = 32
_RANDOM_LENGTH = 43  # token_urlsafe(32): 32 bytes in unpadded base64
_CHECKSUM_LENGTH = 6  # 62**6 > 2**32
TOKEN_LENGTH = len(MARKER) + _RANDOM_LENGTH + _CHECKSUM_LENGTH
HEAD_LENGTH = 12

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BODY = f"{MARKER}[A-Za-z0-9_-]{{{_RANDOM_LENGTH}}}"
_CANDIDATE = re.compile(f"{_BODY}[0-9A-Za-z]{{{_CHECKSUM_LENGTH}}}")


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """`secret` is shown to its owner once; `prefix` and `secret_hash` are what is stored."""

    secret: str
    prefix: str
    secret_hash: bytes

    def __repr__(self) -> str:
        return f"IssuedToken(prefix={self.prefix!r})"


def _checksum(body: str) -> str:
    value = zlib.crc32(body.encode("ascii"))
    digits = []
    for _ in range(_CHECKSUM_LENGTH):
        value, digit = divmod(value, 62)
        digits.append(_BASE62[digit])
    return "".join(reversed(digits))


def new_token() -> IssuedToken:
    body = MARKER + secrets.token_urlsafe(_RANDOM_BYTES)
    secret = body + _checksum(body)
    return IssuedToken(secret=secret, prefix=secret[:HEAD_LENGTH], secret_hash=hash_token(secret))


def hash_token(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8")).digest()


def looks_like_token(text: str) -> bool:
    """The whole of `text` is a well-formed token whose checksum matches."""
    if _CANDIDATE.fullmatch(text) is None:
        return False
    return _checksum(text[:-_CHECKSUM_LENGTH]) == text[-_CHECKSUM_LENGTH:]


def contains_token(text: str) -> bool:
    """Some part of `text` (say `Bearer paved_...`) is a token whose checksum matches."""
    return any(looks_like_token(match.group()) for match in _CANDIDATE.finditer(text))
