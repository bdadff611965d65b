"""Relay global IDs: opaque, URL-safe encodings of (type name, primary key)."""

from __future__ import annotations

import base64
import binascii


def encode_id(type_name: str, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")


def decode_id(global_id: str) -> tuple[str, int] | None:
    """The (type name, key) in a global ID, or None when it is not one of ours."""
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        type_name, _, key = base64.urlsafe_b64decode(padded.encode("ascii")).decode().partition(":")
    except (ValueError, binascii.Error, UnicodeError):
        return None
    if not type_name.isalpha() or not key.isdigit() or len(key) > 18:
        return None
    return type_name, int(key)
