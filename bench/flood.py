"""One actor flooding a GraphQL endpoint: `clients` concurrent keep-alive connections from
one local address, each sending the same request in a loop, until SIGTERM/SIGINT, a deadline
or a per-client count. Internal to `bench.isolation`, which starts it as its own process
(`python -m bench.flood`) so that reading the large answers never takes the CPU of the
process timing the other actor's lookups. Prints one JSON document to stdout when done: a
record per answered request.

Also the shared reading of an answer: `outcome` names what went wrong, or None.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any

import httpx2 as httpx
import orjson

CLIENT_TIMEOUT_SECONDS = 30.0
DRAIN_SECONDS = 45.0
"""After the stop signal: how long the requests in flight may take to finish."""
MAX_REQUESTS_PER_CLIENT = 100_000
MAX_RETRY_AFTER_SECONDS = 5.0
HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


@dataclass(frozen=True, slots=True)
class Record:
    started: float  # time.monotonic(), comparable across processes on one Linux machine
    ended: float
    outcome: str | None  # None: HTTP 200 without `errors`; else as `outcome` names it


def _codes(payload: Any) -> str:
    """The error codes of a GraphQL answer, with the limit hit when one is named."""
    errors = payload.get("errors") if isinstance(payload, dict) else None
    names: list[str] = []
    for error in errors if isinstance(errors, list) else []:
        extensions = error.get("extensions") if isinstance(error, dict) else None
        extensions = extensions if isinstance(extensions, dict) else {}
        code = str(extensions.get("code", "no code"))
        limit = extensions.get("limit")
        names.append(f"{code} ({limit})" if limit else code)
    return ", ".join(sorted(set(names))) or "no code"


def outcome(status: int, body: bytes) -> str | None:
    """None for HTTP 200 with no `errors`; else e.g. `HTTP 429 RATE_LIMITED
    (max_concurrent_per_actor)` or `HTTP 200 VALIDATION (request_timeout_seconds)`. Only
    bodies that mention `"errors"` are parsed (the heavy answers are megabytes)."""
    if status == 200 and b'"errors"' not in body:
        return None
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return f"HTTP {status} (not JSON)"
    if status == 200 and not (isinstance(payload, dict) and "errors" in payload):
        return None  # "errors" was only text inside the data
    return f"HTTP {status} {_codes(payload)}"


def _retry_after(value: str | None) -> float:
    try:
        seconds = float(value) if value is not None else 1.0
    except ValueError:
        seconds = 1.0
    return min(max(seconds, 0.1), MAX_RETRY_AFTER_SECONDS)


async def _client(
    http: httpx.AsyncClient,
    url: str,
    body: bytes,
    deadline: float,
    stop: asyncio.Event,
    records: list[Record],
) -> None:
    for _ in range(MAX_REQUESTS_PER_CLIENT):
        if stop.is_set() or time.monotonic() >= deadline:
            return
        started = time.monotonic()
        try:
            response = await http.post(url, content=body, headers=HEADERS)
            result = outcome(response.status_code, response.content)
            if response.status_code == 429:
                # Refused at once: wait as told, or the refusals themselves become the load
                # (the rate limiter, which would bound that, is off in the benchmark).
                await asyncio.sleep(_retry_after(response.headers.get("Retry-After")))
        except httpx.TimeoutException:
            result = "client timeout"
        except httpx.HTTPError as error:
            result = type(error).__name__
            await asyncio.sleep(0.1)  # a refused connection must not spin
        records.append(Record(started, time.monotonic(), result))


async def flood(
    url: str, body: bytes, clients: int, source: str, seconds: float, stop: asyncio.Event
) -> list[Record]:
    """Runs until `stop` is set or `seconds` have passed, then waits for the requests in
    flight (at most DRAIN_SECONDS)."""
    records: list[Record] = []
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    transport = httpx.AsyncHTTPTransport(local_address=source, limits=limits)
    async with httpx.AsyncClient(
        transport=transport, timeout=CLIENT_TIMEOUT_SECONDS, trust_env=False
    ) as http:
        tasks = [
            asyncio.create_task(_client(http, url, body, deadline, stop, records))
            for _ in range(clients)
        ]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=max(0.0, deadline - time.monotonic()))
        stop.set()
        _, late = await asyncio.wait(tasks, timeout=DRAIN_SECONDS)
        for task in late:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return records


async def _main(args: argparse.Namespace) -> list[Record]:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    body = args.body.encode()
    return await flood(args.url, body, args.clients, args.source, args.seconds, stop)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.flood", description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--body", required=True, help="the request body (JSON) to send")
    parser.add_argument("--clients", type=int, required=True)
    parser.add_argument("--source", required=True, help="local address to connect from")
    parser.add_argument("--seconds", type=float, required=True, help="hard deadline")
    args = parser.parse_args(argv)
    records = asyncio.run(_main(args))
    json.dump([asdict(record) for record in records], sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
