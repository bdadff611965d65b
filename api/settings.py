"""Settings from the environment: `PAVED_*` and `DATABASE_URL`."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    DirectoryPath,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAVED_", extra="ignore", frozen=True)

    env: Literal["development", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    data_dir: Path = Path(".paved")
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "PAVED_DATABASE_URL")
    )
    demo: bool = True
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    pool_min_size: int = Field(default=2, ge=1, le=100)
    pool_max_size: int = Field(default=10, ge=2, le=500)
    ready_timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    # A database outage answers UNAVAILABLE fast (providers/postgres/availability.py): taking
    # a pooled connection (or opening one) waits at most this long...
    pool_timeout_seconds: float = Field(default=5.0, gt=0, le=300)
    # ...and PostgreSQL cuts any statement running longer than this (0: no limit).
    statement_timeout_ms: int = Field(default=30_000, ge=0, le=86_400_000)
    graphiql: bool | None = None
    # The browser portal at `/` (package `portal`); false: only the API is served.
    portal: bool = True
    fast_reads: Literal["on", "off", "verify"] = "on"
    fast_mutations: bool = True
    read_batch_size: int = Field(default=16, ge=1, le=100)
    write_batch_size: int = Field(default=16, ge=1, le=100)

    # Access (issue 4). OIDC is on when both issuer and audience are set.
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_jwks_url: str | None = None
    oidc_algorithms: tuple[str, ...] = ("RS256", "ES256")
    oidc_groups_claim: str = "groups"
    oidc_leeway_seconds: int = Field(default=30, ge=0, le=300)
    # Signing in to the portal (api/oidc_login.py): on when the issuer and the client id are
    # set. The secret is for confidential clients; public clients rely on PKCE alone.
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_scopes: tuple[str, ...] = ("openid", "email", "profile")
    # Where browsers reach this server (`https://paved.example.com`): the redirect URI the
    # identity provider sends them back to is `<public_url>/auth/callback`.
    public_url: str | None = None
    session_idle_minutes: int = Field(default=60, ge=1, le=10_080)
    session_max_hours: int = Field(default=12, ge=1, le=8_760)
    # The longest any API token may live, in days; 0: no limit (providers/token_lifetimes.py).
    max_token_days: int = Field(default=90, ge=0, le=36_500)
    # API tokens verified and kept per process (api/token_cache.py); 0: each request with a
    # token looks it up in the database.
    token_cache_size: int = Field(default=10_000, ge=0, le=1_000_000)
    introspection: bool | None = None
    trusted_documents: Path | None = None

    # Query limits: every rejection happens before any SQL runs.
    max_depth: int = Field(default=12, ge=1, le=100)
    max_aliases: int = Field(default=30, ge=1, le=10_000)
    max_tokens: int = Field(default=2_000, ge=10, le=100_000)
    max_nodes: int = Field(default=50_000, ge=1, le=10_000_000)
    max_directives_per_field: int = Field(default=5, ge=1, le=100)
    max_body_bytes: int = Field(default=1_000_000, ge=1_000, le=100_000_000)
    max_batch: int = Field(default=10, ge=1, le=100)
    max_response_bytes: int = Field(default=10_000_000, ge=10_000, le=1_000_000_000)
    request_timeout_seconds: float = Field(default=10.0, gt=0, le=600)
    max_concurrent_per_actor: int = Field(default=4, ge=1, le=1_000)

    # Which `Host` names requests may carry (besides loopback names in development).
    allowed_hosts: tuple[str, ...] = ()

    # Cost-based rate limiting per actor and process; 0 points turns it off.
    rate_limit_points: int = Field(default=500_000, ge=0, le=1_000_000_000)
    rate_limit_refill_per_second: float | None = Field(default=None, gt=0, le=1_000_000_000)

    # Provider adapters (deployments): deadlines of their calls, how often rollouts are polled.
    provider_deadline_seconds: float = Field(default=10.0, gt=0, le=300)
    live_status_deadline_seconds: float = Field(default=2.0, gt=0, le=60)
    live_status_cache_seconds: float = Field(default=5.0, ge=0, le=3_600)
    rollout_poll_seconds: float = Field(default=2.0, gt=0, le=3_600)
    # A provider's circuit opens after this many failed calls in a row (unreachable, no answer
    # in time); its calls then fail at once until one probe call is let through this long later.
    provider_breaker_failures: int = Field(default=5, ge=1, le=1_000)
    provider_breaker_reset_seconds: float = Field(default=30.0, ge=0.1, le=3_600)
    # Replicas on one database: a deployment's rollout is followed by the replica holding its
    # lease; a replica that dies loses its leases this long after its last renewal.
    rollout_lease_seconds: float = Field(default=15.0, ge=0.3, le=3_600)
    # SIGTERM: how long in-flight requests may take to finish before the server stops.
    shutdown_seconds: int = Field(default=10, ge=1, le=3_600)
    # Events older than this are deleted in the background (hourly, by every replica).
    event_retention_days: int = Field(default=30, ge=1, le=36_500)
    # The audit chain (ARCHITECTURE "The audit chain"): how often a process looks for records
    # to seal, and the key its logged seals are signed with (HMAC-SHA256; unset: unsigned).
    audit_seal_poll_seconds: float = Field(default=0.5, gt=0, le=60)
    audit_seal_key: SecretStr | None = None
    # Provider settings: secrets only from PAVED_SECRET_* variables and files under
    # `secrets_dir` (unset: no file); private addresses: None = allowed outside production only.
    secrets_dir: DirectoryPath | None = None
    provider_allow_private: bool | None = None

    # Outgoing webhooks: the key their secrets are encrypted with (a Fernet key; required in
    # production, kept in a file under `data_dir` in development), where they may point, how
    # deliveries are retried, and whether this process delivers at all.
    webhook_encryption_key: SecretStr | None = None
    webhook_allow_private: bool | None = None
    webhook_max_attempts: int = Field(default=12, ge=1, le=100)
    webhook_disable_after: int = Field(default=50, ge=1, le=100_000)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    webhook_lease_seconds: float = Field(default=30.0, gt=0, le=3_600)
    webhook_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    webhook_delivery: bool = True
    # Subscriptions (WebSocket and SSE on /graphql): open ones per actor (per process) and per
    # WebSocket connection, keep-alive pings, how often the outbox is read when no notice
    # came, how many undelivered events a subscriber may have before it is dropped.
    max_subscriptions_per_actor: int = Field(default=20, ge=1, le=10_000)
    max_subscriptions_per_connection: int = Field(default=10, ge=1, le=1_000)
    subscription_keepalive_seconds: float = Field(default=15.0, gt=0, le=3_600)
    event_poll_seconds: float = Field(default=1.5, gt=0, le=3_600)
    subscriber_queue_size: int = Field(default=1_000, ge=1, le=1_000_000)

    # Observability (README "Observability"): `/metrics` (in production only for loopback
    # clients or `Authorization: Bearer <PAVED_METRICS_TOKEN>`), the log format (json in
    # production, text in development). Traces follow the standard `OTEL_*` variables
    # (`api/observability/tracing.py`): exported when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
    metrics: bool = True
    metrics_token: SecretStr | None = None
    log_format: Literal["json", "text"] | None = None
    # Operation names kept as metric labels: those of the trusted documents, then the first
    # this many distinct names seen; every other name is counted as `other`.
    metrics_operation_names: int = Field(default=200, ge=0, le=10_000)

    @field_validator("log_level", mode="before")
    @classmethod
    def _any_case(cls, value: object) -> object:
        """`INFO` reads as `info`, as logging itself takes either."""
        return value.lower() if isinstance(value, str) else value

    @field_validator(
        "secrets_dir",
        "webhook_encryption_key",
        "metrics_token",
        "audit_seal_key",
        "oidc_client_id",
        "oidc_client_secret",
        "public_url",
        mode="before",
    )
    @classmethod
    def _unset_when_empty(cls, value: object) -> object:
        """An empty `PAVED_SECRETS_DIR` means unset (not the working directory); so does an
        empty key."""
        return None if value == "" else value

    @field_validator("allowed_hosts")
    @classmethod
    def _host_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        """Names (`api.example.com`) or `*.domain` patterns, without scheme or port."""
        for name in value:
            bare = name[2:] if name.startswith("*.") else name
            if not bare or any(not (c.isalnum() or c in ".-:[]") for c in bare) or "*" in bare:
                raise ValueError(f"{name!r} is not a host name or a *.domain pattern")
        return tuple(name.lower().strip("[]") for name in value)

    @field_validator("oidc_scopes")
    @classmethod
    def _openid_scope(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        """Sign-in is OpenID Connect only with the `openid` scope; scopes are plain tokens."""
        if "openid" not in value:
            raise ValueError("must include openid")
        for scope in value:
            if not scope or any(not (33 <= ord(c) <= 126) or c in '"\\' for c in scope):
                raise ValueError(f"{scope!r} is not a scope")
        return value

    @field_validator("public_url")
    @classmethod
    def _public_origin(cls, value: str | None) -> str | None:
        """An origin: https (http only for a loopback host), a host, an optional port; no path,
        query, fragment or credentials."""
        if value is None:
            return None
        try:
            parts = urlsplit(value.rstrip("/"))
            _ = parts.port
        except ValueError:
            raise ValueError("expected https://host[:port]") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("expected https://host[:port]")
        if parts.path or parts.query or parts.fragment or "@" in parts.netloc:
            raise ValueError("expected https://host[:port], without path, query or user")
        if parts.scheme == "http" and not _loopback_name(parts.hostname):
            raise ValueError("must be https (http only on a loopback address)")
        netloc = parts.netloc.lower()
        if (parts.scheme, parts.port) in (("https", 443), ("http", 80)):
            netloc = netloc.rsplit(":", 1)[0]  # as browsers write the origin
        return f"{parts.scheme}://{netloc}"

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        """A URL asyncpg can use (an empty one means unset), checked before anything starts."""
        if not value:
            return None
        if urlsplit(value).scheme not in ("postgresql", "postgres"):
            raise ValueError("expected a postgresql://user@host:port/database URL")
        return value

    @property
    def on_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    @property
    def production(self) -> bool:
        return self.env == "production" or not self.on_loopback

    @property
    def graphiql_enabled(self) -> bool:
        return self.graphiql if self.graphiql is not None else not self.production

    @property
    def introspection_enabled(self) -> bool:
        return self.introspection if self.introspection is not None else not self.production

    @property
    def provider_private_allowed(self) -> bool:
        """Whether provider settings may reach private, loopback... addresses."""
        if self.provider_allow_private is not None:
            return self.provider_allow_private
        return not self.production

    @property
    def webhook_private_allowed(self) -> bool:
        """Whether webhook URLs may reach private, loopback... addresses."""
        if self.webhook_allow_private is not None:
            return self.webhook_allow_private
        return not self.production

    @property
    def rate_limit_refill(self) -> float:
        """Points per second; by default the whole bucket refills in a minute."""
        if self.rate_limit_refill_per_second is not None:
            return self.rate_limit_refill_per_second
        return self.rate_limit_points / 60

    @property
    def json_logs(self) -> bool:
        """One JSON object per log line: by default in production."""
        if self.log_format is not None:
            return self.log_format == "json"
        return self.production

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_audience)

    @property
    def login_enabled(self) -> bool:
        """Whether browsers may sign in through the identity provider (`/auth/login`)."""
        return bool(self.oidc_issuer and self.oidc_client_id)

    @property
    def public_origin(self) -> str:
        """`public_url`, or in its absence this server's own address (development)."""
        if self.public_url is not None:
            return self.public_url
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def secure_cookies(self) -> bool:
        """Cookies are `Secure` but in development over plain http (loopback only)."""
        return self.production or self.public_origin.startswith("https://")


def _loopback_name(name: str) -> bool:
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def describe_settings_error(error: ValidationError) -> str:
    """One line naming the first bad setting, the way its environment variable is spelt."""
    first = error.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else "?"
    # `database_url` is read through its aliases, so its errors carry the alias.
    name = "DATABASE_URL" if field.lower() == "database_url" else f"PAVED_{field.upper()}"
    return f"invalid setting {name}: {first['msg']}"
