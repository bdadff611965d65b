"""A webhook receiver written the way a platform's user would write one: a small HTTP server
that verifies each message with the `standardwebhooks` library and answers as the test
scripts it (fail the first attempts, answer 410, redirect, send a large body...)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.support.deployer_fakes.local_server import FakeServer, serving


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    hang: threading.Event | None = None
    """Answer only once this is set (a receiver that hangs)."""


@dataclass(frozen=True)
class Message:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def verifies_with(self, secret: str) -> bool:
        try:
            Webhook(secret).verify(self.body, self.headers)
        except WebhookVerificationError:
            return False
        return True


@dataclass
class Inbox:
    secret: str | None = None
    """The secret `createWebhook` showed; messages that do not verify with it are refused."""
    script: deque[Answer] = field(default_factory=deque)
    """Answers used one per request, before the usual 200."""
    messages: list[Message] = field(default_factory=list)
    """Every message received, verified or not."""
    accepted: list[Any] = field(default_factory=list)
    """The payloads of the messages answered 2xx at once after verifying."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def answer_next(self, *answers: Answer) -> None:
        self.script.extend(answers)

    def receive(self, message: Message) -> Answer:
        with self.lock:
            self.messages.append(message)
            answer = self.script.popleft() if self.script else Answer()
        if self.secret is None:
            return Answer(status=500, body=b"no secret yet")
        try:
            payload = Webhook(self.secret).verify(message.body, message.headers)
        except WebhookVerificationError:
            return Answer(status=401, body=b"bad signature")
        if 200 <= answer.status < 300 and answer.hang is None:
            with self.lock:
                self.accepted.append(payload)
        return answer


class _Handler(BaseHTTPRequestHandler):
    server: FakeServer[Inbox]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = {name.lower(): value for name, value in self.headers.items()}
        answer = self.server.fake.receive(Message(headers, body))
        if answer.hang is not None:
            answer.hang.wait(30)
        try:
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)
        except OSError:  # the sender gave up (killed, timed out)
            pass

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@contextmanager
def receiver(path: str = "/hooks/paved") -> Iterator[Inbox]:
    """An inbox served on a free 127.0.0.1 port; `inbox.url` is where to point a webhook."""
    inbox = Inbox()
    server = FakeServer(_Handler, inbox)
    inbox.url = f"http://127.0.0.1:{server.port}{path}"
    with serving(server):
        yield inbox


async def eventually(check: Callable[[], Any], *, within: float = 20.0) -> Any:
    """`check()` once it is truthy, polled; fails after `within` seconds (a deadline against
    hanging, not a measurement)."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {within} s: {check}")
        await asyncio.sleep(0.02)
