"""Waiting in a test for something the event loop will make true, without a timed bound on
how soon: only a generous number of turns before giving up, so that a test which would
otherwise hang fails instead."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def until(
    condition: Callable[[], bool], what: str = "the condition", *, pause: float = 0.02
) -> None:
    """Returns once `condition()` holds; checks 500 times, `pause` seconds apart."""
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(pause)
    raise AssertionError(f"{what} never held")
