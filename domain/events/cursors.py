"""An event's cursor: its place in the outbox's order (`Position`), the same whatever listing
or stream showed it, so that any of them resumes from it.

A cursor reads `event:<tx>:<id>`. Cursors made before migration 0017 read `event:<id>`; they
still resume: every event written before that migration has transaction id 0 and the ids of
those events followed commit order, so `event:<id>` is exactly the position `(0, id)`. (An old
cursor naming a later event's id resumes earlier than it could: events are sent again, none
is missed.)"""

from __future__ import annotations

import base64
import binascii

from domain.errors import InvalidCursor
from domain.events.model import Position

_PREFIX = "event:"
_LARGEST = 2**63 - 1


def event_cursor(position: Position) -> str:
    text = f"{_PREFIX}{position.tx}:{position.id}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def position_of(cursor: str, argument: str = "after") -> Position:
    """The position `cursor` stands for; INVALID_CURSOR (VALIDATION) for anything else."""
    invalid = InvalidCursor(f"`{argument}` is not an event cursor", [argument])
    if len(cursor) > 64:
        raise invalid
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (ValueError, binascii.Error, UnicodeError):
        raise invalid from None
    if not text.startswith(_PREFIX):
        raise invalid
    parts = text.removeprefix(_PREFIX).split(":")
    if len(parts) > 2 or not all(part.isascii() and part.isdigit() for part in parts):
        raise invalid
    numbers = [int(part) for part in parts]
    if any(number > _LARGEST for number in numbers):
        raise invalid
    return Position(*numbers) if len(numbers) == 2 else Position(0, numbers[0])
