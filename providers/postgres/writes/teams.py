"""Team and user use cases."""

from __future__ import annotations

import asyncpg

from domain.catalog.changes import KEEP, TeamDraft, TeamPatch, UserDraft, UserPatch
from domain.catalog.records import TeamRecord, UserRecord
from domain.catalog.rules import check_no_team_cycle, describe_names
from domain.errors import Conflict, NotFound, PreconditionFailed
from domain.events import describe
from domain.events.changes import described_values
from domain.events.model import EventDraft, EventType, SubjectKind
from providers.postgres import rows
from providers.postgres.audited import AuditedTransactions
from providers.postgres.outbox import NEW_ROW, emit
from providers.postgres.writes.common import (
    TEAMS,
    USERS,
    Connection,
    find_id,
    insert_row,
    insert_values,
    lock_row,
    patch_row,
    stored_values,
    taken,
    update_row,
)

# Serialises changes to the team hierarchy (a team moved or deleted) so two concurrent moves
# cannot form a cycle; other changes of teams do not take it.
_HIERARCHY_LOCK_KEY = 0x7465616D73
_PARENT = frozenset({"parent"})
"""Named by its slug in drafts and patches, stored as `parent_id`."""


async def create_team(connection: Connection, draft: TeamDraft) -> TeamRecord:
    parent_id = None
    if draft.parent is not None:
        parent_id = await find_id(connection, TEAMS, draft.parent, ["input", "parent"])
    values = {**stored_values(draft, leaving_out=_PARENT), "parent_id": parent_id}
    team = rows.team(await insert_row(connection, TEAMS, values))
    emit(describe.created(EventType.TEAM_CREATED, SubjectKind.TEAM, team))
    return team


async def create_team_alone(transactions: AuditedTransactions, draft: TeamDraft) -> TeamRecord:
    """A team without a parent, its audit record and its event in one statement."""
    values = {**stored_values(draft, leaving_out=_PARENT), "parent_id": None}
    data = described_values(TeamRecord, values)
    event = describe.about(EventType.TEAM_CREATED, SubjectKind.TEAM, NEW_ROW, data)
    changes = f"changed AS ({insert_values(TEAMS, values)} RETURNING *)"
    try:
        row = await transactions.insert_alone(changes, [*values.values()], [event])
    except asyncpg.UniqueViolationError as error:
        raise taken(TEAMS, values, error) from None
    assert row is not None
    return rows.team(row)


async def _ancestry(connection: Connection, team_id: int) -> list[int]:
    found = await connection.fetch(
        "WITH RECURSIVE up(id, parent_id) AS ("
        " SELECT id, parent_id FROM teams WHERE id = $1"
        " UNION SELECT t.id, t.parent_id FROM teams t JOIN up ON t.id = up.parent_id"
        ") SELECT id FROM up",
        team_id,
    )
    return [row["id"] for row in found]


async def update_team(
    connection: Connection, slug: str, expected_version: int | None, patch: TeamPatch
) -> TeamRecord:
    if patch.parent is not KEEP:
        await connection.execute("SELECT pg_advisory_xact_lock($1)", _HIERARCHY_LOCK_KEY)
    row = await lock_row(connection, TEAMS, slug, expected_version)
    values = stored_values(patch, leaving_out=_PARENT)
    if patch.parent is not KEEP:
        parent_id = None
        if patch.parent is not None:
            parent_id = await find_id(connection, TEAMS, patch.parent, ["input", "parent"])
            check_no_team_cycle(row["id"], slug, await _ancestry(connection, parent_id))
        values["parent_id"] = parent_id
    team = rows.team(await update_row(connection, TEAMS, row["id"], values))
    emit(describe.updated(EventType.TEAM_UPDATED, SubjectKind.TEAM, rows.team(row), team))
    return team


# What keeps a team from being deleted: (slugs query, what the team has, what to do).
_DELETE_BLOCKERS = (
    (
        "SELECT s.slug FROM service_owners so JOIN services s ON s.id = so.service_id "
        "WHERE so.team_id = $1 ORDER BY s.slug",
        "owns services",
        "give them other owners first",
    ),
    (
        "SELECT slug FROM teams WHERE parent_id = $1 ORDER BY slug",
        "has sub-teams",
        "move or delete them first",
    ),
    (
        "SELECT slug FROM api_clients WHERE team_id = $1 ORDER BY slug",
        "has API clients",
        "delete them first",
    ),
)


async def delete_team(
    connection: Connection, slug: str, expected_version: int | None
) -> TeamRecord:
    await connection.execute("SELECT pg_advisory_xact_lock($1)", _HIERARCHY_LOCK_KEY)
    row = await lock_row(connection, TEAMS, slug, expected_version)
    for sql, what, remedy in _DELETE_BLOCKERS:
        found = await connection.fetch(sql, row["id"])
        if found:
            names = describe_names([r["slug"] for r in found])
            raise PreconditionFailed(
                f"team '{slug}' still {what} {names}; {remedy}", ["input", "team"]
            )
    await connection.execute("DELETE FROM teams WHERE id = $1", row["id"])
    team = rows.team(row)
    emit(describe.deleted(EventType.TEAM_DELETED, SubjectKind.TEAM, team))
    return team


def _email_conflict(email: str) -> Conflict:
    return Conflict(f"another user already has the email '{email}'", ["input", "email"])


async def create_user(connection: Connection, draft: UserDraft) -> UserRecord:
    email_taken = {"users_email_key": _email_conflict(draft.email)}
    return rows.user(
        await insert_row(connection, USERS, stored_values(draft), conflicts=email_taken)
    )


async def update_user(
    connection: Connection, handle: str, expected_version: int | None, patch: UserPatch
) -> UserRecord:
    try:
        updated = await patch_row(connection, USERS, handle, expected_version, stored_values(patch))
    except asyncpg.UniqueViolationError:
        raise _email_conflict(str(patch.email)) from None
    return rows.user(updated)


async def _team_and_user(
    connection: Connection, team: str, user: str
) -> tuple[asyncpg.Record, asyncpg.Record]:
    team_row = await connection.fetchrow("SELECT * FROM teams WHERE slug = $1", team)
    if team_row is None:
        raise NotFound(f"no team '{team}'", ["input", "team"])
    user_row = await connection.fetchrow("SELECT * FROM users WHERE handle = $1", user)
    if user_row is None:
        raise NotFound(f"no user '{user}'", ["input", "user"])
    return team_row, user_row


async def add_team_member(
    connection: Connection, team: str, user: str
) -> tuple[TeamRecord, UserRecord]:
    team_row, user_row = await _team_and_user(connection, team, user)
    added = await connection.fetchval(
        "INSERT INTO team_members (team_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING "
        "RETURNING 1",
        team_row["id"], user_row["id"],
    )  # fmt: skip
    if added is not None:
        emit(_membership(team_row, user_row, "ADDED"))
    return rows.team(team_row), rows.user(user_row)


async def remove_team_member(
    connection: Connection, team: str, user: str
) -> tuple[TeamRecord, UserRecord]:
    team_row, user_row = await _team_and_user(connection, team, user)
    removed = await connection.fetchval(
        "DELETE FROM team_members WHERE team_id = $1 AND user_id = $2 RETURNING 1",
        team_row["id"], user_row["id"],
    )  # fmt: skip
    if removed is None:
        raise NotFound(f"user '{user}' is not a member of team '{team}'", ["input", "user"])
    emit(_membership(team_row, user_row, "REMOVED"))
    return rows.team(team_row), rows.user(user_row)


def _membership(team: asyncpg.Record, user: asyncpg.Record, change: str) -> EventDraft:
    data = {"team": team["slug"], "user": user["handle"], "change": change}
    return describe.about(EventType.MEMBERSHIP_CHANGED, SubjectKind.TEAM, team["id"], data)
