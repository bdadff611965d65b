"""What an adapter remembers between calls: in memory, and only the newest entries, so a
long-lived process does not grow with every deployment it has seen."""

from __future__ import annotations

from collections import OrderedDict
from typing import Final, Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

MAX_REMEMBERED: Final = 10_000


class Recent(Generic[K, V]):
    """A mapping of the `limit` entries written last; the oldest is forgotten first."""

    def __init__(self, limit: int = MAX_REMEMBERED) -> None:
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._limit = limit

    def __contains__(self, key: K) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K) -> V | None:
        return self._entries.get(key)

    def remember(self, key: K, value: V) -> V:
        """Keep `value` for `key` as the newest entry; returns `value`."""
        self._entries[key] = value
        self._entries.move_to_end(key)
        if len(self._entries) > self._limit:
            self._entries.popitem(last=False)
        return value
