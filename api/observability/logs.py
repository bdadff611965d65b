"""Logs: one line per request (`paved.requests`), JSON objects in production
(`PAVED_LOG_FORMAT=json`, one per line) and readable text in development.

A request's line says who (the actor's kind and id, never a credential), what (method, path
without its query string, the operation's name), how it ended (status, outcome, error code),
how long it took and how many SQL statements it ran, under the request id a client was given
(`api/request_ids.py`) and the trace id of its spans."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

import orjson
from opentelemetry import trace

REQUESTS = logging.getLogger("paved.requests")

_FIELDS = (
    "request_id",
    "trace_id",
    "method",
    "path",
    "status",
    "actor_kind",
    "actor_id",
    "operation",
    "operation_type",
    "read_path",
    "outcome",
    "code",
    "duration_ms",
    "sql",
)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def trace_id() -> str | None:
    """The current span's trace id (32 hex digits), if a span is current."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, the request
    fields the record carries, the current trace id, and an exception's traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in _FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                entry[name] = value
        if "trace_id" not in record.__dict__:  # a record not of a request: the current span
            current = trace_id()
            if current is not None:
                entry["trace_id"] = current
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(entry, default=str).decode()


def formatter(json: bool) -> logging.Formatter:
    return JsonFormatter() if json else logging.Formatter(TEXT_FORMAT)


def configure_logging(level: str, *, json: bool) -> None:
    """The root logger writes to stderr at `level`, in JSON lines or text; as
    `logging.basicConfig`, nothing changes when the root logger has handlers already (a
    command run inside a test, whose runner captures the records)."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(json))
    root.addHandler(handler)
    root.setLevel(level.upper())


def log_request(fields: dict[str, Any]) -> None:
    """The request's line: its fields as the record's attributes (JSON keys), and a message
    saying the same for text logs."""
    actor = fields.get("actor_kind")
    if fields.get("actor_id") is not None:
        actor = f"{actor}:{fields['actor_id']}"
    operation = fields.get("operation")
    parts = [
        f"{fields['method']} {fields['path']} {fields['status']}",
        f"{fields.get('operation_type')} {operation or '(anonymous)'}"
        if fields.get("operation_type")
        else None,
        fields.get("outcome"),
        fields.get("code") or None,
        f"{fields['duration_ms']:.1f} ms",
        f"{fields['sql']} sql",
        f"actor {actor}" if actor else None,
        f"request {fields['request_id']}",
    ]
    message = " ".join(part for part in parts if part)
    # As `REQUESTS.info(message, extra=fields)`, without looking up the caller's frame.
    REQUESTS.handle(
        REQUESTS.makeRecord(
            REQUESTS.name, logging.INFO, __file__, 0, message, (), None, extra=fields
        )
    )
