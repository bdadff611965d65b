"""Standard Webhooks signatures (https://www.standardwebhooks.com/): secrets, headers.

A secret is `whsec_` and the base64 of random bytes; a message is signed with HMAC-SHA256 over
`<webhook-id>.<webhook-timestamp>.<body>`, sent as `v1,<base64 signature>`; several signatures
(one per secret during a rotation) are separated by spaces."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence

PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def new_message_id() -> str:
    """A unique `webhook-id` for a message that is no event (a ping)."""
    return f"msg_{secrets.token_urlsafe(18)}"


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signed_headers(
    secrets_: Sequence[str], message_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The three headers of a message signed by every secret in `secrets_`."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            signature(secret, message_id, timestamp, body) for secret in secrets_
        ),
    }
