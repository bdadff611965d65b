"""What the adapters may say about a provider's HTTP answers, shared by all of them.

A refusal is told by its status and the status's standard reason phrase (`HTTP 404 Not
Found`), never by the answer's body: bodies may carry anything (internal names, tokens echoed
back), and status messages are stored and shown to every reader of a deployment. A URL is told
by its origin only: paths and queries may carry tokens.
"""

from __future__ import annotations

from http import HTTPStatus
from urllib.parse import urlsplit


def http_status(status: int) -> str:
    """`HTTP 404 Not Found`; `HTTP 599` for a status without a standard phrase."""
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def origin(url: str) -> str:
    """Scheme, host and port only."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def short(text: str, limit: int = 300) -> str:
    """`text` on one line, at most `limit` characters (for words a provider answers in a
    successful answer, such as an operation's message)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
