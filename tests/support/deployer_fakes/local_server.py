"""A real HTTP server on a free loopback port, in a thread, for the fake provider APIs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Generic, TypeVar

FakeT = TypeVar("FakeT")


class FakeServer(ThreadingHTTPServer, Generic[FakeT]):
    """Its handler answers through `fake`, the test's model of the provider."""

    daemon_threads = True

    def __init__(self, handler: type[BaseHTTPRequestHandler], fake: FakeT) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.fake = fake

    @property
    def port(self) -> int:
        port: int = self.server_address[1]
        return port

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (a timeout test) is no error worth printing."""


@contextmanager
def serving(server: ThreadingHTTPServer) -> Iterator[None]:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
