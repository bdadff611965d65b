"""`CoalescedStreamHandler`: the lines of one turn of the event loop leave in one write,
when the turn ends; warnings, lines logged outside a running loop and `flush` leave at once,
and nothing is reordered or lost."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator

import pytest

from api.observability.log_lines import CoalescedStreamHandler


class _Stream:
    """Counts its writes and flushes."""

    def __init__(self) -> None:
        self.writes: list[str] = []
        self.flushes = 0

    def write(self, text: str) -> int:
        self.writes.append(text)
        return len(text)

    def flush(self) -> None:
        self.flushes += 1

    @property
    def text(self) -> str:
        return "".join(self.writes)


@pytest.fixture
def stream() -> Iterator[_Stream]:
    stream = _Stream()
    handler = CoalescedStreamHandler(stream)  # type: ignore[arg-type]
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("tests.log_lines")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.propagate = True


_log = logging.getLogger("tests.log_lines")


async def test_the_lines_of_one_turn_leave_in_one_write_when_it_ends(stream: _Stream) -> None:
    for n in range(5):
        _log.info("request %d", n)
    assert stream.writes == [], "held until the turn ends"
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert stream.writes == ["".join(f"INFO request {n}\n" for n in range(5))]
    _log.info("next turn")
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert stream.writes[1:] == ["INFO next turn\n"], "a line alone leaves after its own turn"


async def test_a_warning_leaves_at_once_after_the_lines_held_before_it(stream: _Stream) -> None:
    _log.info("first")
    _log.warning("something went wrong")
    assert stream.text == "INFO first\nWARNING something went wrong\n"
    assert len(stream.writes) == 1
    _log.info("after")
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert stream.text.endswith("WARNING something went wrong\nINFO after\n")


async def test_flush_writes_what_is_held(stream: _Stream) -> None:
    _log.info("held")
    logging.getLogger("tests.log_lines").handlers[0].flush()
    assert stream.text == "INFO held\n"
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert stream.text == "INFO held\n", "written once"


def test_without_a_running_loop_a_line_leaves_at_once(stream: _Stream) -> None:
    _log.info("at start-up")
    assert stream.writes == ["INFO at start-up\n"]
    assert stream.flushes == 1


async def test_a_line_from_another_thread_leaves_at_once(stream: _Stream) -> None:
    worker = threading.Thread(target=_log.info, args=("from a thread",))
    worker.start()
    worker.join()
    assert stream.text == "INFO from a thread\n"
