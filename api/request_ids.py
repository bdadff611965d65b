"""One id per request, for error reports, logs and the audit log."""

from __future__ import annotations

import logging
import random
import re
from contextvars import ContextVar

from starlette.requests import Request
from starlette.types import Scope

_CLIENT_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


def new_request_id() -> str:
    """32 random hex digits. An id names a request, it guards nothing: drawn from the process's
    own generator (reseeded in a forked child) rather than a system call per request."""
    return f"{random.getrandbits(128):032x}"


def request_id(request: Request) -> str:
    """The client's `X-Request-Id` when it is a plain token, otherwise a new one; stable for
    the whole request."""
    known: str | None = getattr(request.state, "request_id", None)
    if known is None:
        sent = request.headers.get("x-request-id", "")
        known = sent if _CLIENT_ID.fullmatch(sent) else new_request_id()
        request.state.request_id = known
    return known


def assign_request_id(scope: Scope) -> str:
    """What `request_id` answers, fixed in the scope's state before the app runs (the
    request observer's: it logs every request under its id), without building a `Request`."""
    state = scope.setdefault("state", {})
    known: str | None = state.get("request_id")
    if known is None:
        sent = next((value for key, value in scope["headers"] if key == b"x-request-id"), b"")
        text = sent.decode("latin-1")
        known = text if _CLIENT_ID.fullmatch(text) else new_request_id()
        state["request_id"] = known
    return known


current_request_id: ContextVar[str | None] = ContextVar("paved_request_id", default=None)
"""The id of the request being answered, for log records written meanwhile."""


class _RequestIdTag(logging.Filter):
    """Prefixes records logged while a request is answered with its id, so the executor's
    error reports (and their tracebacks) can be found from the id a client was given."""

    def filter(self, record: logging.LogRecord) -> bool:
        known = current_request_id.get()
        if known is not None and not hasattr(record, "request_id"):
            record.request_id = known
            record.msg = f"request {known}: {record.msg}"
        return True


_REQUEST_ID_TAG = _RequestIdTag()


def tag_logs_with_request_ids(*loggers: logging.Logger) -> None:
    for logger in loggers:
        if _REQUEST_ID_TAG not in logger.filters:
            logger.addFilter(_REQUEST_ID_TAG)
