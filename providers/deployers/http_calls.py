"""One HTTP call of an adapter (Argo CD, webhook), the same way for all of them.

The call goes through the transport that connects only where the address rule allows
(`providers/outbound/http.py`), follows no redirect, and is retried as
`providers/deployers/retries.py` says when it is idempotent. A 2xx answer is returned; any
other status is told by its status only (`providers/deployers/http_errors.py`), never by the
answer's body: status messages are shown to every reader of a deployment.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx2 as httpx

from domain.deployments.model import ProviderError
from providers.deployers.retries import (
    Backoff,
    TransientFailure,
    call_with_retries,
    status_failure,
)
from providers.outbound.addresses import AddressRule
from providers.outbound.http import CheckedTransport

Send = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]
"""Sends the request with the client it is given (headers may change at each attempt)."""


async def _answered(request: Awaitable[httpx.Response], within: float) -> httpx.Response:
    """The HTTP answer, whatever its status; `TransientFailure` when none came `within` seconds
    or the connection failed."""
    try:
        async with asyncio.timeout(within):
            return await request
    except (TimeoutError, httpx.TimeoutException):
        raise TransientFailure.no_answer(within) from None
    except httpx.TransportError as error:
        raise TransientFailure.connection_failed(error) from None


async def http_call(
    send: Send,
    *,
    what: str,
    addresses: AddressRule,
    within: float,
    idempotent: bool,
    backoff: Backoff,
    refused: Callable[[int], ProviderError],
    verify: bool = True,
) -> httpx.Response:
    """The 2xx answer to `send`. No answer `within` seconds, a failed connection and
    statuses 408, 429 and 5xx are tried again when `idempotent`; any other status raises
    `refused(status)` at once. `what` names the call in the `ProviderError` of a call that
    failed (see `call_with_retries`)."""

    async def attempt() -> httpx.Response:
        response = await _answered(send(client), within)
        if 200 <= response.status_code < 300:
            return response
        raise status_failure(response.status_code, refused)

    transport = CheckedTransport(addresses, verify=verify)
    async with httpx.AsyncClient(
        transport=transport, timeout=within, follow_redirects=False
    ) as client:
        return await call_with_retries(attempt, what=what, idempotent=idempotent, backoff=backoff)
