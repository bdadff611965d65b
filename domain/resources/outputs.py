"""A resource's outputs are shown to every reader of its service: nothing in them may be a
credential (those go to a secret store, named by a `SecretRef`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SECRET_WORDS = ("password", "passwd", "secret", "token", "credential", "private", "apikey")


def looks_secret(key: str) -> bool:
    squashed = key.lower().replace("_", "").replace("-", "")
    return any(word in squashed for word in SECRET_WORDS)


def without_secrets(outputs: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in outputs.items() if not looks_secret(key)}
