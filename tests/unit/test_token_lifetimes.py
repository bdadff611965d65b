"""How long a token lives, without a database: the `--expires` durations `paved token create`
accepts, `PAVED_MAX_TOKEN_DAYS`, and the bounds a new token's expiry must keep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import typer
from pydantic import ValidationError

from api.settings import Settings
from cli.access import expiry
from domain.access.token_lifetimes import token_expiry
from domain.errors import ValidationFailed


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30d", timedelta(days=30)),
        ("12h", timedelta(hours=12)),
        ("45m", timedelta(minutes=45)),
        ("999999d", timedelta(days=999999)),
    ],
)
def test_expiry_durations(text: str, expected: timedelta) -> None:
    assert expiry(text) == expected


@pytest.mark.parametrize("text", ["0d", "3w", "d", "1.5h", "-1d", "1000000d", "30 d", "30D"])
def test_bad_expiry_durations(text: str) -> None:
    with pytest.raises(typer.BadParameter):
        expiry(text)


def test_max_token_days_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PAVED_MAX_TOKEN_DAYS", raising=False)
    assert Settings().max_token_days == 90
    for days in ("0", "7", "36500"):
        monkeypatch.setenv("PAVED_MAX_TOKEN_DAYS", days)
        assert Settings().max_token_days == int(days)
    for days in ("-1", "36501", "ninety"):
        monkeypatch.setenv("PAVED_MAX_TOKEN_DAYS", days)
        with pytest.raises(ValidationError):
            Settings()


def test_the_bounds_in_one_function() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    parent = now + timedelta(minutes=45)
    assert token_expiry(None, now=now, max_days=90) == now + timedelta(days=90)
    assert token_expiry(None, now=now, max_days=0) is None
    assert token_expiry(None, now=now, max_days=90, parent_expires_at=parent) == parent
    assert token_expiry(None, now=now, max_days=0, parent_expires_at=parent) == parent
    long_parent = now + timedelta(days=365)  # made before the limit was lowered
    assert token_expiry(None, now=now, max_days=90, parent_expires_at=long_parent) == (
        now + timedelta(days=90)
    )
    for requested, ceiling, message in [
        (parent + timedelta(seconds=1), parent, "outlive"),
        (now + timedelta(days=90, seconds=1), None, "at most 90 days"),
        (now + timedelta(days=90, seconds=1), long_parent, "at most 90 days"),
        (now, parent, "in the future"),
        (datetime(2026, 1, 1, 0, 30), parent, "time zone"),
    ]:
        with pytest.raises(ValidationFailed, match=message) as refused:
            token_expiry(requested, now=now, max_days=90, parent_expires_at=ceiling)
        assert refused.value.path == ("input", "expiresAt")
