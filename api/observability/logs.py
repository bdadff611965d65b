"""Logs: one line per request (`paved.requests`), JSON objects in production
(`PAVED_LOG_FORMAT=json`, one per line) and readable text in development.

A request's line says who (the actor's kind and id, never a credential), what (method, path
without its query string, the operation's name), how it ended (status, outcome, error code),
how long it took and how many SQL statements it ran, under the request id a client was given
(`api/request_ids.py`) and the trace id of its spans."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from opentelemetry import trace

from api.observability.log_lines import CoalescedStreamHandler

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


class _SecondsCache:
    """The text of the latest whole second formatted, reused by every record of that second:
    a busy server logs hundreds of lines a second, each would format its time anew."""

    def __init__(self, text_of: Callable[[int], str]) -> None:
        self._text_of = text_of
        self._second = -1
        self._text = ""

    def text(self, created: float) -> str:
        second = int(created)
        if second != self._second:
            self._text = self._text_of(second)
            self._second = second
        return self._text


class TextFormatter(logging.Formatter):
    """`TEXT_FORMAT` lines, the time as `logging.Formatter` writes it (local time, then
    milliseconds), formatted once per second."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)
        self._seconds = _SecondsCache(
            lambda second: time.strftime(self.default_time_format, self.converter(second))
        )

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        if datefmt is not None:
            return super().formatTime(record, datefmt)
        return f"{self._seconds.text(record.created)},{int(record.msecs):03d}"


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, the request
    fields the record carries, the current trace id, and an exception's traceback."""

    def __init__(self) -> None:
        super().__init__()
        self._seconds = _SecondsCache(
            lambda second: datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        )

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": f"{self._seconds.text(record.created)}.{int(record.msecs):03d}+00:00",
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
    return JsonFormatter() if json else TextFormatter()


def configure_logging(level: str, *, json: bool) -> None:
    """The root logger writes to stderr at `level`, in JSON lines or text; as
    `logging.basicConfig`, nothing changes when the root logger has handlers already (a
    command run inside a test, whose runner captures the records)."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = CoalescedStreamHandler(sys.stderr)
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
    REQUESTS.handle(_request_record(" ".join(part for part in parts if part), fields))


class _Process:
    """This process's id for request records, looked up once per process rather than once per
    record (`os.getpid` is a system call)."""

    pid: int | None = None
    first_record_ns = 0
    """When this process made its first request record: `relativeCreated` counts from there."""

    @classmethod
    def forget(cls) -> None:
        cls.pid = None

    @classmethod
    def id(cls) -> int:
        if cls.pid is None:
            cls.pid = os.getpid()
            cls.first_record_ns = time.time_ns()
            os.register_at_fork(after_in_child=cls.forget)
        return cls.pid


def _request_record(message: str, fields: dict[str, Any]) -> logging.LogRecord:
    """What `REQUESTS.makeRecord(..., extra=fields)` makes, without what `LogRecord` looks up
    for every record and a request line never needs (the caller's path split into file and
    module names, the multiprocessing module's process name)."""
    record = logging.LogRecord.__new__(logging.LogRecord)
    process = _Process.id()
    now = time.time_ns()
    current = threading.current_thread()
    record.__dict__.update(
        name=REQUESTS.name,
        msg=message,
        args=(),
        levelname="INFO",
        levelno=logging.INFO,
        pathname=__file__,
        filename="logs.py",
        module="logs",
        exc_info=None,
        exc_text=None,
        stack_info=None,
        lineno=0,
        funcName="log_request",
        created=now / 1e9,
        msecs=(now % 1_000_000_000) // 1_000_000 + 0.0,
        relativeCreated=(now - _Process.first_record_ns) / 1e6,
        thread=current.ident,
        threadName=current.name,
        processName=None,  # as with `logging.logMultiprocessing` off: never looked up
        process=process,
        taskName=None,
    )
    record.__dict__.update(fields)
    return record
