"""Validation of an environment's `provider.settings`, shared by the adapters."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

from providers.deployments import ProviderError


class InvalidProviderSettings(ProviderError, ValueError):
    """Settings that cannot build an adapter; `setting` names the first one at fault."""

    def __init__(self, message: str, setting: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting


class AdapterSettings(BaseModel):
    """Settings are written in camelCase (`durationSeconds`); unknown ones are refused."""

    model_config = ConfigDict(
        alias_generator=to_camel, extra="forbid", frozen=True, hide_input_in_errors=True
    )


SettingsT = TypeVar("SettingsT", bound=AdapterSettings)


def parse_settings(model: type[SettingsT], kind: str, raw: Mapping[str, Any]) -> SettingsT:
    try:
        return model.model_validate(dict(raw))
    except ValidationError as error:
        problems = [
            (".".join(str(part) for part in problem["loc"]) or "settings", problem["msg"])
            for problem in error.errors(include_input=False, include_url=False)
        ]
        message = "; ".join(f"setting {name}: {text}" for name, text in problems)
        raise InvalidProviderSettings(f"{kind} provider: {message}", problems[0][0]) from None


def check_http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError("must be an http(s) URL")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not carry credentials; name an environment variable instead")
    return value


def check_regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as error:
        raise ValueError(f"not a regular expression ({error})") from None
    return value
