"""Work a process does on its own (leases, sweeps, deliveries, the event feed), told apart
from work done for a request: a statement run in the background counts toward no request's
statements, even when the work was started by one."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from contextvars import ContextVar, copy_context
from typing import Any, TypeVar

T = TypeVar("T")

_background: ContextVar[str | None] = ContextVar("paved_background_work", default=None)


def start_background(work: Coroutine[Any, Any, T], name: str) -> asyncio.Task[T]:
    """`asyncio.create_task(work)`, in a context that says which background work it is."""
    context = copy_context()
    context.run(_background.set, name)
    return asyncio.create_task(work, name=name, context=context)


def background_work() -> str | None:
    """The name of the background work the running code belongs to (None: a request's)."""
    return _background.get()
