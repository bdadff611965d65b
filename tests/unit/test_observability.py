"""Metrics labels stay bounded, outcomes are classified, JSON log lines are JSON, tracing is
off unless asked for, and who may read /metrics in production."""

from __future__ import annotations

import json
import logging
import random
import re
import string
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from starlette.requests import Request

from api.observability.endpoint import may_read
from api.observability.logs import TEXT_FORMAT, JsonFormatter, TextFormatter, log_request
from api.observability.metrics import OTHER, Metrics, OperationNames, operation_names_of, outcome_of
from api.observability.tracing import Tracing, wanted
from api.settings import Settings
from resolvers.request_stats import RequestStats


def _label_values(metrics: Metrics, family: str, label: str) -> set[str]:
    found: set[str] = set()
    for metric in text_string_to_metric_families(metrics.render()[0].decode()):
        if metric.name == family:
            found.update(
                sample.labels[label] for sample in metric.samples if label in sample.labels
            )
    return found


def test_ten_thousand_random_operation_names_make_at_most_the_kept_ones_plus_other() -> None:
    metrics = Metrics(operation_names=OperationNames(["ListServices"], keep=200))
    rng = random.Random(15)
    for _ in range(10_000):
        name = rng.choice(string.ascii_letters) + "".join(
            rng.choices(string.ascii_letters + string.digits + "_", k=rng.randint(0, 40))
        )
        metrics.observe_request(RequestStats(operation_name=name, operation_type="query"), 0.01)
    metrics.observe_request(RequestStats(operation_name="ListServices", operation_type="query"), 0)
    metrics.observe_request(RequestStats(operation_name=None, operation_type="query"), 0)
    names = _label_values(metrics, "paved_graphql_requests", "operation")
    assert len(names) == 202  # 200 first seen, the trusted one, the one for all others
    assert {"ListServices", OTHER} <= names
    assert _label_values(metrics, "paved_graphql_request_duration_seconds", "operation") == names
    assert len(metrics.render()[0]) < 2_000_000


def test_trusted_names_are_kept_even_with_no_room_and_odd_names_never() -> None:
    trusted = operation_names_of(["query Mine { viewer { name } }", "{ anonymous }", "not graphql"])
    names = OperationNames(trusted, keep=0)
    assert names.label("Mine") == "Mine"
    assert names.label("Other") == OTHER
    assert names.label(None) == OTHER
    roomy = OperationNames(keep=10)
    assert roomy.label("x" * 65) == OTHER
    assert roomy.label("bad name") == OTHER
    assert roomy.label('a"b') == OTHER


def test_outcomes() -> None:
    assert outcome_of(RequestStats(operation_type="query")) == ("ok", "")
    assert outcome_of(RequestStats(refusals=["CONFLICT"])) == ("user_error", "CONFLICT")
    assert outcome_of(RequestStats(error_codes=["NOT_FOUND"])) == ("user_error", "NOT_FOUND")
    assert outcome_of(RequestStats(error_codes=["NOT_FOUND", "INTERNAL"])) == (
        "internal",
        "INTERNAL",
    )
    assert outcome_of(RequestStats(error_codes=["UNAVAILABLE"])) == ("unavailable", "UNAVAILABLE")
    assert outcome_of(RequestStats(failure="request_error", code="VALIDATION")) == (
        "request_error",
        "VALIDATION",
    )
    assert outcome_of(RequestStats(failure="request_error", code="UNAVAILABLE"))[0] == (
        "unavailable"
    )


def test_metrics_of_two_apps_count_apart() -> None:
    first, second = Metrics(), Metrics()
    first.observe_request(RequestStats(operation_name="A", operation_type="query"), 0.1)
    assert "A" in _label_values(first, "paved_graphql_requests", "operation")
    assert _label_values(second, "paved_graphql_requests", "operation") == set()


def test_json_lines_carry_the_request_fields() -> None:
    record = logging.LogRecord(
        "paved.requests", logging.INFO, __file__, 1, "GET / %s", (200,), None
    )
    record.request_id = "abc"
    record.sql = 1
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "GET / 200"
    assert entry["level"] == "info"
    assert entry["request_id"] == "abc"
    assert entry["sql"] == 1
    assert entry["time"].endswith("+00:00")


def test_tracing_is_off_unless_an_endpoint_is_named() -> None:
    assert not wanted({})
    assert wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert wanted({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"})
    assert not wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"})
    assert not wanted(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}
    )
    assert Tracing.build("1", environ={}) is None


def _request(client: str, headers: dict[str, str] | None = None) -> Request:
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/metrics",
            "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
            "client": (client, 40000),
        }
    )


def test_who_may_read_metrics_in_production() -> None:
    production = Settings(env="production", metrics_token=SecretStr("s3cret-metrics-token"))
    assert may_read(_request("127.0.0.1"), production)
    assert may_read(_request("::1"), production)
    assert not may_read(_request("203.0.113.9"), production)
    bearer = {"Authorization": "Bearer s3cret-metrics-token"}
    assert may_read(_request("203.0.113.9", bearer), production)
    assert not may_read(
        _request("203.0.113.9", {"Authorization": "Bearer s3cret-metrics-tokeN"}), production
    )
    assert not may_read(_request("203.0.113.9", {"Authorization": "Bearer "}), production)
    assert not may_read(_request("203.0.113.9", {"Authorization": "Basic czNjcmV0"}), production)
    # A wrong token is refused even from loopback; no forwarded header makes a client local,
    # and one that came through a local proxy is not local.
    assert not may_read(_request("127.0.0.1", {"Authorization": "Bearer wrong"}), production)
    for forwarded in (
        {"X-Forwarded-For": "127.0.0.1"},
        {"Forwarded": "for=127.0.0.1"},
        {"X-Real-IP": "127.0.0.1"},
    ):
        assert not may_read(_request("203.0.113.9", forwarded), production)
        assert not may_read(_request("127.0.0.1", forwarded), production)
    without_token = Settings(env="production")
    assert not may_read(_request("203.0.113.9", {"Authorization": "Bearer "}), without_token)
    assert not may_read(_request("203.0.113.9", {"Authorization": "Bearer x"}), without_token)
    assert may_read(_request("203.0.113.9"), Settings())  # development: loopback-bound anyway


def test_the_dashboard_and_the_readmes_alerts_name_only_metrics_that_exist() -> None:
    root = Path(__file__).resolve().parents[2]
    dashboard = json.loads((root / "docs/observability/grafana-dashboard.json").read_text())
    expressions = " ".join(
        target["expr"] for panel in dashboard["panels"] for target in panel["targets"]
    )
    readme = (root / "README.md").read_text()
    alerts = readme.split("Example alerts:", 1)[1].split("### Traces", 1)[0]
    exported = {
        sample.name
        for family in text_string_to_metric_families(_every_family().render()[0].decode())
        for sample in family.samples
    }
    named = set(re.findall(r"paved_[a-z_]+", expressions + alerts))
    assert named
    assert named <= exported, named - exported


def _every_family() -> Metrics:
    """Metrics with a sample in every family (the pool's and the backlog's included)."""
    metrics = Metrics()
    metrics.observe_request(
        RequestStats(operation_name="A", operation_type="query", read_path="fast"), 0.1
    )
    metrics.observe_request(RequestStats(failure="request_error", rate_limited="points"), 0)
    metrics.provider_call("webhook", "deploy.start", "ok", 0.2)
    metrics.provider_circuit("webhook@deploy.example.com", "webhook", "open")
    metrics.subscriptions.asked("S", "websocket", None)
    pool = SimpleNamespace(
        get_size=lambda: 2, get_idle_size=lambda: 1, get_max_size=lambda: 10, _queue=None
    )

    async def backlog() -> dict[str, int]:
        return {"rollouts": 0}

    metrics.watch_pool(cast(Any, pool), backlog)
    metrics.backlog.labels("rollouts").set(0)
    return metrics


def test_the_fast_formatters_write_what_the_standard_ones_would() -> None:
    for created in (1_700_000_000.0, 1_700_000_000.999, 1_700_000_001.5, 1_700_000_001.0):
        record = logging.LogRecord("paved.requests", logging.INFO, __file__, 1, "m", (), None)
        record.created = created
        record.msecs = (created - int(created)) * 1000
        assert TextFormatter().format(record) == logging.Formatter(TEXT_FORMAT).format(record)
        entry = json.loads(JsonFormatter().format(record))
        expected = datetime.fromtimestamp(int(created), UTC).replace(
            microsecond=int(record.msecs) * 1000
        )
        assert entry["time"] == expected.isoformat(timespec="milliseconds")


def test_a_request_record_is_what_the_logger_would_make(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fields = {
        "request_id": "abc",
        "method": "POST",
        "path": "/graphql",
        "status": 200,
        "duration_ms": 1.5,
        "sql": 1,
    }
    with caplog.at_level(logging.INFO, logger="paved.requests"):
        log_request(fields)
    [made] = caplog.records
    standard = logging.getLogger("paved.requests").makeRecord(
        "paved.requests", logging.INFO, __file__, 0, made.getMessage(), (), None, extra=fields
    )
    assert made.getMessage() == "POST /graphql 200 1.5 ms 1 sql request abc"
    assert set(vars(standard)) <= set(vars(made))
    for name in ("name", "levelname", "levelno", "process", "thread", "threadName", "sql"):
        assert getattr(made, name) == getattr(standard, name)
    assert abs(made.created - standard.created) < 5
