"""Delivery metrics of one environment over a window (`DeploymentMetrics`, whose docstring
defines each number), in one statement.

The window selects deployments by `created_at` (`since` <= created_at < `until`, `until`
defaulting to the statement's `now()`), through the index on (environment_id, created_at); a
failure's restore is looked up among its service's later deployments (one at a time per
service x environment, so a deployment finishing after the failure was created after it),
through the index on (service_id, created_at).
States are read as they are now: a deployment of the window that succeeded and was replaced
since (INACTIVE, ROLLED_BACK) still counts as succeeded, and a restore that finished after
`until` still ends its incident. The same statement says whether the environment, service and
team exist, so a missing one costs no second round trip.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from domain.catalog.services import ServiceFilter, ServiceOrder
from domain.deployments.ports import DeploymentMetrics
from domain.errors import NotFound, ValidationFailed
from providers.postgres import catalog_listings
from providers.postgres.keyset import Params

_SUCCESSFUL_SQL = "('SUCCEEDED', 'INACTIVE', 'ROLLED_BACK')"

_STATEMENT = """
WITH environment AS (SELECT id FROM environments WHERE slug = {environment}::text),
bounds AS (
    SELECT {since}::timestamptz AS since, coalesce({until}::timestamptz, now()) AS until
),
scoped AS (
    SELECT d.* FROM deployments d, bounds b
    WHERE d.environment_id = (SELECT id FROM environment)
      AND d.created_at >= b.since AND d.created_at < b.until{service_conditions}
),
failures AS (
    SELECT f.service_id, f.finished_at AS failed_at,
           (SELECT min(n.finished_at) FROM deployments n
            WHERE n.service_id = f.service_id AND n.environment_id = f.environment_id
              AND n.created_at > f.created_at AND n.state IN {successful}
              AND n.finished_at > f.finished_at) AS restored_at
    FROM scoped f
    WHERE f.state IN ('FAILED', 'ROLLED_BACK') AND f.finished_at IS NOT NULL
),
incidents AS (
    SELECT extract(epoch FROM restored_at - min(failed_at))::float8 AS seconds
    FROM failures WHERE restored_at IS NOT NULL
    GROUP BY service_id, restored_at
),
totals AS (
    SELECT count(*) AS deployments,
           count(*) FILTER (WHERE state IN {successful}) AS succeeded,
           count(*) FILTER (WHERE state = 'FAILED') AS failed,
           count(*) FILTER (WHERE state = 'ROLLED_BACK') AS rolled_back,
           percentile_cont(0.5) WITHIN GROUP (
               ORDER BY extract(epoch FROM finished_at - coalesce(committed_at, created_at))::float8
           ) FILTER (WHERE state IN {successful} AND finished_at IS NOT NULL)
               AS median_lead_time_seconds
    FROM scoped
)
SELECT EXISTS (SELECT 1 FROM environment) AS environment_found,
       {service_found} AS service_found,
       {team_found} AS team_found,
       w.window_seconds,
       t.*,
       CASE WHEN w.window_seconds > 0
            THEN t.deployments / (w.window_seconds / 86400.0::float8) END AS deployments_per_day,
       CASE WHEN t.succeeded + t.failed > 0
            THEN (t.failed + t.rolled_back)::float8 / (t.succeeded + t.failed)::float8
       END AS change_failure_rate,
       (SELECT avg(seconds) FROM incidents) AS mean_time_to_restore_seconds
FROM totals t, (SELECT extract(epoch FROM until - since)::float8 AS window_seconds FROM bounds) w
"""


def _check_time(value: datetime | None, name: str) -> None:
    if value is not None and value.tzinfo is None:
        raise ValidationFailed(f"`{name}` needs a time zone", [name])


def metrics_select(
    params: Params,
    environment_slug: str,
    service_slug: str | None,
    team_slug: str | None,
    since: datetime,
    until: datetime | None,
) -> str:
    """The statement with one row: the metrics (named as `DeploymentMetrics`' fields, in
    snake case), `window_seconds` and whether the environment, service and team exist."""
    environment = params.add(environment_slug)
    bounds = {"since": params.add(since), "until": params.add(until)}
    service_conditions = ""
    service_found = "true"
    team_found = "true"
    if service_slug is not None:
        slug = params.add(service_slug)
        service_conditions += (
            f"\n      AND d.service_id = (SELECT id FROM services WHERE slug = {slug}::text)"
        )
        service_found = f"EXISTS (SELECT 1 FROM services WHERE slug = {slug}::text)"
    if team_slug is not None:
        # The services listing's own `owner` filter: primary owner is the team or a sub-team.
        team_filter = ServiceFilter(owner=team_slug)
        query = catalog_listings.services(team_filter, ServiceOrder(), params)
        service_conditions += (
            f"\n      AND d.service_id IN (SELECT {query.alias}.id FROM {query.source} "
            f"WHERE {' AND '.join(query.conditions)})"
        )
        exists = catalog_listings.owner_team_exists(team_filter, params)
        assert exists is not None
        team_found = exists
    return _STATEMENT.format(
        environment=environment,
        service_conditions=service_conditions,
        successful=_SUCCESSFUL_SQL,
        service_found=service_found,
        team_found=team_found,
        **bounds,
    )


async def metrics(
    pool: asyncpg.Pool,
    environment_slug: str,
    service_slug: str | None,
    team_slug: str | None,
    since: datetime,
    until: datetime | None,
) -> DeploymentMetrics:
    _check_time(since, "since")
    _check_time(until, "until")
    if until is not None and until <= since:
        raise ValidationFailed("`until` must be after `since`", ["until"])
    params = Params()
    sql = metrics_select(params, environment_slug, service_slug, team_slug, since, until)
    row = await pool.fetchrow(sql, *params.values)
    assert row is not None
    if not row["environment_found"]:
        raise NotFound(f"no environment '{environment_slug}'", ["environment"])
    if not row["service_found"]:
        raise NotFound(f"no service '{service_slug}'", ["service"])
    if not row["team_found"]:
        raise NotFound(f"no team '{team_slug}'", ["team"])
    window_seconds: float = row["window_seconds"]
    if window_seconds <= 0:
        raise ValidationFailed("`since` must be in the past", ["since"])
    return DeploymentMetrics(
        deployments=row["deployments"],
        succeeded=row["succeeded"],
        failed=row["failed"],
        rolled_back=row["rolled_back"],
        deployments_per_day=row["deployments_per_day"],
        change_failure_rate=row["change_failure_rate"],
        mean_time_to_restore_seconds=row["mean_time_to_restore_seconds"],
        median_lead_time_seconds=row["median_lead_time_seconds"],
    )
