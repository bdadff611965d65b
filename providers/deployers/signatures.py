"""HMAC-SHA256 signatures of webhook requests, for the sender and for receivers.

`X-Paved-Signature: sha256=<hex>` is the HMAC-SHA256, keyed by the shared secret, of
`<X-Paved-Timestamp>.<body>`, the timestamp being whole Unix seconds.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Paved-Signature"
TIMESTAMP_HEADER = "X-Paved-Timestamp"
_PREFIX = "sha256="


def _key(secret: str | bytes) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def sign(secret: str | bytes, timestamp: str, body: bytes) -> str:
    """The `X-Paved-Signature` value for this timestamp and body."""
    digest = hmac.new(_key(secret), timestamp.encode() + b"." + body, hashlib.sha256)
    return _PREFIX + digest.hexdigest()


def verify_signature(
    secret: str | bytes,
    timestamp: str,
    body: bytes,
    header: str,
    *,
    tolerance_seconds: float,
    now: float,
) -> bool:
    """True when `header` signs `timestamp` and `body` with `secret` and the timestamp is
    within `tolerance_seconds` of `now` (either side), so a captured request cannot be replayed
    later."""
    try:
        sent_at = int(timestamp)
    except ValueError:
        return False
    if abs(now - sent_at) > tolerance_seconds or not header.startswith(_PREFIX):
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header)
