"""The rules of signing in that need no server: where `next` may lead, which requests may
act through the session cookie, the CSRF token, PKCE, and the settings."""

from __future__ import annotations

import os

import pytest
from pydantic import SecretStr, ValidationError
from starlette.datastructures import Headers

from api.oidc_client import pkce_challenge
from api.oidc_login import same_origin_path
from api.settings import Settings, describe_settings_error
from api.web_sessions import SessionCredential, credential_of, csrf_token, session_secret
from domain.errors import ValidationFailed

SECRET = "s" * 43
CSRF = csrf_token(SECRET)


@pytest.fixture(autouse=True)
def no_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("PAVED_") or key == "DATABASE_URL":
            monkeypatch.delenv(key)


# --- next ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    ["/", "/services", "/services/pay-api?tab=deployments#latest", "/a/%2F%2Fb", "/a//b"],
)
def test_paths_on_this_server_are_kept(target: str) -> None:
    assert same_origin_path(target) == target


@pytest.mark.parametrize("target", [None, ""])
def test_no_next_is_the_front_page(target: str | None) -> None:
    assert same_origin_path(target) == "/"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example",
        "//evil.example",
        "/\\evil.example",
        "/x\\y",
        "\\/evil.example",
        "/\x00",
        "/\t/evil.example",
        "/a b",
        "/\u00e9",
        "/\u2215\u2215evil.example",
        "evil.example",
        "./x",
        "?next=/x",
        "#x",
        "/" + "x" * 2000,
    ],
)
def test_anything_that_could_lead_elsewhere_is_refused(target: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        same_origin_path(target)
    assert refused.value.path == ("next",)


# --- the cookie's requests -------------------------------------------------------------------


def headers(**values: str) -> Headers:
    named = {name.replace("_", "-"): value for name, value in values.items()}
    return Headers({"cookie": f"paved_session={SECRET}", "x-paved-csrf": CSRF, **named})


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "Application/JSON"]
)
def test_a_json_post_with_the_csrf_header_carries_the_session(content_type: str) -> None:
    assert credential_of("POST", headers(content_type=content_type)) == SessionCredential(
        SECRET, CSRF
    )


@pytest.mark.parametrize(
    ("method", "sent"),
    [
        ("GET", headers(content_type="application/json")),
        ("PUT", headers(content_type="application/json")),
        ("POST", headers(content_type="application/x-www-form-urlencoded")),
        ("POST", headers(content_type="multipart/form-data; boundary=x")),
        ("POST", headers(content_type="text/plain")),
        ("POST", headers(content_type="application/json-seq")),
        ("POST", headers()),
        ("POST", Headers({"cookie": f"paved_session={SECRET}", "content-type": "application/json"})),
        ("POST", headers(content_type="application/json", cookie="paved_session=short")),
        ("POST", headers(content_type="application/json", cookie=f"other={SECRET}")),
    ],
    ids=["get", "put", "form", "multipart", "text", "json-seq", "no-type", "no-csrf",
         "malformed-cookie", "no-session-cookie"],
)  # fmt: skip
def test_any_other_request_does_not(method: str, sent: Headers) -> None:
    assert credential_of(method, sent) is None


def test_the_session_cookie_is_found_among_others() -> None:
    sent = Headers({"cookie": f"theme=dark; paved_session={SECRET}; other=1"})
    assert session_secret(sent) == SECRET


def test_the_csrf_token_is_the_sessions_own_and_reveals_nothing() -> None:
    other = csrf_token("t" * 43)
    assert csrf_token(SECRET) == CSRF
    assert other != CSRF
    assert len(CSRF) == 64
    assert SECRET not in CSRF


def test_a_credential_never_shows_its_secrets() -> None:
    shown = repr(SessionCredential(SECRET, CSRF))
    assert SECRET not in shown
    assert CSRF not in shown


def test_pkce_challenge_of_rfc_7636_appendix_b() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


# --- settings ----------------------------------------------------------------------------------


def test_signing_in_is_off_by_default() -> None:
    settings = Settings()
    assert settings.login_enabled is False
    assert settings.session_idle_minutes == 60
    assert settings.session_max_hours == 12
    assert settings.public_origin == "http://127.0.0.1:8000"
    assert settings.secure_cookies is False


def test_signing_in_needs_the_issuer_and_the_client_id() -> None:
    assert not Settings(oidc_client_id="portal").login_enabled
    assert Settings(oidc_issuer="https://idp.example", oidc_client_id="portal").login_enabled
    assert not Settings(oidc_issuer="https://idp.example", oidc_client_id="").login_enabled


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("https://Paved.Example.com", "https://paved.example.com"),
        ("https://paved.example.com/", "https://paved.example.com"),
        ("https://paved.example.com:8443", "https://paved.example.com:8443"),
        ("https://paved.example.com:443", "https://paved.example.com"),
        ("http://localhost:80", "http://localhost"),
        ("http://[::1]:80", "http://[::1]"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://localhost:8000", "http://localhost:8000"),
        ("http://[::1]:8000", "http://[::1]:8000"),
    ],
)
def test_the_public_url_is_an_origin(given: str, kept: str) -> None:
    assert Settings(public_url=given).public_origin == kept


@pytest.mark.parametrize(
    "given",
    [
        "http://paved.example.com",
        "ftp://paved.example.com",
        "https://paved.example.com/portal",
        "https://paved.example.com?x=1",
        "https://user:pass@paved.example.com",
        "https://paved.example.com:notaport",
        "paved.example.com",
    ],
)
def test_anything_else_is_refused_naming_the_setting(given: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(public_url=given)
    assert describe_settings_error(refused.value).startswith("invalid setting PAVED_PUBLIC_URL")


def test_cookies_are_secure_in_production_and_over_https() -> None:
    assert Settings(env="production").secure_cookies
    assert Settings(public_url="https://paved.example.com").secure_cookies
    assert not Settings(public_url="http://localhost:8000").secure_cookies


def test_the_client_secret_is_never_shown() -> None:
    settings = Settings(oidc_client_secret=SecretStr("hunter2-client-secret"))
    assert "hunter2" not in repr(settings)
    assert "hunter2" not in settings.model_dump_json()
    assert Settings(oidc_client_secret="").oidc_client_secret is None


@pytest.mark.parametrize("scopes", [("email", "profile"), ("openid", "bad scope"), ("openid", "")])
def test_the_scopes_are_openid_and_plain_tokens(scopes: tuple[str, ...]) -> None:
    with pytest.raises(ValidationError):
        Settings(oidc_scopes=scopes)
    assert Settings(oidc_scopes=("openid", "groups")).oidc_scopes == ("openid", "groups")


def test_serve_refuses_production_sign_in_without_the_public_url(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from cli.main import main

    monkeypatch.setenv("PAVED_ENV", "production")
    monkeypatch.setenv("PAVED_WEBHOOK_ENCRYPTION_KEY", "x" * 43 + "=")
    monkeypatch.setenv("PAVED_OIDC_ISSUER", "https://idp.example")
    monkeypatch.setenv("PAVED_OIDC_CLIENT_ID", "portal")
    assert main(["serve"]) == 2
    assert "PAVED_PUBLIC_URL is required in production" in capsys.readouterr().err
