"""An event loop in a thread of its own, for the browser tests' servers and database work.

Playwright's sync API runs an event loop of its own in the test thread, and marks it running
between its calls: the browser tests can neither await nor use pytest-asyncio's loop. What
they need done asynchronously (a served app, SQL, an API call) runs here instead."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class BackgroundLoop:
    """`run(coroutine)` from any thread: the coroutine runs in this loop's thread, and its
    result (or its exception) comes back."""

    def __init__(self, name: str = "browser-tests") -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 120.0) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def close(self) -> None:
        """Cancel what still runs, then stop the loop and its thread."""
        if not self._thread.is_alive():
            return
        self.run(_cancel_others(), timeout=30.0)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30.0)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
        finally:
            self._loop.close()


async def _cancel_others() -> None:
    others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in others:
        task.cancel()
    await asyncio.gather(*others, return_exceptions=True)
