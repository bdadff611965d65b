"""The writes of one turn of the event loop leave the server in one system call."""

from __future__ import annotations

import asyncio
from typing import Any

from api.http_protocol import CoalescedWrites


class Transport:
    """What reaches the socket: one entry per call."""

    def __init__(self) -> None:
        self.calls: list[bytes] = []
        self.closing = False
        self.aborted = False

    def write(self, data: bytes) -> None:
        self.calls.append(bytes(data))

    def writelines(self, chunks: Any) -> None:
        self.calls.append(b"".join(chunks))

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        self.aborted = True

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str) -> object:
        return ("127.0.0.1", 8000) if name == "sockname" else None


def coalesced() -> tuple[CoalescedWrites, Transport]:
    transport = Transport()
    return CoalescedWrites(transport, asyncio.get_running_loop()), transport  # type: ignore[arg-type]


async def next_turn() -> None:
    await asyncio.sleep(0)


async def test_a_head_and_its_body_leave_in_one_call() -> None:
    writes, transport = coalesced()
    writes.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    writes.write(b"{}")
    assert transport.calls == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
    await next_turn()
    assert len(transport.calls) == 1


async def test_a_write_left_alone_leaves_on_the_next_turn() -> None:
    writes, transport = coalesced()
    writes.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
    assert transport.calls == []
    assert writes.get_write_buffer_size() > 0
    await next_turn()
    assert transport.calls == [b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"]
    writes.write(b"5\r\nhello\r\n")
    await next_turn()
    assert transport.calls[1:] == [b"5\r\nhello\r\n"]


async def test_order_holds_across_writes_and_writelines() -> None:
    writes, transport = coalesced()
    writes.write(b"a")
    writes.writelines([b"b", b"c"])
    writes.write(b"d")
    writes.write(b"e")
    await next_turn()
    assert b"".join(transport.calls) == b"abcde"


async def test_closing_sends_what_is_held_first_and_aborting_drops_it() -> None:
    writes, transport = coalesced()
    writes.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    writes.close()
    assert transport.calls == [b"HTTP/1.1 400 Bad Request\r\n\r\n"]
    assert transport.closing
    await next_turn()
    assert len(transport.calls) == 1

    writes, transport = coalesced()
    writes.write(b"partial")
    writes.abort()
    await next_turn()
    assert transport.calls == []
    assert transport.aborted


async def test_nothing_is_written_to_a_transport_already_closing() -> None:
    writes, transport = coalesced()
    writes.write(b"late")
    transport.closing = True
    await next_turn()
    assert transport.calls == []


async def test_everything_else_is_the_transport_s() -> None:
    writes, _ = coalesced()
    assert writes.get_extra_info("sockname") == ("127.0.0.1", 8000)
