"""Catalog rows for tests: teams created through the API, or many rows written straight into
the tables."""

from __future__ import annotations

import asyncpg

from tests.support.graphql import GraphQLClient


async def seed_two_hundred_services(pool: asyncpg.Pool) -> None:
    """200 services named a-000..a-099 and b-000..b-099; every a-service depends on two
    b-services (so dependencies never sit on the page being read), each owned by one of
    ten teams of three members, with a contributor team."""
    await pool.execute(
        "INSERT INTO teams (slug, name) SELECT format('team-%s', i), format('Team %s', i) "
        "FROM generate_series(0, 9) i;"
        "INSERT INTO users (handle, name, email) SELECT format('user-%s', i), format('User %s', i), "
        "format('user-%s@x.example', i) FROM generate_series(0, 29) i;"
        "INSERT INTO team_members (team_id, user_id) SELECT 1 + (u.id - 1) % 10, u.id FROM users u;"
        "INSERT INTO services (slug, name) SELECT format('%s-%s', p, lpad(i::text, 3, '0')), "
        "format('%s-%s', p, lpad(i::text, 3, '0')) FROM unnest(ARRAY['a', 'b']) p, generate_series(0, 99) i;"
        "INSERT INTO service_owners (service_id, team_id, role) SELECT id, 1 + id % 10, 'PRIMARY' FROM services;"
        "INSERT INTO service_owners (service_id, team_id, role) "
        "SELECT id, 1 + (id + 1) % 10, 'CONTRIBUTOR' FROM services;"
        "INSERT INTO service_dependencies (service_id, depends_on_id) "
        "SELECT a.id, b.id FROM services a JOIN services b ON b.slug IN "
        "('b-' || right(a.slug, 3), 'b-' || lpad(((right(a.slug, 3)::int + 1) % 100)::text, 3, '0')) "
        "WHERE a.slug LIKE 'a-%';"
    )


async def create_teams(gql: GraphQLClient, *slugs: str) -> None:
    """Teams named after their slugs, created through the API."""
    for slug in slugs:
        created = await gql.mutate("createTeam", "team { slug }", slug=slug, name=slug)
        assert created["errors"] == [], created
