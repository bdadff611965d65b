"""The demo organisation: valid data, loaded into an empty catalog once and only once."""

from __future__ import annotations

import asyncio
import re

import asyncpg

from providers.postgres.demo import (
    CONTRIBUTORS,
    DEPENDENCIES,
    ENVIRONMENTS,
    MEMBERSHIPS,
    SERVICES,
    TEAMS,
    USERS,
    load_demo_if_empty,
)
from providers.postgres.tables import CATALOG_TABLES

SLUG = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
TABLES = CATALOG_TABLES


async def counts(pool: asyncpg.Pool) -> dict[str, int]:
    async with pool.acquire() as connection:
        return {
            table: int(await connection.fetchval(f"SELECT count(*) FROM {table}"))
            for table in TABLES
        }


async def catalog_state(pool: asyncpg.Pool) -> tuple[dict[str, int], int, object]:
    """Row counts, the sum of all versions and the latest change: any write moves one."""
    async with pool.acquire() as connection:
        versions = await connection.fetchval(
            "SELECT (SELECT coalesce(sum(version), 0) FROM teams)"
            " + (SELECT coalesce(sum(version), 0) FROM users)"
            " + (SELECT coalesce(sum(version), 0) FROM services)"
            " + (SELECT coalesce(sum(version), 0) FROM environments)"
        )
        latest = await connection.fetchval(
            "SELECT greatest("
            " (SELECT max(updated_at) FROM teams), (SELECT max(updated_at) FROM users),"
            " (SELECT max(updated_at) FROM services), (SELECT max(updated_at) FROM environments))"
        )
    return await counts(pool), int(versions), latest


def expected_counts() -> dict[str, int]:
    return {
        "teams": len(TEAMS),
        "users": len(USERS),
        "team_members": sum(len(teams) for teams in MEMBERSHIPS.values()),
        "services": len(SERVICES),
        "service_owners": len(SERVICES) + sum(len(teams) for teams in CONTRIBUTORS.values()),
        "service_dependencies": sum(len(targets) for targets in DEPENDENCIES.values()),
        "environments": len(ENVIRONMENTS),
        "api_clients": 0,
        "api_tokens": 0,
        "deployment_approvals": 0,
        "deployment_events": 0,
        "deployments": 0,
        "environment_approver_teams": 0,
    }


# The data itself, without a database.


def test_slugs_handles_and_sizes_are_valid() -> None:
    slugs = [t.slug for t in TEAMS] + [s.slug for s in SERVICES] + [e.slug for e in ENVIRONMENTS]
    slugs += [u.handle for u in USERS]
    assert all(SLUG.fullmatch(slug) for slug in slugs), [s for s in slugs if not SLUG.fullmatch(s)]
    names = [t.name for t in TEAMS] + [s.name for s in SERVICES] + [u.name for u in USERS]
    assert all(0 < len(name) <= 200 for name in names)
    for service in SERVICES:
        assert service.tier is None or 1 <= service.tier <= 4
        assert len(service.tags) <= 50
        assert len(set(service.tags)) == len(service.tags)
        assert all(0 < len(tag) <= 63 for tag in service.tags)
        assert all(link.url.startswith("https://") for link in service.links)
        assert service.repository_url is None or service.repository_url.startswith("https://")


def test_keys_are_unique() -> None:
    for keys in (
        [t.slug for t in TEAMS],
        [u.handle for u in USERS],
        [u.email.lower() for u in USERS],
        [s.slug for s in SERVICES],
        [e.slug for e in ENVIRONMENTS],
    ):
        assert len(set(keys)) == len(keys)


def test_references_resolve() -> None:
    teams = {t.slug for t in TEAMS}
    services = {s.slug for s in SERVICES}
    seen: set[str] = set()
    for team in TEAMS:  # parents come first, so they exist when a sub-team is created
        assert team.parent is None or team.parent in seen
        seen.add(team.slug)
    assert set(MEMBERSHIPS) == {u.handle for u in USERS}
    for member_of in MEMBERSHIPS.values():
        assert 1 <= len(member_of) <= 2
        assert len(set(member_of)) == len(member_of)
        assert set(member_of) <= teams
    owners = {s.slug: s.owner for s in SERVICES}
    assert set(owners.values()) <= teams
    for slug, contributors in CONTRIBUTORS.items():
        assert slug in services
        assert set(contributors) <= teams
        assert owners[slug] not in contributors
        assert len(set(contributors)) == len(contributors)
    for slug, targets in DEPENDENCIES.items():
        assert slug in services
        assert set(targets) <= services
        assert slug not in targets
        assert len(set(targets)) == len(targets)


def test_dependency_graph_is_acyclic() -> None:
    done: set[str] = set()

    def visit(slug: str, path: tuple[str, ...]) -> None:
        assert slug not in path, f"cycle: {' -> '.join((*path, slug))}"
        if slug in done:
            return
        for target in DEPENDENCIES.get(slug, ()):
            visit(target, (*path, slug))
        done.add(slug)

    for service in SERVICES:
        visit(service.slug, ())


# Loading it.


async def test_loads_into_an_empty_catalog(pool: asyncpg.Pool) -> None:
    assert await load_demo_if_empty(pool) is True

    found = await counts(pool)
    assert found == expected_counts()
    assert found["teams"] >= 8
    assert found["users"] >= 15
    assert found["services"] >= 15
    assert found["service_dependencies"] >= 20

    async with pool.acquire() as connection:
        levels = await connection.fetchval(
            "WITH RECURSIVE tree(id, level) AS ("
            " SELECT id, 1 FROM teams WHERE parent_id IS NULL"
            " UNION ALL SELECT t.id, tree.level + 1 FROM teams t JOIN tree ON t.parent_id = tree.id"
            ") SELECT max(level) FROM tree"
        )
        assert levels >= 3  # roots, their sub-teams and at least one team below those

        primaries = await connection.fetch(
            "SELECT s.slug, count(o.team_id) FILTER (WHERE o.role = 'PRIMARY') AS primaries"
            " FROM services s LEFT JOIN service_owners o ON o.service_id = s.id GROUP BY s.slug"
        )
        assert {row["slug"]: row["primaries"] for row in primaries} == {s.slug: 1 for s in SERVICES}
        primary_owners = await connection.fetch(
            "SELECT s.slug, t.slug AS team FROM service_owners o"
            " JOIN services s ON s.id = o.service_id JOIN teams t ON t.id = o.team_id"
            " WHERE o.role = 'PRIMARY'"
        )
        assert {row["slug"]: row["team"] for row in primary_owners} == {
            s.slug: s.owner for s in SERVICES
        }
        contributors = await connection.fetchval(
            "SELECT count(*) FROM service_owners WHERE role = 'CONTRIBUTOR'"
        )
        assert contributors > 0

        memberships = await connection.fetch(
            "SELECT u.handle, count(m.team_id) AS teams"
            " FROM users u LEFT JOIN team_members m ON m.user_id = u.id GROUP BY u.handle"
        )
        assert all(1 <= row["teams"] <= 2 for row in memberships)

        lifecycles = {
            row["lifecycle"]
            for row in await connection.fetch("SELECT DISTINCT lifecycle FROM services")
        }
        assert lifecycles == {"EXPERIMENTAL", "PRODUCTION", "DEPRECATED"}

        checkout = await connection.fetchrow(
            "SELECT tier, tags, links, repository_url FROM services WHERE slug = 'checkout-api'"
        )
        assert checkout is not None
        assert checkout["tier"] == 1
        assert "pci" in checkout["tags"]
        assert checkout["links"]
        assert checkout["repository_url"].startswith("https://git.acme.example/")

        environments = {
            row["slug"]: row["tier"]
            for row in await connection.fetch("SELECT slug, tier FROM environments")
        }
    assert environments["development"] == "DEVELOPMENT"
    assert environments["staging"] == "STAGING"
    assert environments["production"] == "PRODUCTION"


async def test_second_call_changes_nothing(pool: asyncpg.Pool) -> None:
    assert await load_demo_if_empty(pool) is True
    before = await catalog_state(pool)

    assert await load_demo_if_empty(pool) is False

    assert await catalog_state(pool) == before


async def test_does_not_load_into_a_catalog_with_teams(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as connection:
        await connection.execute("INSERT INTO teams (slug, name) VALUES ('mine', 'Mine')")

    assert await load_demo_if_empty(pool) is False

    assert await counts(pool) == {table: int(table == "teams") for table in TABLES}


async def test_concurrent_calls_load_it_once(pool: asyncpg.Pool) -> None:
    results = await asyncio.gather(*(load_demo_if_empty(pool) for _ in range(3)))

    assert sorted(results) == [False, False, True]
    assert await counts(pool) == expected_counts()
