"""A clock for the code under test that takes `clock=`: it moves only when told to."""

from __future__ import annotations


class FakeClock:
    """Unix seconds that move only when told to."""

    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
