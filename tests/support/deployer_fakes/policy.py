"""The provider policy the adapters' tests run under: the fakes listen on loopback, which the
strict default refuses, as production does."""

from __future__ import annotations

from pathlib import Path

from providers.deployers.secret_sources import SecretSources
from providers.deployers.settings import ProviderPolicy
from providers.outbound.addresses import AddressRule

LOOPBACK = ProviderPolicy(addresses=AddressRule(allow_private=True))
"""Private and loopback addresses allowed; secrets from `PAVED_SECRET_*` variables only."""


def with_secrets_dir(directory: Path | str) -> ProviderPolicy:
    """`LOOPBACK`, and files under `directory` may be named."""
    return ProviderPolicy(SecretSources(Path(directory)), LOOPBACK.addresses)
