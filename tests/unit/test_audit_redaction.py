"""What the audit log stores of an input: secrets redacted at any depth, the caller's data untouched."""

from __future__ import annotations

from domain.access.tokens import new_token
from providers.postgres.audit_log import REDACTED, redact


def test_secrets_are_redacted_at_any_depth() -> None:
    token = new_token().secret
    given = {
        "name": "deploy bot",
        "clientSecret": "hunter2",
        "db_password": "pw",
        "Authorization": "Basic abc",
        "nested": [{"privateKey": "-----BEGIN", "apiKey": "k", "token": "t"}, "plain"],
        "note": f"use {token} for CI",
        "bare": token,
        "idempotencyKey": "retry-1",
        "tokenId": "QXBpVG9rZW46MQ==",
        "publicKey": "ssh-ed25519 AAAA",
        "password": None,
        "count": 3,
    }
    assert redact(given) == {
        "name": "deploy bot",
        "clientSecret": REDACTED,
        "db_password": REDACTED,
        "Authorization": REDACTED,
        "nested": [{"privateKey": REDACTED, "apiKey": REDACTED, "token": REDACTED}, "plain"],
        "note": REDACTED,
        "bare": REDACTED,
        "idempotencyKey": "retry-1",
        "tokenId": "QXBpVG9rZW46MQ==",
        "publicKey": "ssh-ed25519 AAAA",
        "password": None,
        "count": 3,
    }
    assert given["clientSecret"] == "hunter2"  # the caller's input is left alone
