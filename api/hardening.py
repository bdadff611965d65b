"""The endpoint's protections, read once from the settings: query limits, rate limiter,
trusted documents, per-actor concurrency, deadlines and the response cap."""

from __future__ import annotations

from dataclasses import dataclass, field

from api.query_limits import QueryLimits
from api.rate_limits import RateLimiter
from api.settings import Settings
from api.trusted_documents import TrustedDocuments, load_trusted_documents


@dataclass(frozen=True, slots=True)
class Hardening:
    """What the endpoint refuses, and how it reports failures."""

    limits: QueryLimits = field(default_factory=QueryLimits)
    max_body_bytes: int = 1_000_000
    hide_suggestions: bool = False
    """Production: no "Did you mean ...?" in error messages."""
    rate_limiter: RateLimiter | None = None
    trusted_documents: TrustedDocuments | None = None
    max_response_bytes: int = 10_000_000
    request_timeout_seconds: float = 10.0
    """Deadline of a query's execution (mutations are not interrupted mid-transaction)."""
    max_concurrent_per_actor: int = 4

    @classmethod
    def from_settings(cls, settings: Settings) -> Hardening:
        """Reads the trusted documents file: raises TrustedDocumentsError when it is bad."""
        limits = QueryLimits(
            max_depth=settings.max_depth,
            max_aliases=settings.max_aliases,
            max_tokens=settings.max_tokens,
            max_nodes=settings.max_nodes,
            max_directives_per_field=settings.max_directives_per_field,
            introspection=settings.introspection_enabled,
        )
        limiter = (
            RateLimiter(settings.rate_limit_points, settings.rate_limit_refill)
            if settings.rate_limit_points
            else None
        )
        documents = (
            load_trusted_documents(settings.trusted_documents)
            if settings.trusted_documents is not None
            else None
        )
        return cls(
            limits,
            settings.max_body_bytes,
            settings.production,
            limiter,
            documents,
            max_response_bytes=settings.max_response_bytes,
            request_timeout_seconds=settings.request_timeout_seconds,
            max_concurrent_per_actor=settings.max_concurrent_per_actor,
        )
