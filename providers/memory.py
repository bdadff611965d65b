"""What an adapter remembers between calls: in memory, and only the newest entries, so a
long-lived process does not grow with every deployment or resource it has seen."""

from __future__ import annotations

from typing import Final, TypeVar

from cachetools import FIFOCache

K = TypeVar("K")
V = TypeVar("V")

MAX_REMEMBERED: Final = 10_000


class Recent(FIFOCache[K, V]):
    """A mapping of the `limit` entries written last; the oldest is forgotten first."""

    def __init__(self, limit: int = MAX_REMEMBERED) -> None:
        super().__init__(maxsize=limit)

    def remember(self, key: K, value: V) -> V:
        """Keep `value` for `key` as the newest entry; returns `value`."""
        self[key] = value
        return value
