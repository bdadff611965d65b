"""Sending one signed webhook message over HTTP.

Every connection goes through the SSRF-checked transport (`providers/outbound/http.py`): the
host is resolved and each address checked at delivery time, whatever was checked when the
webhook was saved. Redirects are not followed (a 3xx is a failed attempt); each attempt has a
deadline; at most `EXCERPT_BYTES` of the answer are read and kept."""

from __future__ import annotations

import time

import httpx2 as httpx

from domain.webhooks.model import Attempt, SigningSecrets
from domain.webhooks.signing import signed_headers
from providers.outbound.addresses import AddressRule, RefusedAddress
from providers.outbound.http import CheckedTransport

EXCERPT_BYTES = 1024
_ERROR_CHARACTERS = 500
USER_AGENT = "PavedRoad-Webhooks/1"


class WebhookSender:
    def __init__(self, rule: AddressRule, *, timeout_seconds: float = 10.0) -> None:
        self._timeout = timeout_seconds
        self._client = httpx.AsyncClient(
            transport=CheckedTransport(rule),
            follow_redirects=False,
            timeout=httpx.Timeout(timeout_seconds),
            trust_env=False,
        )

    async def send(
        self, url: str, message_id: str, body: bytes, secrets: SigningSecrets
    ) -> Attempt:
        headers = {
            **signed_headers(secrets.all(), message_id, int(time.time()), body),
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "accept-encoding": "identity",
        }
        started = time.monotonic()

        def elapsed() -> int:
            return round((time.monotonic() - started) * 1000)

        try:
            async with self._client.stream("POST", url, content=body, headers=headers) as answer:
                excerpt = await _excerpt(answer)
                status = answer.status_code
                error = None if 200 <= status < 300 else _status_error(answer)
                return Attempt(status, elapsed(), excerpt, error)
        except RefusedAddress as refused:
            return Attempt(None, elapsed(), None, f"refused: {refused}")
        except httpx.TimeoutException:
            return Attempt(None, elapsed(), None, f"no answer within {self._timeout:g} s")
        except (httpx.HTTPError, OSError) as failed:
            text = str(failed) or type(failed).__name__
            return Attempt(None, elapsed(), None, text[:_ERROR_CHARACTERS])

    async def aclose(self) -> None:
        await self._client.aclose()


async def _excerpt(answer: httpx.Response) -> str | None:
    """The first KiB of the answer's body (decoded leniently), the rest never read."""
    kept = bytearray()
    async for chunk in answer.aiter_raw():
        kept += chunk[: EXCERPT_BYTES - len(kept)]
        if len(kept) >= EXCERPT_BYTES:
            break
    if not kept:
        return None
    return bytes(kept).decode("utf-8", errors="replace")


def _status_error(answer: httpx.Response) -> str:
    if answer.is_redirect:
        return f"HTTP {answer.status_code}: redirects are not followed"
    return f"HTTP {answer.status_code}"
