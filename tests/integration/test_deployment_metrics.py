"""Deployment metrics over a small handmade history whose answers are worked out by hand below
(not by SQL): counts, rate per day, change failure rate, time to restore and lead time, with
the service and team filters, and the refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from domain.deployments.ports import DeploymentMetrics
from domain.errors import CatalogError, ErrorCode
from providers.postgres.deployments import PostgresDeploymentStore
from providers.postgres.deployments import metrics as metrics_module
from providers.postgres.writes.common import Connection

T0 = datetime(2025, 1, 1, tzinfo=UTC)
UNTIL = T0 + timedelta(days=10)  # a 240-hour window
HOUR = 3600.0


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


async def insert(
    connection: Connection,
    service: str,
    environment: str,
    number: int,
    state: str,
    created: float,
    finished: float | None,
    *,
    kind: str = "DEPLOY",
    committed: float | None = None,
    rollback_of: int | None = None,
) -> int:
    deployment_id: int = await connection.fetchval(
        "INSERT INTO deployments (service_id, environment_id, number, version, kind, state,"
        " provider, requested_by_kind, requested_by_name, created_at, started_at, finished_at,"
        " committed_at, rollback_of_id)"
        " VALUES ((SELECT id FROM services WHERE slug = $1),"
        " (SELECT id FROM environments WHERE slug = $2), $3, $4, $5, $6, 'simulated', 'user',"
        " 'Ada', $7, $7, $8, $9, $10) RETURNING id",
        service, environment, number, f"1.{number}.0", kind, state, at(created),
        None if finished is None else at(finished), None if committed is None else at(committed),
        rollback_of,
    )  # fmt: skip
    return deployment_id


@pytest.fixture
async def store(pool: asyncpg.Pool) -> PostgresDeploymentStore:
    """Teams `eng` > `pay` and `ops`; `api` (primary owner `pay`), `web` (`eng`), `tool` (`ops`,
    with `eng` as a contributor, which the team filter ignores). Times are hours after T0."""
    async with pool.acquire() as connection:
        await connection.execute(
            "INSERT INTO teams (slug, name) VALUES ('eng', 'Eng'), ('ops', 'Ops');"
            "INSERT INTO teams (slug, name, parent_id)"
            " SELECT 'pay', 'Pay', id FROM teams WHERE slug = 'eng';"
            "INSERT INTO services (slug, name) VALUES ('api', 'API'), ('web', 'Web'),"
            " ('tool', 'Tool');"
            "INSERT INTO service_owners (service_id, team_id, role)"
            " SELECT s.id, t.id, o.role FROM (VALUES ('api', 'pay', 'PRIMARY'),"
            " ('web', 'eng', 'PRIMARY'), ('tool', 'ops', 'PRIMARY'), ('tool', 'eng', 'CONTRIBUTOR'))"
            " AS o(service, team, role) JOIN services s ON s.slug = o.service"
            " JOIN teams t ON t.slug = o.team;"
            "INSERT INTO environments (slug, name, tier) VALUES"
            " ('staging', 'Staging', 'STAGING'), ('production', 'Production', 'PRODUCTION')"
        )
        # api x production                        state          created finished
        await insert(connection, "api", "production", 1, "INACTIVE", -48, -47)  # before
        await insert(connection, "api", "production", 2, "INACTIVE", 0, 1)  # lead 1 h
        await insert(connection, "api", "production", 3, "FAILED", 24, 24.5)
        await insert(connection, "api", "production", 4, "FAILED", 25, 25.25)
        bad = await insert(connection, "api", "production", 5, "ROLLED_BACK", 25.5, 27)  # 1.5 h
        await insert(
            connection, "api", "production", 6, "INACTIVE", 28, 28.5,  # lead 0.5 h
            kind="ROLLBACK", rollback_of=bad,
        )  # fmt: skip
        await insert(
            connection, "api", "production", 7, "SUCCEEDED", 47, 48,  # lead 8 h from commit
            kind="RECORDED", committed=40,
        )  # fmt: skip
        await insert(connection, "api", "production", 8, "CANCELED", 50, 50.1)
        await insert(connection, "api", "production", 9, "FAILED", 260, 261)  # after
        await insert(connection, "api", "staging", 1, "FAILED", 30, 31)  # another environment
        # web x production
        await insert(connection, "web", "production", 1, "INACTIVE", 10, 13)  # lead 3 h
        await insert(connection, "web", "production", 2, "FAILED", 100, 101)
        await insert(connection, "web", "production", 3, "SUCCEEDED", 288, 289)  # after
        # tool x production
        await insert(connection, "tool", "production", 1, "SUCCEEDED", 5, 5.5)  # lead 0.5 h
        await insert(connection, "tool", "production", 2, "IN_PROGRESS", 200, None)
    return PostgresDeploymentStore(pool)


# Worked out by hand, production over [T0, T0 + 240 h):
# - in the window: api #2-#8 (7), web #1-#2 (2), tool #1-#2 (2) = 11; 11 / 10 days = 1.1 a day
# - succeeded: api #2 #5 #6 #7, web #1, tool #1 = 6; failed: api #3 #4, web #2 = 3;
#   rolled back: api #5 = 1; change failure rate (3 + 1) / (6 + 3) = 4/9
# - incidents: api #3 (24.5 h) and #4 (25.25 h), both restored by #5 at 27 h: one incident of
#   2.5 h; api #5 (went live at 27 h, rolled back) restored by #6 at 28.5 h: 1.5 h; web #2
#   (101 h) restored by web #3 at 289 h, after the window: 188 h. Mean (2.5 + 1.5 + 188) / 3
#   = 64 h.
# - lead times of the 6 that succeeded: 1, 1.5, 0.5, 8 (api #7 from its commit at 40 h, not
#   from its creation at 47 h), 3, 0.5 h; sorted 0.5 0.5 1 1.5 3 8, median (1 + 1.5) / 2
#   = 1.25 h.
ALL = DeploymentMetrics(
    deployments=11,
    succeeded=6,
    failed=3,
    rolled_back=1,
    deployments_per_day=1.1,
    change_failure_rate=4 / 9,
    mean_time_to_restore_seconds=64 * HOUR,
    median_lead_time_seconds=1.25 * HOUR,
)
# api alone: 7 deployments; succeeded #2 #5 #6 #7; failed #3 #4; rate (2 + 1) / (4 + 2);
# incidents 2.5 h and 1.5 h; leads 0.5 1 1.5 8, median 1.25 h.
API = DeploymentMetrics(
    deployments=7,
    succeeded=4,
    failed=2,
    rolled_back=1,
    deployments_per_day=0.7,
    change_failure_rate=0.5,
    mean_time_to_restore_seconds=2 * HOUR,
    median_lead_time_seconds=1.25 * HOUR,
)
# Team eng (api through its sub-team pay, and web; not tool, which eng only contributes to):
# 9 deployments; succeeded 5; failed 3; rate (3 + 1) / (5 + 3); incidents 2.5, 1.5, 188 h;
# leads 0.5 1 1.5 3 8, median 1.5 h.
ENG = DeploymentMetrics(
    deployments=9,
    succeeded=5,
    failed=3,
    rolled_back=1,
    deployments_per_day=0.9,
    change_failure_rate=0.5,
    mean_time_to_restore_seconds=64 * HOUR,
    median_lead_time_seconds=1.5 * HOUR,
)
# Team ops (tool): #1 succeeded, #2 still in progress; nothing failed: a rate of 0, no restore.
OPS = DeploymentMetrics(
    deployments=2,
    succeeded=1,
    failed=0,
    rolled_back=0,
    deployments_per_day=0.2,
    change_failure_rate=0.0,
    mean_time_to_restore_seconds=None,
    median_lead_time_seconds=0.5 * HOUR,
)
NOTHING = DeploymentMetrics(0, 0, 0, 0, 0.0, None, None, None)


def close(found: DeploymentMetrics, expected: DeploymentMetrics) -> None:
    """Equal, floats up to rounding."""
    for name in DeploymentMetrics.__slots__:
        value, wanted = getattr(found, name), getattr(expected, name)
        if isinstance(wanted, float):
            assert value == pytest.approx(wanted), name
        else:
            assert value == wanted, name


@pytest.mark.parametrize(
    ("service", "team", "expected"),
    [
        (None, None, ALL),
        ("api", None, API),
        (None, "eng", ENG),
        (None, "pay", API),
        (None, "ops", OPS),
        ("api", "eng", API),
        ("api", "ops", NOTHING),
    ],
)
async def test_metrics_of_production(
    store: PostgresDeploymentStore,
    service: str | None,
    team: str | None,
    expected: DeploymentMetrics,
) -> None:
    close(await store.metrics("production", service, team, T0, UNTIL), expected)


async def test_an_environment_or_window_without_deployments(
    store: PostgresDeploymentStore,
) -> None:
    close(await store.metrics("staging", "web", None, T0, UNTIL), NOTHING)
    close(await store.metrics("production", None, None, at(-24 * 30), at(-24 * 20)), NOTHING)
    # staging: api #1 failed and was never restored.
    staging = await store.metrics("staging", None, None, T0, UNTIL)
    close(staging, DeploymentMetrics(1, 0, 1, 0, 0.1, 1.0, None, None))


async def test_the_window_is_half_open_on_created_at(store: PostgresDeploymentStore) -> None:
    # [0 h, 24 h) holds api #2 only; [24 h, 25 h) api #3 only, failed, restored at 27 h.
    first_day = await store.metrics("production", "api", None, at(0), at(24))
    close(first_day, DeploymentMetrics(1, 1, 0, 0, 1.0, 0.0, None, HOUR))
    next_hour = await store.metrics("production", "api", None, at(24), at(25))
    close(next_hour, DeploymentMetrics(1, 0, 1, 0, 24.0, 1.0, 2.5 * HOUR, None))


async def test_until_defaults_to_now(store: PostgresDeploymentStore) -> None:
    since = at(-72)
    found = await store.metrics("production", None, None, since, None)
    days = (datetime.now(UTC) - since).total_seconds() / 86_400
    # Everything: api #1-#9, web #1-#3, tool #1-#2.
    assert found.deployments == 14
    assert found.deployments_per_day == pytest.approx(14 / days, rel=1e-3)
    assert (found.succeeded, found.failed, found.rolled_back) == (8, 4, 1)


async def test_one_statement(store: PostgresDeploymentStore, pool: asyncpg.Pool) -> None:
    calls: list[str] = []

    class Counting:
        async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
            calls.append(sql)
            return await pool.fetchrow(sql, *args)

    found = await metrics_module.metrics(Counting(), "production", "api", "eng", T0, UNTIL)  # type: ignore[arg-type]
    close(found, API)
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("arguments", "code", "path"),
    [
        (("nope", None, None, T0, UNTIL), ErrorCode.NOT_FOUND, ("environment",)),
        (("production", "nope", None, T0, UNTIL), ErrorCode.NOT_FOUND, ("service",)),
        (("production", None, "nope", T0, UNTIL), ErrorCode.NOT_FOUND, ("team",)),
        (("nope", "nope", "nope", T0, UNTIL), ErrorCode.NOT_FOUND, ("environment",)),
        (("production", None, None, UNTIL, T0), ErrorCode.VALIDATION, ("until",)),
        (("production", None, None, T0, T0), ErrorCode.VALIDATION, ("until",)),
        (
            ("production", None, None, T0.replace(tzinfo=None), UNTIL),
            ErrorCode.VALIDATION,
            ("since",),
        ),
        (
            ("production", None, None, datetime.now(UTC) + timedelta(days=1), None),
            ErrorCode.VALIDATION,
            ("since",),
        ),
    ],
)
async def test_refusals(
    store: PostgresDeploymentStore,
    arguments: tuple[str, str | None, str | None, datetime, datetime | None],
    code: ErrorCode,
    path: tuple[str, ...],
) -> None:
    with pytest.raises(CatalogError) as caught:
        await store.metrics(*arguments)
    assert caught.value.code is code, caught.value.message
    assert caught.value.path == path
