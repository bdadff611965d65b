"""Where a webhook may point (the `WebhookOutbound` port), and its ping."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit

import orjson

from domain.errors import ValidationFailed
from domain.webhooks.model import Attempt, SigningSecrets, WebhookRecord
from domain.webhooks.payload import ping_message
from domain.webhooks.signing import new_message_id
from providers.outbound.addresses import AddressRule, RefusedAddress
from providers.webhooks.sender import WebhookSender

_RESOLVE_SECONDS = 2.0
_PATH = ["input", "url"]


class WebhookTargets:
    def __init__(
        self,
        rule: AddressRule,
        sender: WebhookSender,
        secrets: Callable[[int], Awaitable[SigningSecrets]],
    ) -> None:
        self._rule = rule
        self._sender = sender
        self._secrets = secrets

    async def check_url(self, url: str) -> None:
        """http(s) with a host, no credentials in it; its host not refused by the address
        rule, as written and as it resolves now (connecting checks it again)."""
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 (raises on a port out of range)
        except ValueError:
            raise ValidationFailed("`url` is not a valid URL", _PATH) from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValidationFailed("`url` must be an http(s) URL with a host", _PATH)
        if parts.username is not None or parts.password is not None or "@" in parts.netloc:
            raise ValidationFailed("`url` must not hold credentials (user:password@)", _PATH)
        if any(ord(character) < 0x21 for character in url):
            raise ValidationFailed("`url` must not hold spaces or control characters", _PATH)
        try:
            await self._rule.check_resolved(url, within=_RESOLVE_SECONDS)
        except RefusedAddress as refused:
            raise ValidationFailed(f"`url` is refused: {refused}", _PATH) from None

    async def ping(self, webhook: WebhookRecord) -> Attempt:
        body = orjson.dumps(ping_message(webhook.id, datetime.now(UTC)))
        secrets = await self._secrets(webhook.id)
        return await self._sender.send(webhook.url, new_message_id(), body, secrets)
