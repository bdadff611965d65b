"""A stream handler whose lines of one turn of the event loop leave in one write.

A busy server writes a line per request, and every line was a write and a flush of its own: a
system call each, which cost more than making the line. Here a record logged in the event
loop's thread is formatted at once and held; the lines held leave together when the turn ends
(`call_soon`), so requests answered together are logged with one system call. Nothing waits
longer than its turn: under no load every line leaves as soon as the turn that made it ends,
as before. A record at WARNING or above leaves at once, after the lines held before it (what
goes wrong is never held back); so does a record logged outside the loop's thread or with no
loop running (start-up, shutdown, the CLI's commands), and `flush` (`logging.shutdown`
included) writes what is held.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TextIO


class CoalescedStreamHandler(logging.StreamHandler[TextIO]):
    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self._held: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + self.terminator
        except Exception:
            self.handleError(record)
            return
        loop = _running_loop() if record.levelno < logging.WARNING else None
        if loop is None:
            self._write([line])
            return
        if not self._held:
            loop.call_soon(self.flush)
        self._held.append(line)

    def flush(self) -> None:
        self._write([])

    def _write(self, lines: list[str]) -> None:
        """The lines held, then `lines`, in one write."""
        with self.lock:  # type: ignore[union-attr]
            held, self._held = self._held, []
            text = "".join(held) + "".join(lines)
            stream = self.stream
            if text:
                stream.write(text)
            if hasattr(stream, "flush"):
                stream.flush()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
