"""Validation of an environment's `provider.settings`, shared by the adapters.

Settings are validated under a `ProviderPolicy` (the server's: `PAVED_SECRETS_DIR`,
`PAVED_PROVIDER_ALLOW_PRIVATE`), which the adapters' validators read from pydantic's validation
context: `secret_env`, `secret_file` and `outbound_url` apply it to the settings naming a
secret or a place to connect to. Without a policy, the strictest one applies.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo
from pydantic.alias_generators import to_camel

from domain.deployments.model import InvalidProviderSettings
from providers.deployers.secret_sources import SecretSources
from providers.outbound.addresses import AddressRule


@dataclass(frozen=True, slots=True)
class ProviderPolicy:
    """What provider settings may name: where secrets come from, where to connect. The
    default is the strictest: `PAVED_SECRET_*` variables only, no file, public addresses."""

    secrets: SecretSources = field(default_factory=SecretSources)
    addresses: AddressRule = field(default_factory=AddressRule)


STRICT: Final = ProviderPolicy()
_POLICY: Final = "provider_policy"


class AdapterSettings(BaseModel):
    """Settings are written in camelCase (`durationSeconds`); unknown ones are refused."""

    model_config = ConfigDict(
        alias_generator=to_camel, extra="forbid", frozen=True, hide_input_in_errors=True
    )

    def destinations(self) -> tuple[tuple[str, str], ...]:
        """(setting, URL) of every place the adapter connects to, for the check of their
        addresses when the settings are saved."""
        return ()


SettingsT = TypeVar("SettingsT", bound=AdapterSettings)
OptionalText = TypeVar("OptionalText", str, str | None)


def parse_settings(
    model: type[SettingsT], kind: str, raw: Mapping[str, Any], policy: ProviderPolicy = STRICT
) -> SettingsT:
    try:
        return model.model_validate(dict(raw), context={_POLICY: policy})
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


def is_loopback(host: str) -> bool:
    """Whether `host` (a URL's lowercased hostname) is `localhost` or a loopback address:
    where plain http may be allowed (`kubectl proxy`, a local Argo CD)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def policy_of(info: ValidationInfo) -> ProviderPolicy:
    """The policy the settings are validated under (`parse_settings`'s)."""
    context = info.context
    policy = context.get(_POLICY) if isinstance(context, dict) else None
    return policy if isinstance(policy, ProviderPolicy) else STRICT


def secret_env(value: OptionalText, info: ValidationInfo) -> OptionalText:
    """A setting naming an environment variable that holds a secret."""
    if value is not None:
        policy_of(info).secrets.env_name(value)
    return value


def secret_file(value: OptionalText, info: ValidationInfo) -> OptionalText:
    """A setting naming a file that holds a secret (kept as written; read through
    `SecretSources.read_file`, which checks it again)."""
    if value is not None:
        policy_of(info).secrets.file_path(value)
    return value


def outbound_url(value: OptionalText, info: ValidationInfo) -> OptionalText:
    """A URL the adapter connects to: its host as written must be allowed."""
    if value is not None:
        policy_of(info).addresses.check_url(value)
    return value


def check_regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as error:
        raise ValueError(f"not a regular expression ({error})") from None
    return value
