"""The provider policy's rules on their own: which addresses a provider URL may reach, where secrets
may be read from, and the policy the settings give; the attacks through the API are in
`tests/e2e/test_security_provider_settings.py`."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from pydantic import ValidationError

from api.bootstrap import provider_policy
from api.settings import Settings
from providers.deployers.secret_sources import SecretSources
from providers.outbound.addresses import refusal


def test_private_addresses_are_refused_in_production_unless_allowed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("PAVED_PROVIDER_ALLOW_PRIVATE", raising=False)
    monkeypatch.delenv("PAVED_SECRETS_DIR", raising=False)
    assert provider_policy(Settings(env="production")).addresses.allow_private is False
    assert provider_policy(Settings(host="0.0.0.0")).addresses.allow_private is False
    assert provider_policy(Settings()).addresses.allow_private is True  # development
    assert provider_policy(Settings()).secrets.directory is None
    monkeypatch.setenv("PAVED_PROVIDER_ALLOW_PRIVATE", "true")
    assert provider_policy(Settings(env="production")).addresses.allow_private is True
    monkeypatch.setenv("PAVED_PROVIDER_ALLOW_PRIVATE", "false")
    assert provider_policy(Settings()).addresses.allow_private is False
    monkeypatch.setenv("PAVED_SECRETS_DIR", str(tmp_path))
    assert provider_policy(Settings()).secrets.directory == tmp_path
    monkeypatch.setenv("PAVED_SECRETS_DIR", "")
    assert Settings().secrets_dir is None  # empty: unset, not the working directory
    monkeypatch.setenv("PAVED_SECRETS_DIR", str(tmp_path / "absent"))
    with pytest.raises(ValidationError):
        Settings()


@pytest.mark.parametrize(
    ("address", "strict", "allowing_private"),
    [
        ("93.184.216.34", None, None),
        ("2606:2800:220:1:248:1893:25c8:1946", None, None),
        ("169.254.169.254", "a cloud metadata address", "a cloud metadata address"),
        ("::ffff:169.254.169.254", "a cloud metadata address", "a cloud metadata address"),
        ("64:ff9b::a9fe:a9fe", "a cloud metadata address", "a cloud metadata address"),
        ("fd00:ec2::254", "a cloud metadata address", "a cloud metadata address"),
        ("100.100.100.200", "a cloud metadata address", "a cloud metadata address"),
        ("127.0.0.1", "a loopback address", None),
        ("::1", "a loopback address", None),
        ("::ffff:127.0.0.1", "a loopback address", None),
        ("::127.0.0.1", "a loopback address", None),
        ("2002:7f00:1::", "a loopback address", None),  # 6to4 around 127.0.0.1
        ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "a private address", None),  # Teredo, 10.0.0.1
        ("0.0.0.0", "an unspecified address", None),
        ("169.254.10.1", "a link-local address", None),
        ("fe80::1", "a link-local address", None),
        ("224.0.0.1", "a multicast address", None),
        ("10.0.0.1", "a private address", None),
        ("192.168.1.1", "a private address", None),
        ("fd12:3456::1", "a private address", None),
        ("100.64.0.1", "an address that is not publicly routable", None),
        ("240.0.0.1", "a private address", None),
    ],
)
def test_the_address_rule_sees_through_the_spellings_of_an_address(
    address: str, strict: str | None, allowing_private: str | None
) -> None:
    parsed = ipaddress.ip_address(address)
    assert refusal(parsed, allow_private=False) == strict
    assert refusal(parsed, allow_private=True) == allowing_private


def test_a_secret_file_re_pointed_outside_after_saving_is_not_read(tmp_path: Path) -> None:
    directory = tmp_path / "secrets"
    directory.mkdir()
    (directory / "token").write_text("inside")
    (tmp_path / "outside").write_text("outside")
    (directory / "link").symlink_to(directory / "token")
    sources = SecretSources(directory)
    sources.file_path(str(directory / "link"))  # accepted when saved
    assert sources.read_file(str(directory / "link")) == "inside"
    (directory / "link").unlink()
    (directory / "link").symlink_to(tmp_path / "outside")
    with pytest.raises(ValueError, match="must be a file under PAVED_SECRETS_DIR"):
        sources.read_file(str(directory / "link"))
    with pytest.raises(ValueError, match="PAVED_SECRETS_DIR is not set"):
        SecretSources().file_path(str(directory / "token"))
    with pytest.raises(ValueError, match="starting with PAVED_SECRET_"):
        sources.read_env("DATABASE_URL")
