"""The deadline of a provider call, told apart from other cancellations: a call cut by its
deadline says the provider did not answer in time (its circuit counts it); one canceled for
another reason (a shutdown, a canceled rollout, a lost lease) says nothing about the provider.

`within(seconds)` is `asyncio.timeout(seconds)` that the code it runs can ask about:
`passed()` is true while the cancellation of an expired `within` unwinds the call."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar

_current: ContextVar[asyncio.Timeout | None] = ContextVar("provider_deadline", default=None)


@asynccontextmanager
async def within(seconds: float) -> AsyncIterator[None]:
    """Raises `TimeoutError` when `seconds` pass, as `asyncio.timeout` does."""
    async with asyncio.timeout(seconds) as timeout:
        token = _current.set(timeout)
        try:
            yield
        finally:
            _current.reset(token)


def passed() -> bool:
    """Whether the innermost `within` around the running code has expired."""
    timeout = _current.get()
    return timeout is not None and timeout.expired()
