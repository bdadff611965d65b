"""When a failed delivery is tried again: growing delays with jitter, ~24 h in all."""

from __future__ import annotations

import random
from collections.abc import Callable

# The waits after attempts 1, 2, ... (seconds): 12 attempts span about 24 hours.
SCHEDULE = (5, 30, 120, 300, 900, 1_800, 3_600, 7_200, 14_400, 21_600, 36_000)
JITTER = 0.2
"""Each wait is drawn within ±20 % of its step, so receivers coming back are not hit by
every retry at once."""


def retry_delay(
    attempts_made: int, *, scale: float = 1.0, draw: Callable[[], float] = random.random
) -> float:
    """Seconds to wait after the `attempts_made`-th failed attempt (`scale` shortens the
    schedule, for tests)."""
    step = SCHEDULE[min(max(attempts_made, 1), len(SCHEDULE)) - 1]
    return step * scale * (1 - JITTER + 2 * JITTER * draw())
