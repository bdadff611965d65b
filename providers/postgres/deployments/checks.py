"""Input rules of deployment changes, checked before any SQL runs."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson

from domain.errors import ValidationFailed

_LONGEST_VERSION = 200
_LONGEST_TEXT = 2000
_LONGEST_KEY = 200
_COMMIT = re.compile(r"[0-9a-fA-F]{7,64}")
_PROVIDER_KIND = re.compile(r"[a-z][a-z0-9-]{0,62}")


def text(
    value: str | None, field: str, longest: int = _LONGEST_TEXT, *, required: bool = False
) -> None:
    if value is None:
        if required:
            raise ValidationFailed(f"`{field}` is required", ["input", field])
        return
    if not value.strip() or len(value) > longest:
        raise ValidationFailed(
            f"`{field}` must be 1-{longest} characters, not blank", ["input", field]
        )


def version(value: str) -> None:
    text(value, "version", _LONGEST_VERSION, required=True)


def commit_sha(value: str | None) -> None:
    if value is not None and _COMMIT.fullmatch(value) is None:
        raise ValidationFailed(
            "`commitSha` must be 7-64 hexadecimal digits", ["input", "commitSha"]
        )


def idempotency_key(value: str | None) -> None:
    text(value, "idempotencyKey", _LONGEST_KEY)


def aware(value: datetime | None, field: str) -> None:
    if value is not None and value.tzinfo is None:
        raise ValidationFailed(f"`{field}` needs a time zone", ["input", field])


def provider_kind(value: str) -> None:
    if _PROVIDER_KIND.fullmatch(value) is None:
        raise ValidationFailed(
            "`provider.kind` must be lowercase letters, digits or hyphens",
            ["input", "provider", "kind"],
        )


def fingerprint(values: Mapping[str, Any]) -> str:
    """SHA-256 of the input's canonical JSON (sorted keys), to recognise a replay."""
    return hashlib.sha256(
        orjson.dumps(values, option=orjson.OPT_SORT_KEYS, default=str)
    ).hexdigest()
