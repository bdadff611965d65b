"""Verify mode: the fast path's answer compared with the executor's, as JSON values; a
disagreement is logged and kept for tests."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class Disagreement:
    query: str
    variables: dict[str, Any] | None
    fast: bytes
    reference: bytes


def same_json(left: bytes, right: bytes, *, float_tolerance: float = 0.0) -> bool:
    """Equal documents once parsed, whatever the order of their keys; with a tolerance,
    floats equal within it (relative), for answers that depend on the moment of reading."""
    return _same(orjson.loads(left), orjson.loads(right), float_tolerance)


def _same(left: Any, right: Any, tolerance: float) -> bool:
    if isinstance(left, dict):
        return (
            isinstance(right, dict)
            and left.keys() == right.keys()
            and all(_same(left[key], right[key], tolerance) for key in left)
        )
    if isinstance(left, list):
        return (
            isinstance(right, list)
            and len(left) == len(right)
            and all(_same(a, b, tolerance) for a, b in zip(left, right, strict=True))
        )
    if type(left) is not type(right):
        return False
    if isinstance(left, float) and tolerance:
        return math.isclose(left, right, rel_tol=tolerance)
    return bool(left == right)
