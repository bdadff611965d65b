"""A signed JSON POST to a webhook receiver, the same for every adapter that sends one (the
webhook deployer, the webhook provisioner).

The body is compact JSON with sorted keys, signed as `providers/deployers/signatures.py`
describes, anew at each attempt (its timestamp is the clock's). The call goes through
`providers/deployers/http_calls.py`: the checked transport, no redirect, at most 3 attempts on
connection errors, timeouts, 408, 429 and 5xx (every POST carries an `Idempotency-Key`, or
changes nothing), and other statuses told by their status only.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import httpx2 as httpx

from domain.deployments.model import ProviderError
from providers.deployers.http_calls import http_call
from providers.deployers.http_errors import http_status, origin
from providers.deployers.retries import Backoff
from providers.deployers.signatures import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from providers.outbound.addresses import AddressRule


async def post_signed(
    url: str,
    payload: Mapping[str, Any],
    *,
    secret: str,
    idempotency_key: str | None,
    clock: Callable[[], float],
    addresses: AddressRule,
    within: float,
    backoff: Backoff,
) -> bytes:
    """The body of the receiver's 2xx answer. `idempotency_key`: the `Idempotency-Key`
    header; None only for a request that changes nothing (a status read)."""
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    receiver = f"webhook receiver {origin(url)}"

    async def send(client: httpx.AsyncClient) -> httpx.Response:
        timestamp = str(int(clock()))  # signed anew at each attempt
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(secret, timestamp, body),
        }
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        return await client.post(url, content=body, headers=headers)

    response = await http_call(
        send,
        what=receiver,
        addresses=addresses,
        within=within,
        # Every POST carries its Idempotency-Key or changes nothing: each may be sent again.
        idempotent=True,
        backoff=backoff,
        refused=lambda status: ProviderError(
            f"{receiver} refused the request: {http_status(status)}"
        ),
    )
    return response.content
