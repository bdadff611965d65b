"""Teams, users and memberships through the GraphQL API over HTTP."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from providers.postgres.writes.teams import _HIERARCHY_LOCK_KEY
from tests.support.graphql import GraphQLClient

TEAM = "team { slug name description version parent { slug } }"


async def make_team(gql: GraphQLClient, slug: str, parent: str | None = None) -> dict[str, Any]:
    payload = await gql.mutate("createTeam", TEAM, slug=slug, name=slug.title(), parent=parent)
    assert payload["errors"] == []
    team: dict[str, Any] = payload["team"]
    return team


async def make_user(gql: GraphQLClient, handle: str) -> None:
    payload = await gql.mutate(
        "createUser",
        "user { handle }",
        handle=handle,
        name=handle.title(),
        email=f"{handle}@x.example",
    )
    assert payload["errors"] == []


async def test_create_team_and_read_it_back(gql: GraphQLClient) -> None:
    await make_team(gql, "engineering")
    created = await make_team(gql, "platform", parent="engineering")
    assert created == {
        "slug": "platform",
        "name": "Platform",
        "description": None,
        "version": 1,
        "parent": {"slug": "engineering"},
    }
    data = await gql(
        '{ team(slug: "engineering") { slug children { slug } parent { slug } } '
        'missing: team(slug: "nope") { slug } }'
    )
    assert data["team"] == {
        "slug": "engineering",
        "children": [{"slug": "platform"}],
        "parent": None,
    }
    assert data["missing"] is None


async def test_invalid_slug_is_a_validation_error_with_path_and_writes_nothing(
    gql: GraphQLClient,
) -> None:
    payload = await gql.mutate("createTeam", TEAM, slug="Not A Slug", name="X")
    assert payload["team"] is None
    assert [(e["code"], e["path"]) for e in payload["errors"]] == [
        ("VALIDATION", ["input", "slug"])
    ]
    assert (await gql("{ teams { totalCount } }"))["teams"]["totalCount"] == 0


async def test_duplicate_slug_is_a_conflict(gql: GraphQLClient) -> None:
    await make_team(gql, "sre")
    payload = await gql.mutate("createTeam", TEAM, slug="sre", name="Again")
    assert [(e["code"], e["path"]) for e in payload["errors"]] == [("CONFLICT", ["input", "slug"])]


async def test_unknown_parent_is_not_found_with_path(gql: GraphQLClient) -> None:
    payload = await gql.mutate("createTeam", TEAM, slug="orphan", name="Orphan", parent="ghost")
    assert [(e["code"], e["path"]) for e in payload["errors"]] == [
        ("NOT_FOUND", ["input", "parent"])
    ]
    assert (await gql("{ teams { totalCount } }"))["teams"]["totalCount"] == 0


async def test_update_team_with_versions(gql: GraphQLClient) -> None:
    await make_team(gql, "data")
    updated = await gql.mutate(
        "updateTeam", TEAM, team="data", expectedVersion=1, name="Data & ML", description="d"
    )
    assert updated["errors"] == []
    assert updated["team"]["version"] == 2
    assert updated["team"]["name"] == "Data & ML"
    stale = await gql.mutate("updateTeam", TEAM, team="data", expectedVersion=1, name="Stale")
    assert stale["team"] is None
    assert stale["errors"][0]["code"] == "CONFLICT"
    assert "version 2" in stale["errors"][0]["message"]
    assert stale["errors"][0]["path"] == ["input", "expectedVersion"]
    current = await gql('{ team(slug: "data") { name version description } }')
    assert current["team"] == {"name": "Data & ML", "version": 2, "description": "d"}
    cleared = await gql.mutate("updateTeam", TEAM, team="data", description=None)
    assert cleared["team"]["description"] is None
    assert cleared["team"]["version"] == 3


async def test_concurrent_updates_with_the_same_version_exactly_one_wins(
    gql: GraphQLClient,
) -> None:
    await make_team(gql, "racers")
    results = await asyncio.gather(
        *(
            gql.mutate("updateTeam", TEAM, team="racers", expectedVersion=1, name=f"Racer {i}")
            for i in range(5)
        )
    )
    winners = [r for r in results if not r["errors"]]
    assert len(winners) == 1
    assert all(r["errors"][0]["code"] == "CONFLICT" for r in results if r["errors"])
    final = await gql('{ team(slug: "racers") { name version } }')
    assert final["team"] == {"name": winners[0]["team"]["name"], "version": 2}


async def test_team_parents_never_form_a_cycle(gql: GraphQLClient) -> None:
    await make_team(gql, "a")
    await make_team(gql, "b", parent="a")
    await make_team(gql, "c", parent="b")
    for new_parent in ("c", "a"):
        payload = await gql.mutate("updateTeam", TEAM, team="a", parent=new_parent)
        assert [(e["code"], e["path"]) for e in payload["errors"]] == [
            ("VALIDATION", ["input", "parent"])
        ]
    moved = await gql.mutate("updateTeam", TEAM, team="c", parent=None)
    assert moved["team"]["parent"] is None


async def test_two_teams_moved_under_each_other_at_once_form_no_cycle(
    gql: GraphQLClient,
) -> None:
    await make_team(gql, "left")
    await make_team(gql, "right")
    moves = await asyncio.gather(
        gql.mutate("updateTeam", TEAM, team="left", parent="right"),
        gql.mutate("updateTeam", TEAM, team="right", parent="left"),
    )
    assert sorted(bool(move["errors"]) for move in moves) == [False, True]


async def test_a_change_that_moves_no_team_waits_for_no_hierarchy_change(
    gql: GraphQLClient, pool: asyncpg.Pool
) -> None:
    await make_team(gql, "steady")
    async with pool.acquire() as connection, connection.transaction():
        # A move of some team in progress, holding the hierarchy.
        await connection.execute("SELECT pg_advisory_xact_lock($1)", _HIERARCHY_LOCK_KEY)
        # A guard against hanging, no measure: it returns at once unless it waits.
        renamed = await asyncio.wait_for(
            gql.mutate("updateTeam", TEAM, team="steady", name="Still"), 30
        )
        created = await asyncio.wait_for(make_team(gql, "fresh"), 30)
    assert renamed["errors"] == []
    assert created["slug"] == "fresh"


async def test_slug_is_immutable(gql: GraphQLClient) -> None:
    body = await gql.raw(
        'mutation { updateTeam(input: {team: "x", slug: "y"}) { errors { code } } }'
    )
    assert "errors" in body
    assert "slug" in body["errors"][0]["message"]


async def test_delete_team_refuses_while_it_owns_services(gql: GraphQLClient) -> None:
    await make_team(gql, "owners")
    for slug in ("svc-b", "svc-a"):
        created = await gql.mutate(
            "createService", "service { slug }", slug=slug, name=slug, owner="owners"
        )
        assert created["errors"] == []
    refused = await gql.mutate("deleteTeam", "deletedId", team="owners")
    assert refused["deletedId"] is None
    assert refused["errors"][0]["code"] == "PRECONDITION_FAILED"
    assert "'svc-a', 'svc-b'" in refused["errors"][0]["message"]
    await make_team(gql, "parent")
    await make_team(gql, "child", parent="parent")
    refused = await gql.mutate("deleteTeam", "deletedId", team="parent")
    assert refused["errors"][0]["code"] == "PRECONDITION_FAILED"
    assert "child" in refused["errors"][0]["message"]


async def test_delete_team(gql: GraphQLClient) -> None:
    team = await make_team(gql, "gone")
    ids = await gql('{ team(slug: "gone") { id } }')
    stale = await gql.mutate("deleteTeam", "deletedId", team="gone", expectedVersion=7)
    assert stale["errors"][0]["code"] == "CONFLICT"
    deleted = await gql.mutate(
        "deleteTeam", "deletedId", team="gone", expectedVersion=team["version"]
    )
    assert deleted == {"deletedId": ids["team"]["id"], "errors": []}
    assert (await gql('{ team(slug: "gone") { slug } }'))["team"] is None
    missing = await gql.mutate("deleteTeam", "deletedId", team="gone")
    assert missing["errors"][0]["code"] == "NOT_FOUND"
    assert missing["errors"][0]["path"] == ["input", "team"]


async def test_users_and_memberships(gql: GraphQLClient) -> None:
    await make_team(gql, "sre")
    await make_team(gql, "dx")
    await make_user(gql, "ada")
    await make_user(gql, "bob")
    for team, user in (("sre", "ada"), ("dx", "ada"), ("sre", "bob"), ("sre", "bob")):
        added = await gql.mutate(
            "addTeamMember", "team { slug } user { handle }", team=team, user=user
        )
        assert added["errors"] == []
        assert added["user"]["handle"] == user
    data = await gql(
        '{ team(slug: "sre") { version members { totalCount nodes { handle } } } '
        'user(handle: "ada") { teams { slug } } }'
    )
    assert data["team"]["version"] == 1, "membership is not a change to the team itself"
    assert data["team"]["members"] == {
        "totalCount": 2,
        "nodes": [{"handle": "ada"}, {"handle": "bob"}],
    }
    assert data["user"]["teams"] == [{"slug": "dx"}, {"slug": "sre"}]
    removed = await gql.mutate("removeTeamMember", "team { slug }", team="sre", user="bob")
    assert removed["errors"] == []
    again = await gql.mutate("removeTeamMember", "team { slug }", team="sre", user="bob")
    assert again["errors"][0]["code"] == "NOT_FOUND"
    unknown = await gql.mutate("addTeamMember", "team { slug }", team="sre", user="ghost")
    assert [(e["code"], e["path"]) for e in unknown["errors"]] == [("NOT_FOUND", ["input", "user"])]


async def test_user_rules(gql: GraphQLClient) -> None:
    await make_user(gql, "ada")
    fields = "user { handle name email version }"
    duplicate = await gql.mutate(
        "createUser", fields, handle="ada", name="A", email="other@x.example"
    )
    assert duplicate["errors"][0]["code"] == "CONFLICT"
    same_email = await gql.mutate(
        "createUser", fields, handle="eve", name="E", email="ADA@x.example"
    )
    assert [(e["code"], e["path"]) for e in same_email["errors"]] == [
        ("CONFLICT", ["input", "email"])
    ]
    bad = await gql.mutate("createUser", fields, handle="Eve!", name="", email="nope")
    assert {tuple(e["path"]) for e in bad["errors"]} == {
        ("input", "handle"),
        ("input", "name"),
        ("input", "email"),
    }
    updated = await gql.mutate("updateUser", fields, user="ada", expectedVersion=1, name="Ada L.")
    assert updated["user"] == {
        "handle": "ada",
        "name": "Ada L.",
        "email": "ada@x.example",
        "version": 2,
    }
    conflict = await gql.mutate("updateUser", fields, user="ada", expectedVersion=1, name="Nope")
    assert conflict["errors"][0]["code"] == "CONFLICT"
    users = await gql('{ users(search: "ADA") { totalCount nodes { handle } } }')
    assert users["users"] == {"totalCount": 1, "nodes": [{"handle": "ada"}]}
