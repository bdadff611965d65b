"""How long a new API token may live.

Two bounds, whoever creates the token (the `createApiToken` mutation, `paved token create`):
- the longest lifetime of any token, `PAVED_MAX_TOKEN_DAYS` (0: none);
- a token created by a request authenticated with an API token never outlives that token.
A token asked for without an expiry gets the earliest bound; one asked for with an expiry
later than a bound is refused (VALIDATION on `input.expiresAt`), never silently shortened.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.errors import ValidationFailed

DEFAULT_MAX_TOKEN_DAYS = 90
_PATH = ("input", "expiresAt")


def token_expiry(
    requested: datetime | None,
    *,
    now: datetime,
    max_days: int,
    parent_expires_at: datetime | None = None,
) -> datetime | None:
    """The expiry of a new token asked to expire at `requested` (None: as late as allowed).

    `parent_expires_at` is the expiry of the API token of the request creating it, if any.
    None only when there is no bound at all.
    """
    longest = now + timedelta(days=max_days) if max_days > 0 else None
    if requested is None:
        bounds = [bound for bound in (parent_expires_at, longest) if bound is not None]
        return min(bounds, default=None)
    if requested.tzinfo is None:
        raise ValidationFailed("`expiresAt` needs a time zone", _PATH)
    if requested <= now:
        raise ValidationFailed("`expiresAt` must be in the future", _PATH)
    if parent_expires_at is not None and requested > parent_expires_at:
        raise ValidationFailed(
            "a token may not outlive the token creating it, which expires at "
            f"{parent_expires_at.isoformat()}",
            _PATH,
        )
    if longest is not None and requested > longest:
        raise ValidationFailed(
            f"a token may live at most {max_days} days (PAVED_MAX_TOKEN_DAYS)", _PATH
        )
    return requested
