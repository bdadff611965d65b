"""Relay global IDs: opaque, URL-safe encodings of (type name, primary key)."""

from __future__ import annotations

import base64
import binascii
import re

# ASCII only: `str.isdigit` also takes '²' (which `int` refuses) and U+0661, Arabic-Indic one
# (which `int` reads as 1).
_DECODED = re.compile(r"([A-Za-z]+):(0|[1-9][0-9]{0,17})")


def encode_id(type_name: str, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")


def decode_id(global_id: str) -> tuple[str, int] | None:
    """The (type name, key) in a global ID, or None when it is not one of ours: the key is
    written as `encode_id` writes it (ASCII digits, no leading zero, at most 18)."""
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        text = base64.urlsafe_b64decode(padded.encode("ascii")).decode()
    except (ValueError, binascii.Error, UnicodeError):
        return None
    found = _DECODED.fullmatch(text)
    if found is None:
        return None
    return found.group(1), int(found.group(2))
