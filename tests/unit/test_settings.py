"""Settings: defaults, environment overrides, production mode, and how a bad value stops
`paved` (one line naming the setting, exit code 2, no traceback; the real command in
`tests/e2e/test_cli_settings.py`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from api.settings import Settings, describe_settings_error
from cli.main import main


@pytest.fixture(autouse=True)
def isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key.startswith("PAVED_") or key == "DATABASE_URL":
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def settings_error(**values: object) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        Settings(**values)  # type: ignore[arg-type]
    return caught.value


# --- defaults and overrides -------------------------------------------------------------


def test_defaults() -> None:
    settings = Settings()
    assert settings.host == "127.0.0.1"
    assert settings.port == 8000
    assert settings.data_dir == Path(".paved")
    assert settings.env == "development"
    assert settings.demo is True
    assert settings.database_url is None
    assert settings.log_level == "info"
    assert settings.production is False
    assert settings.graphiql_enabled is True


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAVED_PORT", "9123")
    monkeypatch.setenv("PAVED_HOST", "localhost")
    monkeypatch.setenv("PAVED_DATA_DIR", "/srv/paved")
    monkeypatch.setenv("PAVED_DEMO", "false")
    monkeypatch.setenv("PAVED_LOG_LEVEL", "debug")
    monkeypatch.setenv("DATABASE_URL", "postgresql://paved@db.internal:5432/paved")
    settings = Settings()
    assert settings.port == 9123
    assert settings.host == "localhost"
    assert settings.data_dir == Path("/srv/paved")
    assert settings.demo is False
    assert settings.log_level == "debug"
    assert settings.database_url == "postgresql://paved@db.internal:5432/paved"
    monkeypatch.setenv("PAVED_LOG_LEVEL", "WARNING")
    assert Settings().log_level == "warning"
    assert settings.production is False


def test_paved_database_url_is_accepted_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAVED_DATABASE_URL", "postgresql://paved@db.internal/paved")
    assert Settings().database_url == "postgresql://paved@db.internal/paved"


def test_keyword_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """`paved serve --port` passes keywords; they beat PAVED_PORT."""
    monkeypatch.setenv("PAVED_PORT", "9123")
    assert Settings(port=9999).port == 9999


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(ValidationError):
        settings.port = 1  # type: ignore[misc]


# --- production mode and GraphiQL -------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1"])
def test_loopback_hosts_are_development(host: str) -> None:
    settings = Settings(host=host)
    assert settings.on_loopback
    assert not settings.production
    assert settings.graphiql_enabled


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "api.example.com"])
def test_a_non_loopback_host_means_production(host: str) -> None:
    settings = Settings(host=host)
    assert not settings.on_loopback
    assert settings.production
    assert not settings.graphiql_enabled


def test_paved_env_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAVED_ENV", "production")
    settings = Settings()
    assert settings.env == "production"
    assert settings.on_loopback
    assert settings.production
    assert not settings.graphiql_enabled


@pytest.mark.parametrize(
    "environment",
    [{"PAVED_ENV": "production"}, {"PAVED_HOST": "0.0.0.0"}],
    ids=["env", "host"],
)
def test_graphiql_can_be_turned_on_in_production(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str]
) -> None:
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("PAVED_GRAPHIQL", "true")
    settings = Settings()
    assert settings.production
    assert settings.graphiql_enabled


def test_graphiql_can_be_turned_off_in_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAVED_GRAPHIQL", "false")
    settings = Settings()
    assert not settings.production
    assert not settings.graphiql_enabled


# --- describing a bad value -------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PAVED_PORT", "abc"),
        ("PAVED_PORT", "0"),
        ("PAVED_PORT", "70000"),
        ("PAVED_ENV", "bogus"),
        ("PAVED_DEMO", "maybe"),
        ("PAVED_LOG_LEVEL", "loud"),
        ("PAVED_POOL_MIN_SIZE", "0"),
        ("PAVED_READY_TIMEOUT_SECONDS", "-1"),
        ("PAVED_GRAPHIQL", "perhaps"),
        ("PAVED_PROVIDER_BREAKER_FAILURES", "0"),
        ("PAVED_PROVIDER_BREAKER_FAILURES", "-3"),
        ("PAVED_PROVIDER_BREAKER_FAILURES", "1000000"),
        ("PAVED_PROVIDER_BREAKER_FAILURES", "2.5"),
        ("PAVED_PROVIDER_BREAKER_RESET_SECONDS", "0"),
        ("PAVED_PROVIDER_BREAKER_RESET_SECONDS", "-1"),
        ("PAVED_PROVIDER_BREAKER_RESET_SECONDS", "1e9"),
        ("PAVED_PROVIDER_BREAKER_RESET_SECONDS", "nan"),
        ("PAVED_PROVIDER_BREAKER_RESET_SECONDS", "inf"),
        ("PAVED_READ_BATCH_SIZE", "0"),
        ("PAVED_READ_BATCH_SIZE", "101"),
        ("PAVED_WRITE_BATCH_SIZE", "0"),
        ("PAVED_WRITE_BATCH_SIZE", "101"),
        ("PAVED_WRITE_BATCH_SIZE", "many"),
    ],
)
def test_a_bad_environment_value_is_described_in_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError) as caught:
        Settings()
    description = describe_settings_error(caught.value)
    assert "\n" not in description
    assert description.startswith(f"invalid setting {variable}: ")
    assert len(description) > len(f"invalid setting {variable}: ")


def test_a_bad_keyword_value_is_described_by_its_environment_name() -> None:
    assert describe_settings_error(settings_error(port="abc")).startswith(
        "invalid setting PAVED_PORT: "
    )


def test_a_bad_database_url_is_described_as_database_url() -> None:
    description = describe_settings_error(settings_error(database_url=5))
    assert description.startswith("invalid setting DATABASE_URL: "), description


@pytest.mark.parametrize("variable", ["DATABASE_URL", "PAVED_DATABASE_URL"])
@pytest.mark.parametrize("value", ["not a url", "mysql://paved@db/paved", "127.0.0.1:5432"])
def test_a_database_url_that_is_not_postgresql_is_refused(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError) as caught:
        Settings()
    assert describe_settings_error(caught.value).startswith("invalid setting DATABASE_URL: ")


@pytest.mark.parametrize(
    "value",
    [
        "postgresql://paved:secret@db.internal:5432/paved",
        "postgres://paved@db.internal/paved",
        "postgresql://postgres:@/postgres?host=/tmp/socket-dir",
    ],
)
def test_postgresql_urls_are_accepted(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("DATABASE_URL", value)
    assert Settings().database_url == value


def test_an_empty_database_url_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "")
    assert Settings().database_url is None


def test_cli_turns_a_bad_setting_into_exit_code_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PAVED_PORT", "abc")
    with pytest.raises(SystemExit) as caught:
        main(["serve"])
    assert caught.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("paved: invalid setting PAVED_PORT: ")
    assert captured.err.count("\n") == 1
