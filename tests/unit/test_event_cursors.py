"""Event cursors: a position (tx, id) both ways; the cursors made before positions existed
(`event:<id>`) still resume, as the position (0, id) the events of that time have; anything
else is INVALID_CURSOR."""

from __future__ import annotations

import base64

import pytest

from domain.errors import InvalidCursor
from domain.events.cursors import event_cursor, position_of
from domain.events.model import ORIGIN, Position


def _encoded(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "position", [ORIGIN, Position(0, 7), Position(812, 3), Position(2**63 - 1, 2**63 - 1)]
)
def test_a_cursor_stands_for_its_position(position: Position) -> None:
    assert position_of(event_cursor(position)) == position


def test_the_positions_order_is_the_transactions_then_the_ids() -> None:
    assert Position(5, 900) < Position(6, 1) < Position(6, 2)


def test_an_old_cursor_resumes_from_its_event_in_transaction_zero() -> None:
    # As the API gave them before migration 0017: base64("event:<id>") without padding.
    old = _encoded("event:42")
    assert old == "ZXZlbnQ6NDI"
    assert position_of(old) == Position(0, 42)
    # Every event written since sorts after every event of that time.
    assert position_of(old) < Position(1, 1)


@pytest.mark.parametrize(
    "cursor",
    [
        _encoded("event:"),
        _encoded("event::"),
        _encoded("event:1:"),
        _encoded("event::1"),
        _encoded("event:1:2:3"),
        _encoded("event:-1"),
        _encoded("event:1:-2"),
        _encoded("event: 1"),
        _encoded("event:١٢"),  # digits, but not ASCII ones
        _encoded("event:0x10"),
        _encoded(f"event:{2**63}"),
        _encoded(f"event:{2**63}:1"),
        _encoded(f"event:1:{2**63}"),
        _encoded("Service:1"),
        _encoded("EVENT:1:2"),
        "not base64 !",
        "x" * 65,
        "",
    ],
)
def test_anything_else_is_an_invalid_cursor(cursor: str) -> None:
    with pytest.raises(InvalidCursor) as raised:
        position_of(cursor, "after")
    assert raised.value.path == ("after",)
