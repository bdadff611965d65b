"""An event's cursor: its place in commit order, the same whatever listing or stream showed it,
so that any of them resumes from it."""

from __future__ import annotations

import base64
import binascii

from domain.errors import InvalidCursor

_PREFIX = "event:"
_LARGEST_ID = 2**63 - 1


def event_cursor(event_id: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{event_id}".encode()).decode().rstrip("=")


def position_of(cursor: str, argument: str = "after") -> int:
    """The event id `cursor` stands for; INVALID_CURSOR (VALIDATION) for anything else."""
    invalid = InvalidCursor(f"`{argument}` is not an event cursor", [argument])
    if len(cursor) > 64:
        raise invalid
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (ValueError, binascii.Error, UnicodeError):
        raise invalid from None
    number = text.removeprefix(_PREFIX)
    if not text.startswith(_PREFIX) or not number.isascii() or not number.isdigit():
        raise invalid
    position = int(number)
    if position > _LARGEST_ID:
        raise invalid
    return position
