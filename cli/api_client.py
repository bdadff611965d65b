"""The CLI's client of /graphql: where it is and with which token (PAVED_API_URL,
PAVED_TOKEN), and how refusals and errors become one clear line."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx2 as httpx
import orjson
from pydantic import Field, SecretStr, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from cli.credentials import load_login
from cli.framework import ExitCode

DEFAULT_API_URL = "http://127.0.0.1:8000/graphql"


_REFUSING_STATUSES = frozenset({401, 403, 429})
_UNAUTHENTICATED = frozenset({401, 403})
CREDENTIAL_HINT = " (check PAVED_TOKEN, or run `paved login`)"

RESEND_PAUSES = (0.5, 2.0)
"""How long `Api.resending` waits before sending again an operation whose answer was lost."""


class ClientSettings(BaseSettings):
    """Where the API is and the credential to send it: given (`--api-url`), else from the
    environment (PAVED_API_URL, PAVED_TOKEN), else the login `paved login` stored."""

    model_config = SettingsConfigDict(env_prefix="PAVED_", extra="ignore", frozen=True)

    api_url: str = DEFAULT_API_URL
    token: SecretStr | None = Field(default=None)

    @field_validator("api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http:// or https:// URL")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _StoredLoginSource(settings_cls))


class _StoredLoginSource(PydanticBaseSettingsSource):
    """The stored login, the lowest priority. Its token goes only to its own URL: with
    another URL given (`--api-url`, PAVED_API_URL), it is not sent."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        login = load_login()
        if login is None:
            return {}
        given_url = self.current_state.get("api_url")
        if given_url is not None and given_url != login.api_url:
            return {}
        values: dict[str, Any] = {"api_url": login.api_url}
        if login.token is not None:
            values["token"] = login.token
        return values


class NoStream(Exception):
    """The server offers no subscription stream (an older one): poll instead."""


@dataclass(frozen=True, slots=True)
class Update:
    """One result of a subscription: its `data`, and the SSE id to resume after."""

    data: dict[str, Any]
    event_id: str | None


class Refused(Exception):
    """Ends a command: `lines` on stderr, then `code`."""

    def __init__(self, code: int, *lines: str) -> None:
        super().__init__(*lines)
        self.code = code
        self.lines = lines


def _shown_url(url: str) -> str:
    """`url` without any user:password part."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def error_line(error: dict[str, Any]) -> str:
    code = error.get("code") or (error.get("extensions") or {}).get("code") or "ERROR"
    line = f"paved: {code}: {error.get('message', '')}"
    path = error.get("path")
    if path:
        line += f" ({'.'.join(str(part) for part in path)})"
    return line


class Api:
    """GraphQL over HTTP, with the failures a terminal user can act on told in one line."""

    def __init__(self, http: httpx.AsyncClient, url: str) -> None:
        self.http = http
        self.url = url

    async def __call__(self, query: str, /, **variables: Any) -> dict[str, Any]:
        """`data` of an operation that answered without GraphQL errors."""
        return self._data(await self._post(query, variables, ()))

    async def resending(self, query: str, **variables: Any) -> dict[str, Any]:
        """As calling the client, for an operation that is safe to send twice (a mutation
        with an idempotency key: the server answers a replay with the first result): when the
        connection fails before the answer arrives, it is sent again after each of
        `RESEND_PAUSES`."""
        return self._data(await self._post(query, variables, RESEND_PAUSES))

    async def _post(
        self, query: str, variables: dict[str, Any], pauses: tuple[float, ...]
    ) -> httpx.Response:
        body = {"query": query, "variables": variables}
        for pause in pauses:
            with contextlib.suppress(httpx.TransportError):
                return await self.http.post(self.url, json=body)
            await asyncio.sleep(pause)
        try:
            return await self.http.post(self.url, json=body)
        except httpx.HTTPError as error:
            raise Refused(ExitCode.UNREACHABLE, _unreachable(_shown_url(self.url), error)) from None

    def _data(self, response: httpx.Response) -> dict[str, Any]:
        where = _shown_url(self.url)
        try:
            body = response.json()
        except ValueError:
            body = None
        errors = body.get("errors") if isinstance(body, dict) else None
        if response.status_code in _REFUSING_STATUSES:
            message = errors[0].get("message") if errors and isinstance(errors[0], dict) else None
            unauthenticated = response.status_code in _UNAUTHENTICATED
            raise Refused(
                ExitCode.UNAUTHENTICATED if unauthenticated else ExitCode.REFUSED,
                f"paved: the API at {where} answered HTTP {response.status_code}: "
                f"{message or response.reason_phrase}{CREDENTIAL_HINT if unauthenticated else ''}",
            )
        if isinstance(errors, list) and errors:
            raise Refused(ExitCode.REFUSED, *(error_line(e) for e in errors if isinstance(e, dict)))
        if response.status_code != 200 or not isinstance(body, dict):
            raise Refused(
                ExitCode.UNREACHABLE,
                f"paved: the API at {where} answered HTTP {response.status_code} without data",
            )
        data: dict[str, Any] = body.get("data") or {}
        return data

    @asynccontextmanager
    async def subscription(
        self, query: str, last_event_id: str | None = None, **variables: Any
    ) -> AsyncIterator[AsyncIterator[Update]]:
        """A subscription over Server-Sent Events: the stream is open when the block starts;
        iterate for its results until the server completes it. Raises NoStream when the
        server answers anything but a stream, Refused for errors."""
        where = _shown_url(self.url)
        headers = {"Accept": "text/event-stream"}
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        try:
            async with self.http.stream(
                "POST",
                self.url,
                json={"query": query, "variables": variables},
                headers=headers,
                timeout=httpx.Timeout(30.0, read=None),
            ) as response:
                if response.status_code in _REFUSING_STATUSES:
                    unauthenticated = response.status_code in _UNAUTHENTICATED
                    raise Refused(
                        ExitCode.UNAUTHENTICATED if unauthenticated else ExitCode.REFUSED,
                        f"paved: the API at {where} answered HTTP {response.status_code}"
                        + (CREDENTIAL_HINT if unauthenticated else ""),
                    )
                media_type = response.headers.get("content-type", "").split(";")[0].strip()
                if response.status_code != 200 or media_type != "text/event-stream":
                    raise NoStream
                yield _updates(response)
        except httpx.HTTPError as error:
            raise Refused(ExitCode.UNREACHABLE, _unreachable(where, error)) from None


def _unreachable(where: str, error: httpx.HTTPError) -> str:
    # The message of a transport error names the URL at most, never the headers.
    return f"paved: cannot reach the API at {where}: {type(error).__name__}: {error}"


async def _updates(response: httpx.Response) -> AsyncIterator[Update]:
    """The `next` events of a GraphQL-over-SSE stream, until `complete`."""
    fields: dict[str, str] = {}
    async for line in response.aiter_lines():
        if line.startswith(":"):
            continue
        if line:
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
            continue
        event, data, event_id = fields.get("event"), fields.get("data", ""), fields.get("id")
        fields = {}
        if event == "complete":
            return
        if event != "next":
            continue
        body = orjson.loads(data)
        errors = body.get("errors") if isinstance(body, dict) else None
        if errors:
            raise Refused(ExitCode.REFUSED, *(error_line(e) for e in errors if isinstance(e, dict)))
        yield Update(body.get("data") or {}, event_id)
