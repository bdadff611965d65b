"""Webhooks without a database: signatures a Standard Webhooks library accepts, the retry
schedule, who receives what, sealed secrets, and refusals that need no network."""

from __future__ import annotations

import base64
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook

from api.settings import Settings
from domain.errors import ValidationFailed
from domain.events.model import EventRecord, EventType, SubjectKind
from domain.webhooks import backoff
from domain.webhooks.matching import receives
from domain.webhooks.model import SigningSecrets, WebhookRecord
from domain.webhooks.signing import new_secret, signature, signed_headers
from providers.outbound.addresses import AddressRule
from providers.webhooks.secret_box import KEY_FILE, SecretBox
from providers.webhooks.sender import WebhookSender
from providers.webhooks.targets import WebhookTargets

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def test_secrets_are_whsec_and_32_random_bytes() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert new_secret() != secret


def test_signatures_verify_with_the_standardwebhooks_library() -> None:
    old, new = new_secret(), new_secret()
    body = b'{"type":"TEAM_CREATED","data":{}}'
    timestamp = int(datetime.now(UTC).timestamp())
    headers = signed_headers([new, old], "RXZlbnQ6MQ", timestamp, body)
    assert Webhook(new).verify(body, headers) == {"type": "TEAM_CREATED", "data": {}}
    assert Webhook(old).verify(body, headers)
    assert headers["webhook-signature"].count("v1,") == 2
    when = datetime.fromtimestamp(timestamp, UTC)
    assert Webhook(new).sign("RXZlbnQ6MQ", when, body.decode()) == signature(
        new, "RXZlbnQ6MQ", timestamp, body
    )
    with pytest.raises(Exception, match="signature"):
        Webhook(new_secret()).verify(body, headers)


def test_twelve_attempts_are_spread_over_about_a_day() -> None:
    middle = sum(backoff.retry_delay(n, draw=lambda: 0.5) for n in range(1, 12))
    assert 22 * 3600 < middle < 26 * 3600
    for attempt in range(1, 15):
        step = backoff.SCHEDULE[min(attempt, len(backoff.SCHEDULE)) - 1]
        low = backoff.retry_delay(attempt, draw=lambda: 0.0)
        high = backoff.retry_delay(attempt, draw=lambda: 1.0)
        assert low == pytest.approx(step * 0.8)
        assert high == pytest.approx(step * 1.2)
    assert backoff.retry_delay(3, scale=0.0) == 0.0


def _webhook(team_id: int | None, *types: EventType, after: int = 0) -> WebhookRecord:
    return WebhookRecord(
        id=1,
        url="https://example.com/",
        description=None,
        team_id=team_id,
        events=types,
        active=True,
        disabled_reason=None,
        created_at=NOW,
        version=1,
        after_event=after,
    )


def _event(event_id: int, type_: EventType, kind: SubjectKind, team_id: int | None) -> EventRecord:
    return EventRecord(
        id=event_id,
        type=type_,
        occurred_at=NOW,
        subject_kind=kind,
        subject_id=5,
        data={},
        team_id=team_id,
    )


def test_who_receives_what() -> None:
    team_hook = _webhook(7, EventType.SERVICE_CREATED, EventType.WEBHOOK_DISABLED, after=10)
    admin_hook = _webhook(None, EventType.WEBHOOK_DISABLED)
    catalog = _event(11, EventType.SERVICE_CREATED, SubjectKind.SERVICE, 8)
    own_disabled = _event(12, EventType.WEBHOOK_DISABLED, SubjectKind.WEBHOOK, 7)
    other_disabled = _event(13, EventType.WEBHOOK_DISABLED, SubjectKind.WEBHOOK, 8)
    teamless_disabled = _event(14, EventType.WEBHOOK_DISABLED, SubjectKind.WEBHOOK, None)
    assert receives(team_hook, catalog)  # catalog events: readable by every team
    assert receives(team_hook, own_disabled)
    assert not receives(team_hook, other_disabled)
    assert not receives(team_hook, teamless_disabled)
    assert not receives(team_hook, _event(10, EventType.SERVICE_CREATED, SubjectKind.SERVICE, 7))
    assert not receives(team_hook, _event(15, EventType.SERVICE_DELETED, SubjectKind.SERVICE, 7))
    assert all(receives(admin_hook, e) for e in (own_disabled, other_disabled, teamless_disabled))


def test_sealed_secrets_and_the_development_key_file(tmp_path: Path) -> None:
    box = SecretBox(key_dir=tmp_path / "data")
    sealed = box.seal("whsec_abc")
    assert "whsec_abc" not in sealed
    assert box.open(sealed) == "whsec_abc"
    key_file = tmp_path / "data" / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert SecretBox(key_dir=tmp_path / "data").open(sealed) == "whsec_abc"  # kept and reused
    with pytest.raises(ValueError, match="PAVED_WEBHOOK_ENCRYPTION_KEY"):
        SecretBox(key_dir=tmp_path / "elsewhere").open(sealed)
    with pytest.raises(RuntimeError, match="PAVED_WEBHOOK_ENCRYPTION_KEY"):
        SecretBox().seal("whsec_abc")
    with pytest.raises(ValueError, match="Fernet key"):
        SecretBox(b"not a fernet key")


async def _no_secrets(webhook_id: int) -> SigningSecrets:
    raise AssertionError("not sent")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8080/hook",
        "http://10.0.0.1/hook",
        "http://[::1]/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://user:password@example.com/hook",
        "ftp://example.com/hook",
    ],
)
async def test_production_refuses_private_and_odd_urls(url: str) -> None:
    settings = Settings(env="production")
    assert settings.webhook_private_allowed is False
    rule = AddressRule(allow_private=False, setting="PAVED_WEBHOOK_ALLOW_PRIVATE")
    sender = WebhookSender(rule)
    try:
        with pytest.raises(ValidationFailed) as refused:
            await WebhookTargets(rule, sender, _no_secrets).check_url(url)
        assert refused.value.path == ("input", "url")
    finally:
        await sender.aclose()


def test_serve_refuses_production_without_an_encryption_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from cli.main import main

    monkeypatch.setenv("PAVED_ENV", "production")
    monkeypatch.delenv("PAVED_WEBHOOK_ENCRYPTION_KEY", raising=False)
    assert main(["serve"]) == 2
    assert "PAVED_WEBHOOK_ENCRYPTION_KEY is required in production" in capsys.readouterr().err
