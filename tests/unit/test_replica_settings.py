"""What replicas are configured by: rollout leases, the shutdown deadline, event retention
(their defaults, the environment, bounds), the replica id, and the server's shutdown."""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path

import pytest
from pydantic import ValidationError

from api.bootstrap import replica_id
from api.settings import Settings
from cli.main import server_config


@pytest.fixture(autouse=True)
def isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key.startswith("PAVED_") or key == "DATABASE_URL":
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def test_defaults() -> None:
    settings = Settings()
    assert settings.rollout_lease_seconds == 15
    assert settings.shutdown_seconds == 10
    assert settings.event_retention_days == 30


def test_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAVED_ROLLOUT_LEASE_SECONDS", "1.5")
    monkeypatch.setenv("PAVED_SHUTDOWN_SECONDS", "3")
    monkeypatch.setenv("PAVED_EVENT_RETENTION_DAYS", "7")
    settings = Settings()
    assert (settings.rollout_lease_seconds, settings.shutdown_seconds) == (1.5, 3)
    assert settings.event_retention_days == 7


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("rollout_lease_seconds", 0),
        ("rollout_lease_seconds", -1),
        ("rollout_lease_seconds", 10_000),
        ("shutdown_seconds", 0),
        ("shutdown_seconds", 100_000),
        ("event_retention_days", 0),
        ("event_retention_days", -30),
    ],
)
def test_out_of_bounds_values_are_refused(name: str, value: float) -> None:
    with pytest.raises(ValidationError):
        Settings(**{name: value})  # type: ignore[arg-type]


def test_replica_ids_name_host_and_process_and_differ() -> None:
    first, second = replica_id(), replica_id()
    assert re.fullmatch(rf"{re.escape(socket.gethostname())}-{os.getpid()}-[0-9a-f]{{8}}", first)
    assert first != second


def test_the_server_gives_in_flight_requests_the_shutdown_deadline() -> None:
    async def app(scope: object, receive: object, send: object) -> None:
        raise AssertionError

    config = server_config(app, Settings(shutdown_seconds=4))
    assert config.timeout_graceful_shutdown == 4
