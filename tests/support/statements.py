"""Counting the SQL statements the app runs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from domain.background import background_work

# asyncpg runs these itself, once per connection, the first time it meets a type.
_DRIVER_INTROSPECTION = ("typeinfo_tree", "set_config('jit'", "current_setting('jit')")


class StatementLog:
    """Counts the SQL statements the app's pool runs for requests (asyncpg's query logger),
    leaving out the driver's own one-off type introspection and the background's work
    (lease renewals and sweeps run whenever their timers or notices say)."""

    def __init__(self) -> None:
        self._recording: list[str] | None = None

    def record(self, logged: Any) -> None:
        query: str = logged.query
        if (
            self._recording is not None
            and background_work() is None
            and not any(m in query for m in _DRIVER_INTROSPECTION)
        ):
            self._recording.append(query)

    @contextmanager
    def capture(self) -> Iterator[list[str]]:
        self._recording = []
        try:
            yield self._recording
        finally:
            self._recording = None


def shapes(statements: list[str]) -> list[str]:
    """Statements with their page sizes (the inlined LIMIT and row filter) taken out."""
    return [
        re.sub(r"_rn <= \d+", "_rn <= n", re.sub(r"LIMIT \d+", "LIMIT n", statement))
        for statement in statements
    ]
