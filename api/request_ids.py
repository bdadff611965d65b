"""One id per request, for error reports, logs and the audit log."""

from __future__ import annotations

import re
import uuid

from starlette.requests import Request

_CLIENT_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


def request_id(request: Request) -> str:
    """The client's `X-Request-Id` when it is a plain token, otherwise a new one; stable for
    the whole request."""
    known: str | None = getattr(request.state, "request_id", None)
    if known is None:
        sent = request.headers.get("x-request-id", "")
        known = sent if _CLIENT_ID.fullmatch(sent) else uuid.uuid4().hex
        request.state.request_id = known
    return known
